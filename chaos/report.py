"""The figures of a chaos run: a rich table on the terminal, the same as JSON on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_report", "write_report"]

FAULT_LABELS = {
    "sigkill": "SIGKILL of a service process (restarted at once)",
    "kafka-restart": "Kafka broker stopped and started again",
    "leader-kill": "SIGKILL of the broker leading sk.fiche.event's partition 0",
    "leader-return": "that broker started again (it rejoins the replicas)",
    "postgres-restart": "PostgreSQL stopped and started again",
    "database-silence": "every open PostgreSQL connection of the service went silent "
                        "(no answer, no error: a failover, a firewall)",
    "second-instance-start": "second instance joined the groups (rebalance)",
    "second-instance-stop": "second instance left the groups (rebalance)",
}


def write_report(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")


def print_report(console: Console, result: dict[str, Any]) -> None:
    if "faults" in result:
        _print_figures(console, result)
    checks = Table("check", "result", "figures", title="checks", title_justify="left")
    for check in result["checks"]:
        verdict = "[green]pass[/green]" if check["ok"] else "[red]FAIL[/red]"
        checks.add_row(check["name"], verdict, check["figure"])
    console.print(checks)
    status = "[green]all checks passed[/green]" if result["passed"] else "[red]FAILED[/red]"
    console.print(f"{status} in {result['duration_s']:.0f} s; figures in {result['out']}")


def _print_figures(console: Console, result: dict[str, Any]) -> None:
    figures = Table("figure", "value", title="sociale-kaart-sync chaos run", title_justify="left")
    stream = result["stream"]
    figures.add_row("source events published (per run)", f"{stream['events']:,}")
    figures.add_row("distinct valid source events", f"{stream['valid_events']:,}")
    for label, count in sorted(stream["composition"].items()):
        figures.add_row(f"  {label}", f"{count:,}")
    for kind, count in result["faults"]["injected"].items():
        figures.add_row(f"fault: {FAULT_LABELS.get(kind, kind)}", str(count))
    for note in result["faults"]["skipped"]:
        figures.add_row("fault skipped", note)
    figures.add_row("events lost", str(result["figures"]["events_lost"]))
    figures.add_row("duplicated effects", str(result["figures"]["duplicated_effects"]))
    for name, value in result["figures"].items():
        if name not in ("events_lost", "duplicated_effects"):
            figures.add_row(name.replace("_", " "), _text(value))
    console.print(figures)


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return f"{value:,}" if isinstance(value, int) else str(value)
