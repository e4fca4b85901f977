"""The shortened chaos run (``python -m chaos.run --quick``) as part of ``make test``.

It starts its own Kafka brokers and PostgreSQL servers (so that it may restart them), SIGKILLs
the service, restarts the broker and the database, silences the service's database connections
and runs a second instance for a while, then
compares the outcome with a fault-free run of the same events. ``make chaos`` is the full run.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BUDGET_S = 200  # the quick run takes about 80 s here; past this it is stuck (pytest: 300 s)


def run_quick_chaos(out: Path) -> tuple[int, str]:
    """Run the quick form; on overrun, SIGTERM it so that it stops what it started."""
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed argv
        [sys.executable, "-m", "chaos.run", "--quick", "--out", str(out)], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=BUDGET_S)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)  # chaos.run cleans up on SIGTERM
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        pytest.fail(f"the quick chaos run took more than {BUDGET_S} s:\n{output[-4000:]}")
    return process.returncode, output


def test_a_short_chaos_run_loses_nothing_doubles_nothing_and_matches_a_fault_free_run(
    tmp_path: Path,
) -> None:
    """Kills, a broker restart, a database restart, database connections gone silent and a
    rebalance change nothing a user sees: every check of the run passes, with zero events
    lost and zero duplicated effects."""
    out = tmp_path / "quick.json"
    code, output = run_quick_chaos(out)
    assert out.exists(), output[-4000:]
    result = json.loads(out.read_text())
    failed = [check for check in result["checks"] if not check["ok"]]
    assert not failed, json.dumps(failed, indent=1)[:4000] + "\n" + output[-3000:]
    assert code == 0, output[-4000:]
    assert result["figures"]["events_lost"] == 0
    assert result["figures"]["duplicated_effects"] == 0
    faults = result["faults"]["injected"]
    assert faults["sigkill"] >= 3
    assert faults["second-instance-start"] == faults["second-instance-stop"] == 1
    skipped = " ".join(result["faults"]["skipped"])
    assert faults["kafka-restart"] == 1 or "kafka-restart" in skipped
    assert faults["postgres-restart"] == 1 or "postgres-restart" in skipped
    assert faults["database-silence"] == 1
    names = {check["name"] for check in result["checks"]}
    assert {"final state equals the fault-free run", "events lost", "duplicated effects",
            "dead-letter topics hold exactly the injected poison",
            "fiche versions 1..n exactly once downstream",
            "fiche counts kept by triggers equal a count of the fiches"} <= names
