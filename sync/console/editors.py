"""The editors' pages: the conflict queue, the match review queue, fiche search and a fiche.

Decisions go through :func:`sync.ops.conflicts.resolve_conflict`,
:func:`sync.ops.matches.decide_match` and :func:`sync.ops.matches.split_fiche`: the same
checks and the same events as ``sksync conflicts resolve``, ``sksync matches accept|reject``
and ``sksync fiche split``. The service applies them; the page says the decision was sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sync.console.context import console_of, form_from, who
from sync.console.reads import (
    PROTECTED_TYPES,
    display_name,
    fiche_history,
    fiche_links,
    fiche_visible,
    pinned_since,
    search_fiches,
)
from sync.errors import DecisionRefused
from sync.events import Source
from sync.ops.conflicts import resolve_conflict
from sync.ops.matches import decide_match, split_fiche
from sync.store.conflicts import open_conflicts
from sync.store.matching import MatchStore
from sync.store.queries import fiche_report
from sync.web.app import needs, refusal
from sync.web.audit import audit, audit_of

__all__ = ["CONSOLE_SOURCE", "routes"]

#: The CloudEvent source of decisions taken in the console (the CLI's is its own).
CONSOLE_SOURCE = "urn:socialekaart:sksync-console"
QUEUE_LIMIT = 200
COMMENT_MAX = 1000
#: The queue each kind of decision goes back to.
QUEUES = {"conflict": "/conflicts", "match": "/matches"}


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


@needs("editor")
async def conflicts(request: Request) -> Response:
    """Open conflicts, oldest first: the pinned value and the candidate side by side."""
    console = console_of(request)
    async with console.web.pool.acquire() as conn:
        rows = await open_conflicts(conn, None, QUEUE_LIMIT)
        pins = await pinned_since(conn, [(r.fiche_id, r.field) for r in rows])
        names = {r.fiche_id: await fiche_visible(conn, r.fiche_id) for r in rows}
    return console.web.render(request, "conflicts.html", {
        "rows": rows, "pins": pins, "names": names, "sent": request.query_params.get("sent"),
    })


@needs("editor")
async def resolve(request: Request) -> Response:
    """Keep or accept, with an optional comment (kept in the audit row)."""

    async def send(conflict_id: str, decision: str, form: FormData) -> dict[str, Any]:
        chosen: Literal["accept", "keep"] = "accept" if decision == "accept" else "keep"
        found, event = await resolve_conflict(console_of(request).settings, conflict_id, chosen,
                                              who(request), CONSOLE_SOURCE)
        return {"fiche": str(found.fiche_id), "field": found.field, "event": event["id"],
                "comment": str(form.get("comment", ""))[:COMMENT_MAX]}

    return await _decided(request, "conflict", ("accept", "keep"), send)


def _record(row: Any) -> dict[str, Any]:
    update = row.pending_update
    return {"fields": dict(sorted(update.fields.items())),
            "identifiers": [i for i in update.identifiers if i.type not in PROTECTED_TYPES]}


@needs("editor")
async def matches(request: Request) -> Response:
    """Probable matches waiting for review: record and fiche side by side, with the score."""
    console = console_of(request)
    async with console.web.pool.acquire() as conn:
        rows = await MatchStore(conn).waiting(QUEUE_LIMIT)
        fiches = {r.fiche_id: await fiche_visible(conn, r.fiche_id) for r in rows}
    return console.web.render(request, "matches.html", {
        "rows": [(row, _record(row)) for row in rows], "fiches": fiches,
        "sent": request.query_params.get("sent"),
    })


@needs("editor")
async def decide(request: Request) -> Response:
    """Accept or reject one candidate."""

    async def send(match_id: str, decision: str, form: FormData) -> dict[str, Any]:
        chosen: Literal["accept", "reject"] = "accept" if decision == "accept" else "reject"
        row, event = await decide_match(console_of(request).settings, match_id, chosen,
                                        who(request), CONSOLE_SOURCE)
        return {"fiche": str(row.fiche_id), "source": row.source.value,
                "record": row.record_id, "event": event["id"]}

    return await _decided(request, "match", ("accept", "reject"), send)


Send = Callable[[str, str, FormData], Awaitable[dict[str, Any]]]


async def _decided(request: Request, kind: str, choices: tuple[str, str], send: Send,
                   ) -> Response:
    """An editor's decision on the ``kind`` (conflict, match) in the path: checked, sent by
    ``send(id, decision, form)`` (which says what to audit), audited, and back to the queue
    (``/conflicts``, ``/matches``). A decision the check refuses is a 409 saying why."""
    console = console_of(request)
    form = await request.form()
    item_id = _uuid(request.path_params[f"{kind}_id"])
    decision = str(form.get("decision", ""))
    if item_id is None or decision not in choices:
        return refusal(request, 400, "Not found")
    try:
        details = await send(str(item_id), decision, form)
    except DecisionRefused as error:
        return refusal(request, 409, str(error))
    async with console.web.pool.acquire() as conn:
        await audit(conn, who(request), f"{kind}-{decision}", f"{kind}:{item_id}",
                    form_from(form), details)
    return RedirectResponse(f"{QUEUES[kind]}?sent={item_id}", status_code=303)


async def search(request: Request) -> Response:
    """Fiches by name, NIHII, CBE, municipality or profession."""
    console = console_of(request)
    text = request.query_params.get("q", "").strip()[:100]
    results: list[dict[str, Any]] = []
    if len(text) >= 2:
        async with console.web.pool.acquire() as conn:
            results = await search_fiches(conn, text)
    return console.web.render(request, "search.html", {"q": text, "results": results})


async def fiche(request: Request) -> Response:
    """Visible values with their sources, pins, open conflicts, links, history, decisions."""
    console = console_of(request)
    fiche_id = _uuid(request.path_params["fiche_id"])
    if fiche_id is None:
        return refusal(request, 404, "not-found")
    async with console.web.pool.acquire() as conn:
        report = await fiche_report(conn, fiche_id)  # type: ignore[arg-type]
        if report is None:
            return refusal(request, 404, "not-found")
        history = await fiche_history(conn, fiche_id)
        links = await fiche_links(conn, fiche_id)
        targets = [f"conflict:{c['id']}" for c in report["conflicts"]]
        decisions = await audit_of(conn, [f"fiche:{fiche_id}", *targets], [str(fiche_id)])
    return console.web.render(request, "fiche.html", {
        "f": report, "name": display_name(report["kind"], report["visible"]),
        "history": history, "links": links, "decisions": decisions,
        "sent": request.query_params.get("sent"),
    })


@needs("editor")
async def split(request: Request) -> Response:
    """Undo a wrong link: the record leaves the fiche for a new one."""
    console = console_of(request)
    form = await request.form()
    fiche_id = _uuid(request.path_params["fiche_id"])
    source_text, record_id = str(form.get("source", "")), str(form.get("record", ""))[:200]
    if fiche_id is None or source_text not in ("cobrha", "kbo", "association") or not record_id:
        return refusal(request, 400, "Not found")
    try:
        _, event = await split_fiche(console.settings, str(fiche_id), Source(source_text),
                                     record_id, who(request), CONSOLE_SOURCE)
    except DecisionRefused as error:
        return refusal(request, 409, str(error))
    async with console.web.pool.acquire() as conn:
        await audit(conn, who(request), "fiche-split", f"fiche:{fiche_id}", form_from(form),
                    {"source": source_text, "record": record_id, "event": event["id"]})
    return RedirectResponse(f"/fiches/{fiche_id}?sent=split", status_code=303)


routes = [
    Route("/conflicts", conflicts),
    Route("/conflicts/{conflict_id}/resolve", resolve, methods=["POST"]),
    Route("/matches", matches),
    Route("/matches/{match_id}/decide", decide, methods=["POST"]),
    Route("/fiches", search), Route("/fiches/{fiche_id}", fiche),
    Route("/fiches/{fiche_id}/split", split, methods=["POST"]),
]
