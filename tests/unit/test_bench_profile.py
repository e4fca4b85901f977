"""The benchmark's profile: waiting in the loop is idle, parked threads are left out."""

from pathlib import Path

from bench.profile import summarize


def test_loop_waits_are_idle_and_executor_threads_are_left_out(tmp_path: Path) -> None:
    raw = tmp_path / "profile.txt"
    raw.write_text(
        "run (asyncio/base_events.py:600);select (/usr/lib/python3.11/selectors.py:468) 30\n"
        "handle (sync/consumers/apply.py:40);merge (sync/merge.py:152) 50\n"
        "handle (sync/consumers/source.py:40);map_event (sync/sources.py:90) 20\n"
        "_bootstrap (threading.py:995);wait (/usr/lib/python3.11/threading.py:320) 400\n"
        "_bootstrap (threading.py:995);_worker (concurrent/futures/thread.py:81) 400\n"
        "run (threading.py:975);Condition.wait (/usr/lib/python3.11/threading.py:324) 400\n")
    summary = summarize(raw)
    assert summary["samples"] == 100
    assert summary["stages_pct"] == {"apply": 50.0, "idle": 30.0, "map": 20.0}
    assert summary["top_self_pct"][0] == ("merge (sync/merge.py)", 50.0)
