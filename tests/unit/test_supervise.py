"""A background task that ends or fails is started again, counted, and named by readiness."""

from __future__ import annotations

import asyncio

import anyio
from prometheus_client import REGISTRY

from sync.supervise import Supervisor


def restarts(task: str) -> float:
    return REGISTRY.get_sample_value("sksync_task_restarts_total", {"task": task}) or 0.0


async def test_a_failed_task_is_started_again_and_readiness_says_so_meanwhile() -> None:
    supervisor = Supervisor(max_backoff_s=1.0)
    runs = 0
    second_run = asyncio.Event()
    seen: list[str | None] = []

    async def task() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("a defect")
        second_run.set()
        await asyncio.Event().wait()  # runs until cancelled

    before = restarts("unit-failing")
    running = supervisor.start("unit-failing", task)
    try:
        with anyio.fail_after(10):
            while not second_run.is_set():
                seen.append(supervisor.problems())
                await asyncio.sleep(0.005)
        assert any(p and p.startswith("unit-failing failed (RuntimeError)") for p in seen), seen
        assert supervisor.problems() is None  # running again
        assert restarts("unit-failing") == before + 1
    finally:
        running.cancel()
        with anyio.move_on_after(5):
            await asyncio.gather(running, return_exceptions=True)


async def test_a_task_that_returns_is_started_again() -> None:
    supervisor = Supervisor(max_backoff_s=1.0)
    started = 0
    third = asyncio.Event()

    async def task() -> None:
        nonlocal started
        started += 1
        if started >= 3:
            third.set()
            await asyncio.Event().wait()

    running = supervisor.start("unit-returning", task)
    try:
        with anyio.fail_after(10):
            await third.wait()
        assert restarts("unit-returning") >= 2
    finally:
        running.cancel()
        with anyio.move_on_after(5):
            await asyncio.gather(running, return_exceptions=True)
