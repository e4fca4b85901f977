"""The console's guard, accounts and sessions on a real PostgreSQL, driven over HTTP in this
process (httpx on the ASGI app): sign-in, roles, CSRF, expiry, headers, audit rows."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from sync.console import console_app
from sync.settings import Settings
from sync.web.accounts import add_account, check_password, list_accounts, remove_account
from tests.integration.test_least_privilege import service_conn, service_url  # noqa: F401

PASSWORD = "correct horse battery"


@pytest.fixture
async def client(pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
                 ) -> AsyncIterator[httpx.AsyncClient]:
    """The console (its lifespan not run: no page that needs the broker is asked for)."""
    await add_account(pg_conn, "els", PASSWORD, ["editor"])
    await add_account(pg_conn, "omar", PASSWORD, ["operator"])
    settings = Settings(database_url="postgresql://unused/unused")
    app = console_app(settings, pg_pool)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
        yield http


async def sign_in(http: httpx.AsyncClient, name: str, password: str = PASSWORD,
                  ) -> httpx.Response:
    page = await http.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    return await http.post("/login", data={"name": name, "password": password,
                                           "csrf": token.group(1), "next": ""})


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("path", ["/", "/ops", "/dead-letters", "/conflicts", "/matches",
                                  "/fiches", f"/fiches/{uuid.uuid4()}"])
async def test_every_page_sends_a_stranger_to_sign_in_and_back(
    client: httpx.AsyncClient, path: str,
) -> None:
    """No session, no page: a redirect to sign-in that remembers where to go after."""
    response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=" + path.replace("/", "%2F")


async def test_pages_carry_a_strict_content_security_policy(client: httpx.AsyncClient) -> None:
    """Scripts and styles from the console itself only; never framed; never cached."""
    response = await client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


async def test_a_wrong_password_is_refused_and_the_right_one_opens_a_session(
    client: httpx.AsyncClient, pg_conn: asyncpg.Connection,
) -> None:
    """The right password lands on the editor's queue and leaves an audit row."""
    wrong = await sign_in(client, "els", "not the password")
    assert wrong.status_code == 401
    right = await sign_in(client, "els")
    assert (right.status_code, right.headers["location"]) == (303, "/conflicts")
    assert "httponly" in right.headers["set-cookie"].lower()
    assert await pg_conn.fetchval(
        "SELECT count(*) FROM console_audit WHERE user_name = 'els' AND action = 'sign-in'") == 1


async def test_signing_in_without_the_forms_token_is_refused(client: httpx.AsyncClient) -> None:
    """A sign-in posted from another site (no double-submit cookie) is refused."""
    response = await client.post("/login", data={"name": "els", "password": PASSWORD})
    assert response.status_code == 403


async def test_a_change_without_the_sessions_csrf_token_is_refused(
    client: httpx.AsyncClient,
) -> None:
    """The session's cookie alone does not make a change: its token must come along."""
    await sign_in(client, "els")
    path = f"/conflicts/{uuid.uuid4()}/resolve"
    without = await client.post(path, data={"decision": "keep"})
    assert without.status_code == 403
    assert "security token" in without.text or "veiligheidstoken" in without.text
    wrong = await client.post(path, data={"decision": "keep", "csrf": "guessed"})
    assert wrong.status_code == 403


async def test_each_role_is_refused_the_others_pages_and_actions(
    client: httpx.AsyncClient,
) -> None:
    """An editor cannot replay dead letters, an operator cannot decide on conflicts."""
    await sign_in(client, "els")
    token = csrf_of(await client.get("/fiches"))
    assert (await client.get("/dead-letters")).status_code == 403
    replay = await client.post("/dead-letters/replay", data={"id": "x:0:0", "csrf": token})
    assert replay.status_code == 403
    assert "another role" in replay.text or "andere rol" in replay.text
    client.cookies.clear()
    await sign_in(client, "omar")
    token = csrf_of(await client.get("/fiches"))
    assert (await client.get("/conflicts")).status_code == 403
    resolve = await client.post(f"/conflicts/{uuid.uuid4()}/resolve",
                                data={"decision": "accept", "csrf": token})
    assert resolve.status_code == 403
    assert "another role" in resolve.text or "andere rol" in resolve.text


async def test_an_expired_session_goes_back_to_sign_in(
    client: httpx.AsyncClient, pg_conn: asyncpg.Connection,
) -> None:
    """Past its idle expiry, or past its lifetime however active, a session opens nothing."""
    await sign_in(client, "els")
    assert (await client.get("/fiches")).status_code == 200
    await pg_conn.execute("UPDATE console_session SET expires_at = now() - interval '1 s'")
    assert (await client.get("/fiches")).status_code == 303
    client.cookies.clear()
    await sign_in(client, "els")
    await pg_conn.execute("UPDATE console_session SET created_at = now() - interval '13 h'")
    assert (await client.get("/fiches")).status_code == 303


async def test_htmx_is_told_to_sign_in_again(client: httpx.AsyncClient) -> None:
    """A live refresh whose session ended sends the whole page to sign-in."""
    response = await client.get("/ops/live", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["hx-redirect"].startswith("/login?next=")


async def test_removing_an_account_ends_its_sessions(
    client: httpx.AsyncClient, pg_conn: asyncpg.Connection,
) -> None:
    """`sksync users remove` takes effect at the next request."""
    await sign_in(client, "els")
    assert await remove_account(pg_conn, "els")
    assert (await client.get("/fiches")).status_code == 303
    assert [a.name for a in await list_accounts(pg_conn)] == ["omar"]


async def test_passwords_are_stored_as_argon2id_and_roles_are_checked(
    pg_conn: asyncpg.Connection,
) -> None:
    """Never the password itself; an unknown role or a short password is refused."""
    await add_account(pg_conn, "ann", PASSWORD, ["editor", "operator"])
    stored = await pg_conn.fetchval("SELECT password_hash FROM console_user WHERE name = 'ann'")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert (await check_password(pg_conn, "ann", PASSWORD)).roles == (  # type: ignore[union-attr]
        "operator", "editor")
    assert await check_password(pg_conn, "nobody", PASSWORD) is None
    with pytest.raises(ValueError, match="roles"):
        await add_account(pg_conn, "ann", PASSWORD, ["admin"])
    with pytest.raises(ValueError, match="12 characters"):
        await add_account(pg_conn, "ann", "short", ["editor"])


async def test_the_service_role_adds_audit_rows_but_cannot_rewrite_them(
    service_conn: asyncpg.Connection,  # noqa: F811
) -> None:
    """The audit trail is append-only for the role the console runs as."""
    await service_conn.execute("INSERT INTO console_audit (user_name, action, target, page) "
                               "VALUES ('els', 'conflict-keep', 'conflict:x', '/conflicts')")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await service_conn.execute("UPDATE console_audit SET user_name = 'someone else'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await service_conn.execute("DELETE FROM console_audit")


async def test_the_language_switch_turns_the_pages_into_english(
    client: httpx.AsyncClient,
) -> None:
    """Dutch first; one click later the same page speaks English, and goes back where it was."""
    assert "Aanmelden" in (await client.get("/login")).text
    switch = await client.get("/lang/en?next=/login")
    assert (switch.status_code, switch.headers["location"]) == (303, "/login")
    page = await client.get("/login")
    assert '<html lang="en">' in page.text
    assert "Sign in" in page.text
    assert (await client.get("/lang/en?next=//evil.example")).headers["location"] == "/"


async def test_a_name_is_refused_for_a_while_after_ten_failed_sign_ins(
    client: httpx.AsyncClient, pg_conn: asyncpg.Connection,
) -> None:
    """Guessing a password costs a quarter of an hour per ten tries; each try is audited."""
    for _ in range(10):
        assert (await sign_in(client, "els", "guess")).status_code == 401
    throttled = await sign_in(client, "els")
    assert throttled.status_code == 401
    assert "15" in throttled.text
    assert await pg_conn.fetchval("SELECT count(*) FROM console_audit "
                                  "WHERE action = 'sign-in-refused'") == 11
    assert (await sign_in(client, "omar")).status_code == 303
