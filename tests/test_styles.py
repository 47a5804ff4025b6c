"""The saved summary's styles, inline: an untrusted notebook loses <style>, but JupyterLab's and
Notebook 7's sanitizer keeps class and style attributes."""

from __future__ import annotations

from lg_magics.render import STYLE, transcript_html
from lg_magics.styles import inline_styles
from lg_magics.transcript import Transcript


def test_the_saved_summary_carries_its_styles_inline() -> None:
    t = Transcript(assistant="chat", thread_var="chat_thread")
    t.add_input("Hello <b>")
    t.finish("success")
    out = inline_styles(transcript_html(t), STYLE)
    assert "<style>" not in out and "&lt;b&gt;" in out
    assert '<div class="lgm-turn lgm-human" style="margin:4px 0;padding:4px 8px;border-left:3px solid #ddd;' in out
    # A themed border keeps a plain fallback first (a sanitizer drops var()); themed colors have none,
    # so where var() is dropped they follow the theme instead of a light-theme color.
    assert "border-left:3px solid var(--jp-border-color2,#ddd)" in out
    assert 'class="lgm-header" style="color:var(--jp-ui-font-color1,#111);margin-bottom:4px"' in out
    # The badge's own color comes after its class's declarations, so it wins.
    assert "border-radius:8px;color:#fff;font-size:11px;background:#15803d" in out


def test_elements_without_styled_classes_are_left_alone() -> None:
    css = "<style>.a{color:red}.lgm pre{margin:0}.b .c{x:y}</style>"
    assert inline_styles('<p class="z">x</p><br/>', css) == '<p class="z">x</p><br/>'
    assert (
        inline_styles('<pre>x</pre><i class="a b">y</i>', css)
        == '<pre style="margin:0">x</pre><i class="a b" style="color:red">y</i>'
    )
