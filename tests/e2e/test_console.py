"""The console in a real browser (headless Chromium) against the real Kafka and PostgreSQL:
editors decide, operators replay, roles and CSRF tokens refuse, sessions expire.

Selenium blocks; the service and the console run on this test's event loop, so every browser
step runs in a thread (``asyncio.to_thread``)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from devstack import free_port
from sync.app import Service
from sync.events import derived_id
from sync.matching.export import fiche_id_of
from sync.settings import Settings
from sync.web.accounts import add_account
from tests.e2e.test_conflict_flow import conflict_raised, edit, fiche_events
from tests.e2e.test_dead_letters import three_dead_letters
from tests.e2e.test_matching_flow import hand_made_fiches, of_type
from tests.support.browser import By, chromium, screenshot, wait_for
from tests.support.builders import nihii, professional
from tests.support.kafka import TopicReader, publish

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"


@pytest.fixture
async def console(settings: Settings) -> AsyncIterator[tuple[Settings, str]]:
    """The service with its console on a free port, an editor and an operator account."""
    config = settings.model_copy(update={"console_enabled": True, "console_port": free_port(),
                                         "console_sample_interval_s": 1.0})
    service = Service(config, serve_http=False)
    await service.start()
    conn = await asyncpg.connect(config.database_url)
    try:
        await add_account(conn, "els", PASSWORD, ["editor"])
        await add_account(conn, "omar", PASSWORD, ["operator"])
    finally:
        await conn.close()
    try:
        yield config, f"http://127.0.0.1:{config.console_port}"
    finally:
        await service.stop()


def sign_in(driver: WebDriver, base: str, name: str, landing: str) -> None:
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    try:
        wait_for(f"{name} to land on {landing}", lambda: driver.current_url.endswith(landing))
    except AssertionError as error:
        raise AssertionError(f"{error}; at {driver.current_url}: {driver.page_source[:2000]}"
                             ) from None


def refusal_of(driver: WebDriver) -> str:
    return wait_for("a refusal page", lambda: driver.find_elements(By.ID, "refusal"))[0].text


def post_with_token(driver: WebDriver, path: str, fields: dict[str, str]) -> int:
    """A POST from the page with the session's own CSRF token: only the role can refuse it."""
    token = driver.find_element(By.NAME, "csrf").get_attribute("value")
    script = ("const [path, body, done] = arguments; fetch(path, {method: 'POST', body: "
              "new URLSearchParams(body), redirect: 'manual'}).then(r => done(r.status));")
    status: int = driver.execute_async_script(script, path, {**fields, "csrf": token})
    return status


async def row(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchrow(sql, *args)
    finally:
        await conn.close()


async def until_row(url: str, sql: str, *args: Any, what: str) -> Any:
    async with asyncio.timeout(60):
        while (found := await row(url, sql, *args)) is None:
            await asyncio.sleep(0.2)
    assert found is not None, what
    return found


async def open_conflict(settings: Settings, notices: TopicReader,
                        events: TopicReader) -> dict[str, Any]:
    """A pinned phone that CoBRHA contradicts: one open conflict."""
    number = nihii("1")
    fiche = derived_id("fiche", "person", "NIHII-PERSON", number[:8])
    await publish(settings, [professional(number, first="Mira", last="Declercq",
                                          phone="+3255112233")])
    await fiche_events(events, fiche, 1)
    await publish(settings, [edit(fiche, {"contact.phone": "+3255000000"})])
    await fiche_events(events, fiche, 2)
    return await conflict_raised(notices, 1)


async def test_an_editor_accepts_a_match_and_resolves_a_conflict(
    console: tuple[Settings, str],
) -> None:
    """Both decisions reach the database and the topics; operators' pages and a form without
    its CSRF token are refused; an expired session goes back to sign-in."""
    settings, base = console
    url = settings.database_url
    fiche_a = fiche_id_of("E2E-A")
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events, \
            TopicReader(settings, settings.topics.name("notification")) as notices:
        raised = await open_conflict(settings, notices, events)
        await publish(settings, hand_made_fiches())
        await events.until(lambda v: len(of_type(v, "fiche.created")) >= 4, what="fiches")
        await publish(settings, [professional(nihii("1"), first="Jana", last="Peeters")])
        await notices.until(lambda v: len(of_type(v, "match-review-needed")) >= 1,
                            what="a match-review-needed notification")
        with chromium() as driver:
            await asyncio.to_thread(sign_in, driver, base, "els", "/conflicts")
            await asyncio.to_thread(screenshot, driver, "conflicts")
            conflict_id = raised["data"]["conflictId"]

            def accept_candidate() -> str:
                card = driver.find_element(By.ID, f"conflict-{conflict_id}")
                card.find_element(By.NAME, "comment").send_keys("bevestigd door de praktijk")
                card.find_element(By.CSS_SELECTOR, "button[value=accept]").click()
                return wait_for("the decision's notice",
                                lambda: driver.find_elements(By.ID, "result"))[0].text

            assert conflict_id in await asyncio.to_thread(accept_candidate)
            resolved = await until_row(
                url, "SELECT status, resolved_by FROM conflict WHERE id = $1 AND status <> "
                "'open'", uuid.UUID(conflict_id), what="the conflict resolved")
            assert tuple(resolved) == ("accepted", "els")
            fiche = raised["subject"]
            latest = await fiche_events(events, uuid.UUID(fiche), 3)
            assert latest[-1]["data"]["snapshot"]["contact.phone"] == "+3255112233"
            said = await notices.until(lambda v: len(of_type(v, "conflict-resolved")) >= 1,
                                       what="the conflict-resolved notification")
            [notice] = of_type(said, "conflict-resolved")
            assert (notice["data"]["conflictId"], notice["data"]["editor"]) == (conflict_id,
                                                                                "els")
            assert notice["data"]["cause"]["source"] == "urn:socialekaart:sksync-console"
            audit = await row(url, "SELECT user_name, page, detail FROM console_audit "
                              "WHERE action = 'conflict-accept'")
            assert (audit["user_name"], audit["page"]) == ("els", "/conflicts")
            assert json.loads(audit["detail"])["comment"] == "bevestigd door de praktijk"

            def accept_match() -> str:
                driver.get(f"{base}/matches")
                screenshot(driver, "matches")
                card = wait_for("the candidate of fiche A", lambda: [
                    c for c in driver.find_elements(By.CSS_SELECTOR, "article.card")
                    if str(fiche_a) in c.get_attribute("innerHTML")])[0]
                card.find_element(By.CSS_SELECTOR, "button[value=accept]").click()
                return wait_for("the decision's notice",
                                lambda: driver.find_elements(By.ID, "result"))[0].text

            await asyncio.to_thread(accept_match)
            linked = await events.until(lambda v: len(of_type(v, "fiche.linked")) >= 1,
                                        what="fiche A linked")
            assert of_type(linked, "fiche.linked")[0]["subject"] == str(fiche_a)
            assert of_type(linked, "fiche.linked")[0]["data"]["decidedBy"] == "els"
            decided = await row(url, "SELECT status, decided_by FROM match_candidate "
                                "WHERE fiche_id = $1", fiche_a)
            assert tuple(decided) == ("accepted", "els")

            def fiche_page_and_search() -> str:
                driver.get(f"{base}/fiches?q=Declercq")
                screenshot(driver, "search")
                driver.find_element(By.CSS_SELECTOR, "#results a").click()
                history = wait_for("the fiche's history",
                                   lambda: driver.find_elements(By.ID, "history"))[0].text
                screenshot(driver, "fiche")
                return history

            history = await asyncio.to_thread(fiche_page_and_search)
            assert "contact.phone" in history

            def refused_as_editor() -> tuple[str, int]:
                driver.get(f"{base}/dead-letters")
                refused = refusal_of(driver)
                driver.get(f"{base}/fiches")
                status = post_with_token(driver, "/dead-letters/replay", {"id": "x:0:0"})
                return refused, status

            refused, status = await asyncio.to_thread(refused_as_editor)
            assert "another role" in refused or "andere rol" in refused
            assert status == 403

            def without_csrf() -> str:
                driver.get(f"{base}/conflicts")
                driver.get(f"{base}/matches")
                driver.execute_script(
                    "document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
                buttons = driver.find_elements(By.CSS_SELECTOR, "button[value=reject]")
                if not buttons:  # no candidate left: any form of the session will do
                    driver.find_element(By.CSS_SELECTOR, "header form button").click()
                else:
                    buttons[0].click()
                return refusal_of(driver)

            assert "token" in (await asyncio.to_thread(without_csrf)).lower()
            await row(url, "UPDATE console_session SET expires_at = now() - interval '1 s' "
                      "RETURNING 1")

            def after_expiry() -> str:
                driver.get(f"{base}/conflicts")
                return str(driver.current_url)

            assert "/login?next=%2Fconflicts" in await asyncio.to_thread(after_expiry)


async def test_an_operator_replays_a_dead_letter_and_cannot_resolve_conflicts(
    console: tuple[Settings, str],
) -> None:
    """One letter chosen on the page goes back to its topic once (the path of `sksync dlq
    replay`); the operator's overview shows lag and readiness; editors' actions refuse."""
    settings, base = console
    dlq = await three_dead_letters(settings)
    with chromium() as driver:
        await asyncio.to_thread(sign_in, driver, base, "omar", "/ops")

        def overview() -> str:
            wait_for("lag rows", lambda: driver.find_elements(By.CSS_SELECTOR, "#lag tbody tr"))
            screenshot(driver, "operations")
            # The live part is swapped in again by htmx (allowed by the CSP): a mark on the
            # old content disappears.
            driver.execute_script("document.getElementById('lag').dataset.old = '1'")
            wait_for("a live refresh", lambda: not driver.find_elements(
                By.CSS_SELECTOR, "#lag[data-old]") and driver.find_elements(By.ID, "lag"),
                timeout=20)
            return str(driver.find_element(By.ID, "readiness").text)

        assert await asyncio.to_thread(overview) in ("ready", "gereed")

        def replay_first() -> tuple[str, str]:
            driver.get(f"{base}/dead-letters")
            screenshot(driver, "dead-letters")
            box = driver.find_element(By.CSS_SELECTOR, "input[name=id]")
            chosen = str(box.get_attribute("value"))
            box.click()
            driver.find_element(By.ID, "replay-selected").click()
            notice = wait_for("the replay's notice",
                              lambda: driver.find_elements(By.ID, "result"))[0].text
            return chosen, notice

        chosen, notice = await asyncio.to_thread(replay_first)
        assert chosen.startswith(dlq)
        assert "1" in notice
        topic, partition, offset = chosen.rsplit(":", 2)
        claimed = await row(settings.database_url, "SELECT 1 FROM dead_letter_replay WHERE "
                            "dlq_topic = $1 AND partition = $2 AND \"offset\" = $3",
                            topic, int(partition), int(offset))
        assert claimed is not None
        async with TopicReader(settings, settings.topics.name("cobrha_professional")) as src:
            await src.until(lambda _: any(dict(r.headers or ()).get("sksync-replayed-from")
                                          == chosen.encode() for r in src.records),
                            what="the replayed letter on its topic")
        audit = await row(settings.database_url, "SELECT user_name, target FROM console_audit "
                          "WHERE action = 'dead-letter-replay'")
        assert tuple(audit) == ("omar", f"dead-letter:{chosen}")

        def refused_as_operator() -> tuple[str, int]:
            driver.get(f"{base}/conflicts")
            refused = refusal_of(driver)
            driver.get(f"{base}/ops")
            status = post_with_token(driver, f"/conflicts/{uuid.uuid4()}/resolve",
                                     {"decision": "accept"})
            return refused, status

        refused, status = await asyncio.to_thread(refused_as_operator)
        assert "another role" in refused or "andere rol" in refused
        assert status == 403
