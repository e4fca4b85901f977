"""Specification of failure kinds (sync.failures) and of bounded retries (sync.retry)."""

from __future__ import annotations

import gc

import asyncpg
import pytest
from aiokafka.errors import KafkaTimeoutError
from structlog.testing import capture_logs

from sync.errors import PermanentError, TransientError
from sync.failures import classify
from sync.retry import RepeatedFailure, retry_transient


@pytest.mark.parametrize("error", [
    asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
    asyncpg.DiskFullError("could not extend file"),
    asyncpg.OutOfMemoryError("out of memory"),
    asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.PostgresIOError("could not read block"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.InsufficientPrivilegeError("permission denied for table fiche"),
    asyncpg.ConnectionDoesNotExistError("connection was closed"),
    asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError(),
    TransientError("publish failed"),
], ids=lambda e: type(e).__name__)
def test_infrastructure_away_or_degraded_is_an_outage(error: BaseException) -> None:
    """Read-only after a failover, disk full, out of memory, a cancelled statement, an I/O
    error, a restart, the connection: waited for, never dead-lettered."""
    if isinstance(error, TransientError):
        error.__cause__ = KafkaTimeoutError()  # a broker error, wrapped by the producer
    assert classify(error) == "outage"


@pytest.mark.parametrize("error", [
    asyncpg.SerializationError("could not serialize access"),
    asyncpg.DeadlockDetectedError("deadlock detected"),
    asyncpg.LockNotAvailableError("could not obtain lock"),
    asyncpg.UniqueViolationError("duplicate key value violates unique constraint"),
    TransientError("a fiche for these identifiers was created concurrently"),
], ids=lambda e: type(e).__name__)
def test_concurrent_writers_are_contention(error: BaseException) -> None:
    """Retried, but bounded when the same failure comes back every time."""
    assert classify(error) == "contention"


@pytest.mark.parametrize("error", [
    asyncpg.StringDataRightTruncationError("value too long"),
    asyncpg.InvalidTextRepresentationError("invalid input syntax for type uuid"),
    asyncpg.NotNullViolationError("null value in column"),
    asyncpg.ForeignKeyViolationError("violates foreign key constraint"),
    asyncpg.PostgresSyntaxError("syntax error at or near"),
    asyncpg.UndefinedColumnError("column does not exist"),
    PermanentError("bad-identifier", "NIHII check digits"),
    ValueError("a defect"),
], ids=lambda e: type(e).__name__)
def test_errors_in_the_data_or_the_statement_are_permanent(error: BaseException) -> None:
    """Classes 22, 23 (but the unique-violation race) and 42: the same input fails again."""
    assert classify(error) == "permanent"


async def test_an_outage_is_waited_out_however_often_it_repeats() -> None:
    """More identical failures than the bound allows, then success: no giving up."""
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls <= 6:
            raise asyncpg.ReadOnlySQLTransactionError("read-only")
        return "done"

    result = await retry_transient(flaky, what="apply", max_backoff_s=0.001, give_up_after=3)
    assert (result, calls) == ("done", 7)


async def test_a_contention_failure_that_repeats_identically_gives_up_after_the_bound() -> None:
    """A 23505 that comes back every time is deterministic: RepeatedFailure, a permanent
    error, after exactly ``give_up_after`` attempts."""
    calls = 0

    async def stuck() -> None:
        nonlocal calls
        calls += 1
        raise asyncpg.UniqueViolationError("duplicate key value violates unique constraint")

    with pytest.raises(RepeatedFailure) as caught:
        await retry_transient(stuck, what="apply", max_backoff_s=0.001, give_up_after=4)
    assert calls == 4
    assert caught.value.reason == "repeated-failure"
    assert "23505" in caught.value.detail


async def test_different_contention_failures_in_a_row_do_not_add_up() -> None:
    """Only identical failures count: a deadlock between two unique violations resets."""
    errors = [asyncpg.UniqueViolationError("dup"), asyncpg.UniqueViolationError("dup"),
              asyncpg.DeadlockDetectedError("deadlock"), asyncpg.UniqueViolationError("dup"),
              asyncpg.UniqueViolationError("dup")]

    async def varied() -> str:
        if errors:
            raise errors.pop(0)
        return "done"

    assert await retry_transient(varied, what="apply", max_backoff_s=0.001,
                                 give_up_after=3) == "done"


async def test_without_a_bound_contention_is_retried_until_it_passes() -> None:
    """The relay and start-up name no bound: their behaviour is unchanged."""
    calls = 0

    async def slow_race() -> str:
        nonlocal calls
        calls += 1
        if calls < 15:
            raise TransientError("a concurrent writer")
        return "done"

    assert await retry_transient(slow_race, what="relay", max_backoff_s=0.001) == "done"


async def test_an_operation_that_succeeds_at_once_leaves_no_garbage_in_cycles() -> None:
    """Every batch goes through retry_transient: a first attempt that succeeds builds no
    retrier, whose reference cycles only the garbage collector frees (a pass over a few
    seconds' worth of them stalled the service's event loop for 30-60 ms)."""
    async def ok() -> str:
        return "done"

    await retry_transient(ok, what="apply")  # anything made once (metrics' children) made now
    gc.collect()
    gc.disable()
    try:
        for _ in range(200):
            assert await retry_transient(ok, what="apply", give_up_after=3) == "done"
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable < 200  # one retrier per call left some forty objects each


async def test_a_first_attempt_that_fails_permanently_is_not_retried() -> None:
    """The first attempt, run outside the retrier, fails the same way as inside it: a
    permanent error is raised as it is, after one call."""
    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise PermanentError("bad-identifier", "NIHII check digits")

    with pytest.raises(PermanentError):
        await retry_transient(broken, what="apply", max_backoff_s=0.001, give_up_after=3)
    assert calls == 1


async def test_a_bound_of_one_gives_up_at_the_first_identical_failure() -> None:
    """The first failure counts toward the bound as it did inside the retrier."""
    calls = 0

    async def stuck() -> None:
        nonlocal calls
        calls += 1
        raise asyncpg.UniqueViolationError("duplicate key value violates unique constraint")

    with pytest.raises(RepeatedFailure):
        await retry_transient(stuck, what="apply", max_backoff_s=0.001, give_up_after=1)
    assert calls == 1


async def test_an_outage_that_ends_is_logged_as_recovered_after_its_retries() -> None:
    """An operator reads when an outage ended: after the lines of the retries, one line
    names the operation, the attempts it took and how long since it first failed."""
    errors = [asyncpg.CannotConnectNowError("starting up"), ConnectionRefusedError(111, "no")]

    async def coming_back() -> str:
        if errors:
            raise errors.pop(0)
        return "done"

    with capture_logs() as logs:
        assert await retry_transient(coming_back, what="relay", max_backoff_s=0.001) == "done"
    events = [(entry["event"], entry.get("attempt") or entry.get("attempts")) for entry in logs]
    assert events == [("transient failure, retrying", 1), ("transient failure, retrying", 2),
                      ("recovered", 3)]
    [recovered] = [entry for entry in logs if entry["event"] == "recovered"]
    assert recovered["operation"] == "relay"
    assert recovered["seconds"] >= 0


async def test_an_operation_that_never_failed_logs_nothing() -> None:
    async def fine() -> str:
        return "done"

    with capture_logs() as logs:
        assert await retry_transient(fine, what="apply") == "done"
    assert logs == []
