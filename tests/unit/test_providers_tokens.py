"""The rules of sign-in links and of the limits on asking for them (sync.providers.tokens)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync.providers.tokens import (
    Limits,
    LinkState,
    attempt_key,
    link_status,
    new_token,
    over_limit,
    token_hash,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
LIMITS = Limits(timedelta(minutes=15), per_identifier=3, per_address=3, per_client=20)


def test_a_link_works_until_it_expires() -> None:
    """Usable one second before its expiry, not at it."""
    assert link_status(LinkState(NOW + timedelta(seconds=1)), NOW) == "usable"
    assert link_status(LinkState(NOW), NOW) == "expired"


def test_a_used_link_stays_used_even_before_it_expires() -> None:
    """A link works once."""
    assert link_status(LinkState(NOW + timedelta(minutes=10), used_at=NOW), NOW) == "used"


def test_an_unknown_token_is_no_link() -> None:
    """A token that was never stored (or was forgotten) opens nothing."""
    assert link_status(None, NOW) == "unknown"


def test_only_a_hash_of_a_token_is_kept_and_tokens_do_not_repeat() -> None:
    """The stored hash is not the token; two tokens differ; the hash is stable."""
    token = new_token()
    assert len(token) >= 40
    assert token_hash(token) != token
    assert token_hash(token) == token_hash(token)
    assert len({new_token() for _ in range(100)}) == 100


def test_asking_is_refused_once_a_limit_is_reached() -> None:
    """Each kind has its own limit; below all of them nothing is refused."""
    assert over_limit({"identifier": 2, "address": 2, "client": 19}, LIMITS) is None
    assert over_limit({"identifier": 3}, LIMITS) == "identifier"
    assert over_limit({"address": 3}, LIMITS) == "address"
    assert over_limit({"client": 20, "identifier": 3}, LIMITS) == "client"


def test_attempts_are_counted_under_a_hash_that_ignores_case_and_spaces() -> None:
    """An address written in capitals counts as the same address; kinds do not mix."""
    assert attempt_key("address", " An@Example.be ") == attempt_key("address", "an@example.be")
    assert attempt_key("address", "x") != attempt_key("client", "x")
    assert "example" not in attempt_key("address", "an@example.be")
