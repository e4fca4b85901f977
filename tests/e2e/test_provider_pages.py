"""A provider keeps their own fiche in a real browser (headless Chromium), against the real
Kafka and PostgreSQL: sign-in by a link from the mail outbox, a correction applied by the
service, the authentic fields locked, "my data is still correct", and someone else's fiche
out of reach; a used or expired link refused.

Selenium blocks; the service runs on this test's event loop, so every browser step runs in a
thread (``asyncio.to_thread``)."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from devstack import free_port
from sync.app import Service
from sync.events import derived_id
from sync.providers.binding import Binding
from sync.providers.store import create_link
from sync.settings import Settings
from tests.e2e.test_conflict_flow import fiche_events
from tests.e2e.test_console import post_with_token, row, until_row
from tests.e2e.test_matching_flow import of_type
from tests.support.browser import By, chromium, screenshot, wait_for
from tests.support.builders import nihii, professional
from tests.support.kafka import TopicReader, publish

pytestmark = pytest.mark.slow


@pytest.fixture
async def pages(settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[Service, str, Path]]:
    """The service with its provider pages on a free port; mails go to an outbox file."""
    port = free_port()
    outbox = tmp_path / "outbox.jsonl"
    config = settings.model_copy(update={
        "provider_enabled": True, "provider_port": port, "provider_mail": "file",
        "provider_mail_file": str(outbox), "provider_public_url": f"http://127.0.0.1:{port}"})
    service = Service(config, serve_http=False)
    await service.start()
    try:
        yield service, f"http://127.0.0.1:{port}", outbox
    finally:
        await service.stop()


def link_in(outbox: Path, to: str) -> str:
    """The sign-in link of the latest mail to ``to``."""
    def found() -> str | None:
        if not outbox.exists():
            return None
        mails = [json.loads(line) for line in outbox.read_text().splitlines()]
        mine = [m for m in mails if m["to"] == to]
        return re.search(r"http://\S+/provider/link/\S+", mine[-1]["text"]).group(0) \
            if mine else None  # type: ignore[union-attr]
    return wait_for(f"a sign-in mail to {to}", found)


def ask_link(driver: WebDriver, page: str, number: str) -> str:
    """Open ``page`` signed out, land on sign-in, ask for a link with ``number``."""
    driver.get(page)
    wait_for("the sign-in page", lambda: driver.find_elements(By.ID, "ask-link"))
    Select(driver.find_element(By.ID, "kind")).select_by_value("nihii")
    driver.find_element(By.ID, "number").send_keys(number)
    driver.find_element(By.ID, "ask-link").click()
    return wait_for("the answer", lambda: driver.find_elements(By.ID, "sent"))[0].text


def use_link(driver: WebDriver, link: str, fiche: uuid.UUID) -> None:
    driver.get(link)
    driver.find_element(By.ID, "use-link").click()
    wait_for("the provider's fiche", lambda: driver.current_url.endswith(f"/fiches/{fiche}"))


def save(driver: WebDriver, typed: dict[str, str]) -> None:
    """Type into the provider's fields (replacing what they hold) and save."""
    for name, text in typed.items():
        field = driver.find_element(By.ID, f"f-{name}")
        field.clear()
        field.send_keys(text)
    driver.find_element(By.ID, "save").click()
    wait_for("the page after saving", lambda: driver.find_elements(By.ID, "result")
             or driver.find_elements(By.ID, "form-errors"))


def _shot_of_field(driver: WebDriver, name: str, shot: str) -> None:
    """A screenshot with field ``name`` in view (kept only when screenshots are asked for)."""
    driver.execute_script("arguments[0].scrollIntoView()", driver.find_element(By.ID, f"f-{name}"))
    screenshot(driver, shot)


def value_of(driver: WebDriver, name: str) -> str:
    return str(driver.find_element(By.ID, f"f-{name}").get_attribute("value"))


def refused(driver: WebDriver, url: str) -> str:
    driver.get(url)
    return wait_for("a refusal", lambda: driver.find_elements(By.ID, "refusal"))[0].text


async def two_providers(settings: Settings, events: TopicReader) -> tuple[str, uuid.UUID,
                                                                         uuid.UUID]:
    """Mira's fiche (her NIHII number) and somebody else's, both from CoBRHA."""
    mine, theirs = nihii("1"), nihii("1")
    fiches = [derived_id("fiche", "person", "NIHII-PERSON", n[:8]) for n in (mine, theirs)]
    await publish(settings, [professional(mine, first="Mira", last="Declercq"),
                             professional(theirs, first="Jan", last="Janssens")])
    for fiche in fiches:
        await fiche_events(events, fiche, 1)
    return mine, fiches[0], fiches[1]


async def test_a_provider_signs_in_by_link_corrects_their_phone_and_confirms_their_data(
    pages: tuple[Service, str, Path], settings: Settings,
) -> None:
    """The whole round: VerificationDue links to the page, the link signs in once, a bad
    phone is refused next to its field with everything typed kept, the corrected one is
    applied as a provider's pin, names stay locked, a confirmation resets the clock and
    closes the notice, and another fiche stays out of reach."""
    service, base, outbox = pages
    url = settings.database_url
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events, \
            TopicReader(settings, settings.topics.name("notification")) as notices:
        number, fiche, other = await two_providers(settings, events)
        await service.check_verification(timedelta(0))
        due = await notices.until(lambda v: [n for n in of_type(v, "verification-due")
                                             if n["subject"] == str(fiche)], what="due")
        page = next(n for n in of_type(due, "verification-due")
                    if n["subject"] == str(fiche))["data"]["link"]
        assert page == f"{base}/provider/fiches/{fiche}"
        with chromium() as driver:
            answer = await asyncio.to_thread(ask_link, driver, page, number)
            assert "link" in answer
            link = await asyncio.to_thread(link_in, outbox, "an.peeters@example.be")
            await asyncio.to_thread(use_link, driver, link, fiche)
            await asyncio.to_thread(screenshot, driver, "provider-fiche")

            def locked() -> tuple[int, str]:
                return (len(driver.find_elements(By.NAME, "name.last")),
                        driver.find_element(By.ID, "locked").text)

            inputs, table = await asyncio.to_thread(locked)
            assert inputs == 0
            assert "Declercq" in table
            assert "RIZIV" in table

            await asyncio.to_thread(save, driver, {"contact.phone": "12",
                                                   "openingHours": "ma-vr 9-17"})
            error = await asyncio.to_thread(
                lambda: driver.find_element(By.ID, "e-contact.phone").text)
            await asyncio.to_thread(_shot_of_field, driver, "contact.phone", "provider-error")
            assert "telefoonnummer" in error or "phone number" in error
            assert await asyncio.to_thread(value_of, driver, "contact.phone") == "12"
            assert await asyncio.to_thread(value_of, driver, "openingHours") == "ma-vr 9-17"

            await asyncio.to_thread(save, driver, {"contact.phone": "055 99 88 77"})
            latest = await fiche_events(events, fiche, 2)
            assert latest[-1]["data"]["snapshot"]["contact.phone"] == "+3255998877"
            assert latest[-1]["data"]["snapshot"]["openingHours"] == "ma-vr 9-17"
            pin = await row(url, "SELECT author, role FROM pin WHERE fiche_id = $1 AND "
                            "field = 'contact.phone'", fiche)
            assert (pin["author"], pin["role"]) == (f"NIHII-PERSON {number[:8]}", "provider")

            def shown_applied() -> str:
                wait_for("the page to say the change is applied, by itself",
                         lambda: driver.find_elements(By.ID, "applied"))
                return value_of(driver, "contact.phone")

            assert await asyncio.to_thread(shown_applied) == "+3255998877"
            await asyncio.to_thread(lambda: driver.find_element(By.ID, "confirm").click())
            said = await notices.until(lambda v: of_type(v, "verification-confirmed"),
                                       what="the verification-confirmed notification")
            assert of_type(said, "verification-confirmed")[0]["subject"] == str(fiche)
            verified = await until_row(url, "SELECT verified_at FROM fiche WHERE id = $1 AND "
                                       "verified_at > created_at + interval '1 second'",
                                       fiche, what="the verification clock reset")
            assert verified["verified_at"] is not None

            text = await asyncio.to_thread(refused, driver, f"{base}/provider/fiches/{other}")
            assert "Niet gevonden" in text or "Not found" in text
            status = await asyncio.to_thread(post_with_token, driver,
                                             f"/provider/fiches/{other}",
                                             {"contact.phone": "055 11 11 11"})
            assert status == 404
            assert await row(url, "SELECT 1 FROM pin WHERE fiche_id = $1", other) is None

            again = await asyncio.to_thread(refused, driver, link)
            assert "gebruikt" in again or "used" in again
            expired = await _expired_link(url, number[:8])
            gone = await asyncio.to_thread(refused, driver, f"{base}/provider/link/{expired}")
            assert "verlopen" in gone or "expired" in gone


async def _expired_link(url: str, person: str) -> str:
    """A link of the same provider that expired a second ago."""
    token = f"expired-{uuid.uuid4().hex}"
    conn = await asyncpg.connect(url)
    try:
        await create_link(conn, Binding("NIHII-PERSON", person), token, timedelta(seconds=-1))
    finally:
        await conn.close()
    return token
