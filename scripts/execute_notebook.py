"""Execute a notebook with nbclient and save it so that re-running leaves no diff.

    python scripts/execute_notebook.py notebooks/quickstart.ipynb --output build/quickstart.ipynb --print

Saved notebooks carry no widget state and no timings, and widget model IDs
are numbered in order, so the file only changes when an output really does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def coalesce_streams(outputs: list[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    """Consecutive stream outputs of one name as one, as Jupyter saves them: where the kernel split
    printed text between messages depends on timing, not on what was printed."""
    merged: list[nbformat.NotebookNode] = []
    for output in outputs:
        last = merged[-1] if merged else None
        if last is not None and output.output_type == "stream" == last.output_type and output.name == last.name:
            last.text += output.text
        else:
            merged.append(output)
    return merged


def stabilize(nb: nbformat.NotebookNode) -> None:
    nb.metadata.pop("widgets", None)
    number = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if "outputs" in cell:
            cell.outputs = coalesce_streams(cell.outputs)
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view:
                number += 1
                view["model_id"] = f"{number:032x}"


def text_outputs(nb: nbformat.NotebookNode) -> str:
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines.append(f"In [{cell.get('execution_count') or ' '}]: {cell.source.splitlines()[0] if cell.source else ''}")
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                lines.append(output.text.rstrip("\n"))
            elif output.output_type == "error":
                lines.append(f"{output.ename}: {output.evalue}")
            elif "text/plain" in output.get("data", {}) and WIDGET_VIEW not in output.data:
                lines.append(output.data["text/plain"])
        lines.append("")
    return "\n".join(lines)


def execute(path: Path, timeout: int = 300) -> tuple[nbformat.NotebookNode, CellExecutionError | None]:
    """Run every cell in a fresh kernel whose working folder is the notebook's; not yet stabilized."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        return nb, exc
    return nb, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--print", action="store_true", help="print the text outputs")
    parser.add_argument("--timeout", type=int, default=300)
    args = parser.parse_args(argv)

    nb, failed = execute(args.notebook, args.timeout)
    stabilize(nb)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, args.output)
    if args.print:
        print(text_outputs(nb))
    if failed is not None:
        print(f"{args.notebook}: a cell failed:\n{failed}", file=sys.stderr)
        return 1
    print(f"Executed {args.notebook} -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
