"""Class styles written into the elements themselves, for HTML saved in notebooks. Pure.

A notebook opened untrusted (every notebook someone else saved) has its HTML
outputs sanitized: JupyterLab and Notebook 7 drop ``<style>`` but keep ``class``
and ``style`` attributes (with an allowlist of CSS properties), and GitHub
keeps neither a ``<style>`` nor most inline styles. So the saved summary
carries its styles inline, from the same rules the live view uses, and keeps
its classes for the frontends that know them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .transcript import Transcript

_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_STYLE_BLOCK = re.compile(r"<style>.*?</style>", re.DOTALL)
_TAG = re.compile(r"<([a-zA-Z][\w-]*)((?:\s[^<>]*)?)>")
_CLASS = re.compile(r'\sclass="([^"]*)"')
_STYLE_ATTR = re.compile(r'\sstyle="([^"]*)"')


_VAR = re.compile(r"var\(--[\w-]+,\s*([^()]*)\)")
#: Colors left to the theme when a sanitizer drops a themed value: a light fallback would be unreadable in a dark theme.
_THEMED = ("color", "background", "background-color")


def _with_fallbacks(body: str) -> str:
    """Each declaration that uses a theme variable is preceded by a copy with its fallback, which is
    what remains where a sanitizer drops ``var()`` values (and is overridden where it does not)."""
    out = []
    for declaration in filter(None, (d.strip() for d in body.split(";"))):
        prop = declaration.split(":", 1)[0].strip()
        if "var(" in declaration and prop not in _THEMED:
            out.append(_VAR.sub(lambda m: m.group(1).strip(), declaration))
        out.append(declaration)
    return ";".join(out)


@lru_cache(maxsize=8)
def rules(css: str) -> tuple[dict[str, str], dict[str, str]]:
    """Declarations by class (``.x``) and by tag inside the root class (``.lgm pre``); others are skipped."""
    by_class: dict[str, list[str]] = {}
    by_tag: dict[str, list[str]] = {}
    for selectors, body in _RULE.findall(_STYLE_BLOCK.sub(lambda m: m.group(0)[7:-8], css)):
        body = _with_fallbacks(body)
        for selector in selectors.split(","):
            selector = selector.strip()
            if re.fullmatch(r"\.[\w-]+", selector):
                by_class.setdefault(selector[1:], []).append(body)
            elif found := re.fullmatch(r"\.lgm ([a-z]+)", selector):
                by_tag.setdefault(found.group(1), []).append(body)
    return {k: ";".join(v) for k, v in by_class.items()}, {k: ";".join(v) for k, v in by_tag.items()}


def inline_styles(html: str, css: str) -> str:
    """``html`` without ``<style>`` blocks, each element carrying the declarations of its classes
    (before its own ``style``, which wins)."""
    by_class, by_tag = rules(css)

    def tag(match: re.Match[str]) -> str:
        name, attributes = match.group(1), match.group(2)
        classes = _CLASS.search(attributes)
        declarations = [by_tag[name]] if name in by_tag else []
        if classes:
            declarations += [by_class[c] for c in classes.group(1).split() if c in by_class]
        if not declarations:
            return match.group(0)
        style = ";".join(declarations)
        own = _STYLE_ATTR.search(attributes)
        if own:
            attributes = attributes[: own.start()] + f' style="{style};{own.group(1)}"' + attributes[own.end() :]
        else:
            attributes = attributes.rstrip("/") + f' style="{style}"' + ("/" if attributes.endswith("/") else "")
        return f"<{name}{attributes}>"

    return _TAG.sub(tag, _STYLE_BLOCK.sub("", html))


def summary_html(transcript: Transcript) -> str:
    """A run's summary as saved in the notebook: :func:`lg_magics.render.transcript_html`, styles inline."""
    from .render import STYLE, transcript_html

    return inline_styles(transcript_html(transcript), STYLE)
