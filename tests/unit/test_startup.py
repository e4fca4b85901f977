"""Outside the local stack the start refuses a public SSIN key and thin topic replication,
each with one line that says what to set; a stop ends a start that waits."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka.errors import KafkaTimeoutError
from pydantic import SecretStr

from sync.ops.topics import replication
from sync.settings import Settings
from sync.startup import StartRefused, refuse_unsafe, start_problem, unless_stopped

GOOD_SECRET = secrets.token_urlsafe(32)


def production(**overrides: object) -> Settings:
    """Production settings that may start, changed by ``overrides``."""
    values: dict[str, object] = {"environment": "production",
                                 "ssin_secret": SecretStr(GOOD_SECRET)}
    return Settings(**{**values, **overrides})  # type: ignore[arg-type]


def test_production_settings_with_a_random_key_and_three_replicas_may_start() -> None:
    """A 32-byte key (as token_urlsafe or token_hex writes it), RF 3, min ISR 2: no problem."""
    assert start_problem(production()) is None
    assert start_problem(production(ssin_secret=SecretStr(secrets.token_hex(32)))) is None
    refuse_unsafe(production(topic_replication_factor=5, topic_min_insync_replicas=3))


def test_the_environment_defaults_to_production(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing set means production: safety is not opt-in."""
    monkeypatch.delenv("SKSYNC_ENVIRONMENT", raising=False)
    assert Settings().environment == "production"


@pytest.mark.parametrize("secret", [
    "change-me-in-production",             # the public default
    secrets.token_urlsafe(16),             # 16 random bytes
    secrets.token_hex(16),                 # 32 characters, but 16 bytes
    "a" * 64,                              # long, not random
    "abcdefghabcdefgh",                    # short
])
def test_production_refuses_an_ssin_key_without_32_random_bytes(secret: str) -> None:
    """One line naming the variable, how much it needs and how to make one."""
    with pytest.raises(StartRefused) as refused:
        refuse_unsafe(production(ssin_secret=SecretStr(secret)))
    message = str(refused.value)
    assert message.startswith("refusing to start: SKSYNC_SSIN_SECRET ")
    assert "32 random bytes" in message
    assert "token_urlsafe(32)" in message
    assert "\n" not in message
    assert secret not in message


@pytest.mark.parametrize(("factor", "in_sync", "named"), [
    (1, 1, "SKSYNC_TOPIC_REPLICATION_FACTOR is 1"),
    (2, 2, "SKSYNC_TOPIC_REPLICATION_FACTOR is 2"),
    (3, 1, "SKSYNC_TOPIC_MIN_INSYNC_REPLICAS is 1"),
])
def test_production_refuses_fewer_than_three_replicas_or_two_in_sync(
    factor: int, in_sync: int, named: str,
) -> None:
    """Topics that lose an acknowledged event with one broker are refused, by name."""
    problem = start_problem(production(topic_replication_factor=factor,
                                       topic_min_insync_replicas=in_sync))
    assert problem is not None
    assert problem.startswith(f"refusing to start: {named}")
    assert "SKSYNC_ENVIRONMENT=local" in problem


def test_the_local_environment_may_use_the_public_key_and_one_replica() -> None:
    """The project's own stack, tests, demo and benchmark run with the defaults."""
    local = Settings(environment="local", ssin_secret=SecretStr("change-me-in-production"),
                     topic_replication_factor=1, topic_min_insync_replicas=1)
    assert start_problem(local) is None


def test_more_in_sync_replicas_than_replicas_is_refused_everywhere() -> None:
    """No write could ever be acknowledged on such a topic."""
    for environment in ("local", "production"):
        problem = start_problem(production(environment=environment, topic_replication_factor=3,
                                           topic_min_insync_replicas=4))
        assert problem is not None
        assert "exceeds SKSYNC_TOPIC_REPLICATION_FACTOR" in problem


def test_the_local_environment_caps_replication_at_the_brokers_it_has() -> None:
    """One broker: RF 1 and min ISR 1; three: RF 3 and min ISR 2. Production asks as set."""
    local = Settings(environment="local")
    assert replication(local, brokers=1) == (1, 1)
    assert replication(local, brokers=3) == (3, 2)
    assert replication(production(), brokers=1) == (3, 2)


def sksync_run(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SKSYNC_")}
    return subprocess.run(  # noqa: S603 - our own entry point
        [str(Path(sys.executable).parent / "sksync"), "run"], env={**clean, **env},
        capture_output=True, text=True, timeout=60, check=False)


def test_sksync_run_without_an_ssin_key_exits_at_once_with_one_line() -> None:
    """Nothing is contacted (the broker and database named here do not exist): exit 1, the
    reason on one line, no traceback."""
    result = sksync_run(SKSYNC_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
                        SKSYNC_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1, result.stdout + result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: refusing to start: SKSYNC_SSIN_SECRET is not set")
    assert "Traceback" not in result.stdout + result.stderr


def test_sksync_run_with_one_replica_in_production_exits_with_one_line() -> None:
    """A good key, but topics of one replica: refused the same way."""
    result = sksync_run(SKSYNC_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
                        SKSYNC_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
                        SKSYNC_SSIN_SECRET=GOOD_SECRET, SKSYNC_TOPIC_REPLICATION_FACTOR="1",
                        SKSYNC_TOPIC_MIN_INSYNC_REPLICAS="1")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1, result.stdout + result.stderr
    assert lines == [lines[0]]
    assert "SKSYNC_TOPIC_REPLICATION_FACTOR is 1" in lines[0]


async def test_a_start_that_finishes_first_is_handed_back_with_its_result() -> None:
    async def start() -> str:
        return "started"

    started = await unless_stopped(asyncio.Event(), start())
    assert started is not None
    assert started.result() == "started"


async def test_a_start_that_fails_is_handed_back_with_its_failure() -> None:
    async def start() -> None:
        raise KafkaTimeoutError("no broker")

    started = await unless_stopped(asyncio.Event(), start())
    assert started is not None
    with pytest.raises(KafkaTimeoutError):
        started.result()


async def test_a_stop_ends_a_start_that_waits_and_cancels_it() -> None:
    """SIGTERM while the start waits for a broker that is away: the wait is given up."""
    stop, ended = asyncio.Event(), asyncio.Event()

    async def start() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            ended.set()

    asyncio.get_running_loop().call_later(0.05, stop.set)
    assert await asyncio.wait_for(unless_stopped(stop, start()), 5) is None
    assert ended.is_set()  # cancelled, and finished before the stop went on


async def test_a_stop_with_a_grace_lets_work_finish_within_it_and_no_longer() -> None:
    """The indexer's loop: a batch that ends within the grace ends as it would; one that
    still waits when the grace is over is cancelled."""
    stop = asyncio.Event()
    stop.set()

    async def finishing() -> str:
        await asyncio.sleep(0.05)
        return "batch done"

    async def waiting() -> None:
        await asyncio.sleep(60)

    finished = await asyncio.wait_for(unless_stopped(stop, finishing(), grace_s=2), 5)
    assert finished is not None
    assert finished.result() == "batch done"
    assert await asyncio.wait_for(unless_stopped(stop, waiting(), grace_s=0.1), 5) is None
