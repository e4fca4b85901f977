"""Lists for a person at a terminal of any width, with ids that are never cut.

A table is shown when it fits the terminal at its natural width. When it does not (an
80-column terminal, two UUIDs per row), each row becomes a block: its id on the first line,
then one line per column. A table squeezed into the width would cut ids with an ellipsis,
and a cut id is useless to the command that asks for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["print_rows"]


def _natural_width(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    widths = [max(len(line) for cell in (header, *(row[i] for row in rows))
                  for line in cell.splitlines() or [""])
              for i, header in enumerate(headers)]
    return sum(widths) + 3 * len(widths) + 1


def print_rows(
    console: Console, title: str, headers: Sequence[str], rows: Sequence[Sequence[str]],
) -> None:
    """``rows`` under ``headers`` (the first column is the row's id), as a table when it fits,
    else as one block per row."""
    if _natural_width(headers, rows) <= console.width:
        table = Table(*headers, title=title)
        table.columns[0].no_wrap = True
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    console.print(f"[bold]{escape(title)}[/bold]")
    label = max(len(header) for header in headers[1:]) if len(headers) > 1 else 0
    for row in rows:
        console.print()
        lines = [f"{headers[0]} [bold]{escape(row[0])}[/bold]"]
        for header, cell in zip(headers[1:], row[1:], strict=True):
            first, *more = cell.splitlines() or [""]
            lines.append(f"  {header:<{label}}  {escape(first)}")
            lines += [f"  {'':<{label}}  {escape(line)}" for line in more]
        console.print("\n".join(lines), soft_wrap=True, highlight=False)
