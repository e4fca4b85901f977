"""The signed-in provider's pages: their fiches, one fiche with its sources, a correction,
and "my data is still correct".

A fiche opens only when it holds the identifier the provider signed in with, checked on every
request; any other id answers as if there were no such fiche. Nothing is written to a fiche
here: a correction is published as a manual edit (editor role ``provider``), a confirmation
as ``be.socialekaart.fiche.verified``, and the service applies both by the same rules as
every other update.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sync.console.reads import PROTECTED_TYPES, display_name
from sync.events import FicheKind
from sync.mapping.manual import TYPE_EDITED, TYPE_VERIFIED
from sync.providers.context import PROVIDER_COOKIE, ProviderPages, pages_of, signed_in
from sync.providers.fields import changes_from
from sync.providers.store import end_session, fiches_of
from sync.providers.view import editable_fields, rows_of
from sync.store.queries import fiche_report
from sync.web.app import refusal

__all__ = ["PAGES_SOURCE", "applied", "confirm", "fiche", "fiches", "save", "sign_out"]

#: The CloudEvent source of what providers send from these pages.
PAGES_SOURCE = "urn:socialekaart:provider-pages"
REASON = "corrected by the provider on the provider pages"


async def fiches(request: Request) -> Response:
    """The fiches the provider's number reaches (straight to it when there is one)."""
    pages, session = pages_of(request), signed_in(request)
    async with pages.web.pool.acquire() as conn:
        ids = await fiches_of(conn, session.binding)
        # fiche_report is typed for a plain connection; a pooled one behaves the same.
        found = [await fiche_report(conn, i) for i in ids]  # type: ignore[arg-type]
    reports = [r for r in found if r is not None]
    if len(reports) == 1:
        return RedirectResponse(f"/provider/fiches/{reports[0]['id']}", status_code=303)
    items = [{"id": r["id"], "kind": r["kind"], "status": r["status"],
              "name": display_name(r["kind"], r["visible"])} for r in reports]
    return pages.web.render(request, "provider_fiches.html", {"items": items})


async def _own_report(request: Request) -> dict[str, Any] | None:
    """The fiche of the URL when the signed-in provider's number reaches it, else None."""
    pages, session = pages_of(request), signed_in(request)
    try:
        fiche_id = uuid.UUID(request.path_params["fiche_id"])
    except ValueError:
        return None
    async with pages.web.pool.acquire() as conn:
        if fiche_id not in await fiches_of(conn, session.binding):
            return None
        report = await fiche_report(conn, fiche_id)  # type: ignore[arg-type]
    if report is not None:  # a protected identifier is never shown, whoever asks
        report["identifiers"] = [i for i in report["identifiers"]
                                 if i["type"] not in PROTECTED_TYPES]
    return report


def _render(request: Request, report: dict[str, Any], *, typed: dict[str, str] | None = None,
            errors: dict[str, str] | None = None, status: int = 200) -> Response:
    pages, session = pages_of(request), signed_in(request)
    rows = rows_of(report, pages.policy, session.account.name, typed, errors)
    return pages.web.render(request, "provider_fiche.html", {
        "f": report, "name": display_name(report["kind"], report["visible"]), "rows": rows,
        "errors": errors or {}, "sent": request.query_params.get("sent"),
        "after": _int(request.query_params.get("after")),
        "mode": pages.policy.provider_edits,
    }, status)


async def fiche(request: Request) -> Response:
    """One fiche: every visible value with its source; the provider's fields as a form."""
    report = await _own_report(request)
    if report is None:
        return refusal(request, 404, "not-found")
    return _render(request, report)


async def save(request: Request) -> Response:
    """Check what was typed; publish the changed fields as one edit, or show the errors
    next to their fields with everything as typed."""
    report = await _own_report(request)
    if report is None:
        return refusal(request, 404, "not-found")
    pages = pages_of(request)
    form = await request.form()
    allowed = {item.name for item in editable_fields(_kind(report), pages.policy)}
    typed = {name: str(form.get(name, ""))[:5000] for name in allowed if name in form}
    changes, errors = changes_from(typed, report["visible"], allowed)
    if errors:
        return _render(request, report, typed=typed, errors=errors, status=400)
    if not changes:
        return RedirectResponse(f"/provider/fiches/{report['id']}?sent=nothing",
                                status_code=303)
    await pages.publish([_event(pages, request, TYPE_EDITED, report["id"], {
        "changes": changes, "reason": REASON})])
    return RedirectResponse(
        f"/provider/fiches/{report['id']}?sent=changes&after={report['version']}",
        status_code=303)


async def applied(request: Request) -> Response:
    """Polled by the page after a change was sent: once the fiche has a version after
    ``after``, the page reloads itself showing the change applied (htmx ``HX-Redirect``)."""
    report = await _own_report(request)
    if report is None:
        return refusal(request, 404, "not-found")
    after = _int(request.query_params.get("after"))
    if after is None or report["version"] <= after:
        return Response(status_code=204)  # not yet: htmx keeps polling
    return Response(status_code=200, headers={
        "HX-Redirect": f"/provider/fiches/{report['id']}?sent=applied"})


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 10 else None


async def confirm(request: Request) -> Response:
    """"My data is still correct": one confirmation, which restarts the fiche's clock."""
    report = await _own_report(request)
    if report is None:
        return refusal(request, 404, "not-found")
    pages = pages_of(request)
    await pages.publish([_event(pages, request, TYPE_VERIFIED, report["id"], {})])
    return RedirectResponse(f"/provider/fiches/{report['id']}?sent=verified", status_code=303)


async def sign_out(request: Request) -> Response:
    """The provider's session ends; back to the sign-in page."""
    token = request.cookies.get(PROVIDER_COOKIE)
    if token:
        async with pages_of(request).web.pool.acquire() as conn:
            await end_session(conn, token)
    response = RedirectResponse("/provider/login", status_code=303)
    response.delete_cookie(PROVIDER_COOKIE, path="/")
    return response


def _kind(report: dict[str, Any]) -> FicheKind:
    return FicheKind(report["kind"])


def _event(pages: ProviderPages, request: Request, type_: str, fiche_id: str,
           data: dict[str, Any]) -> dict[str, Any]:
    """A CloudEvent of the directory's application, sent by the signed-in provider."""
    editor = {"id": signed_in(request).account.name, "role": "provider"}
    return {
        "specversion": "1.0", "id": f"provider-{uuid.uuid4()}", "source": PAGES_SOURCE,
        "type": type_, "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "subject": fiche_id, "datacontenttype": "application/json",
        "data": {"ficheId": fiche_id, "editor": editor, **data},
    }
