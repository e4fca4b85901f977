"""Signing in to the provider pages on a real PostgreSQL, over HTTP in this process (httpx on
the ASGI app): one answer whether or not a number exists, the limits, links that work once
and are stored as hashes only, sessions that reach only their own fiches."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

from sync.providers.app import provider_app
from sync.providers.mail import Mail
from sync.settings import Settings
from tests.support.builders import nihii


@dataclass
class Outbox:
    """A mail sender that keeps what it was given."""

    mails: list[Mail] = field(default_factory=list)

    async def send(self, mail: Mail) -> None:
        self.mails.append(mail)


@dataclass
class Published:
    events: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, events: list[dict[str, Any]]) -> int:
        self.events.extend(events)
        return len(events)


@dataclass
class Site:
    http: httpx.AsyncClient
    outbox: Outbox
    published: Published


async def a_fiche(conn: asyncpg.Connection, type_: str, value: str,
                  visible: dict[str, Any]) -> uuid.UUID:
    """A fiche holding one identifier, written straight into the tables."""
    fiche = uuid.uuid4()
    await conn.execute("INSERT INTO fiche (id, kind, version, visible) VALUES ($1, 'person', 1, "
                       "$2::jsonb)", fiche, json.dumps(visible))
    await conn.execute("INSERT INTO fiche_identifier (type, value, fiche_id) VALUES ($1, $2, $3)",
                       type_, value, fiche)
    return fiche


@pytest.fixture
async def site(pg_pool: asyncpg.Pool) -> AsyncIterator[Site]:
    outbox, published = Outbox(), Published()
    settings = Settings(database_url="postgresql://unused/unused",
                        provider_public_url="https://mijnfiche.example")
    app = provider_app(settings, pg_pool, publish=published, sender=outbox)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://provider") as http:
        yield Site(http, outbox, published)


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


async def ask(http: httpx.AsyncClient, number: str, kind: str = "nihii") -> httpx.Response:
    page = await http.get("/provider/login")
    return await http.post("/provider/login", data={"kind": kind, "number": number,
                                                    "csrf": csrf_of(page)})


def notice(response: httpx.Response) -> str:
    found = re.search(r'id="sent">([^<]+)<', response.text)
    return found.group(1) if found else ""


async def sign_in_by_mail(site: Site, number: str) -> httpx.Response:
    await ask(site.http, number)
    link = re.search(r"https://mijnfiche\.example(/provider/link/\S+)", site.outbox.mails[-1].text)
    assert link is not None
    page = await site.http.get(link.group(1))
    return await site.http.post(link.group(1), data={"csrf": csrf_of(page)})


async def test_a_known_and_an_unknown_number_get_the_same_answer(
    site: Site, pg_conn: asyncpg.Connection,
) -> None:
    """Only the fiche's own address receives a mail; the page says the same either way."""
    known = nihii("2")
    await a_fiche(pg_conn, "NIHII-PERSON", known[:8], {"contact.email": "mira@example.be"})
    answers = [await ask(site.http, known), await ask(site.http, nihii("2"))]
    assert [a.status_code for a in answers] == [200, 200]
    assert notice(answers[0]) == notice(answers[1]) != ""
    assert [m.to for m in site.outbox.mails] == ["mira@example.be"]


async def test_links_are_stored_as_hashes_and_work_once(
    site: Site, pg_conn: asyncpg.Connection,
) -> None:
    """The table holds no token; the second use of a link is refused and opens nothing."""
    number = nihii("2")
    await a_fiche(pg_conn, "NIHII-PERSON", number[:8], {"contact.email": "mira@example.be"})
    first = await sign_in_by_mail(site, number)
    assert first.status_code == 303
    token = site.outbox.mails[-1].text.split("/provider/link/")[1].split()[0]
    stored = await pg_conn.fetch("SELECT token_hash, used_at FROM provider_link")
    assert [r["token_hash"] == token for r in stored] == [False]
    assert stored[0]["used_at"] is not None
    page = await site.http.get(f"/provider/link/{token}")
    again = await site.http.post(f"/provider/link/{token}",
                                 data={"csrf": csrf_of(await site.http.get("/provider/login"))})
    assert (page.status_code, again.status_code) == (410, 410)


async def test_asking_too_often_for_one_number_is_refused_for_a_while(
    site: Site, pg_conn: asyncpg.Connection,
) -> None:
    """Three links per number per window; the fourth request is refused and sends nothing."""
    number = nihii("2")
    await a_fiche(pg_conn, "NIHII-PERSON", number[:8], {"contact.email": "mira@example.be"})
    statuses = [(await ask(site.http, number)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert len(site.outbox.mails) == 3
    stored = await pg_conn.fetch("SELECT key FROM provider_attempt")
    assert all(number[:8] not in r["key"] for r in stored)


async def test_a_session_reaches_only_the_fiches_of_its_number(
    site: Site, pg_conn: asyncpg.Connection,
) -> None:
    """Its own fiche opens; another fiche, or one that does not exist, answers not found,
    and a change sent to another fiche publishes nothing."""
    number = nihii("2")
    mine = await a_fiche(pg_conn, "NIHII-PERSON", number[:8],
                         {"contact.email": "mira@example.be", "name.last": "Declercq"})
    other = await a_fiche(pg_conn, "NIHII-PERSON", nihii("2")[:8], {"name.last": "Janssens"})
    landed = await sign_in_by_mail(site, number)
    assert landed.headers["location"] == "/provider/fiches"
    own = await site.http.get(f"/provider/fiches/{mine}")
    assert own.status_code == 200
    assert "Declercq" in own.text
    for fiche in (other, uuid.uuid4(), "not-a-uuid"):
        assert (await site.http.get(f"/provider/fiches/{fiche}")).status_code == 404
    sent = await site.http.post(f"/provider/fiches/{other}",
                                data={"csrf": csrf_of(own), "contact.phone": "055 11 11 11"})
    assert sent.status_code == 404
    assert site.published.events == []


async def test_a_correction_is_published_as_a_providers_manual_edit(
    site: Site, pg_conn: asyncpg.Connection,
) -> None:
    """Only the changed field goes out, normalised, with the role provider."""
    number = nihii("2")
    mine = await a_fiche(pg_conn, "NIHII-PERSON", number[:8],
                         {"contact.email": "mira@example.be", "contact.phone": "+3255112233"})
    await sign_in_by_mail(site, number)
    page = await site.http.get(f"/provider/fiches/{mine}")
    sent = await site.http.post(f"/provider/fiches/{mine}", data={
        "csrf": csrf_of(page), "contact.phone": "055 99 88 77",
        "contact.email": "mira@example.be"})
    assert sent.status_code == 303
    [event] = site.published.events
    assert event["type"] == "be.socialekaart.fiche.edited"
    assert event["data"]["changes"] == {"contact.phone": "+3255998877"}
    assert event["data"]["editor"] == {"id": f"NIHII-PERSON {number[:8]}", "role": "provider"}
