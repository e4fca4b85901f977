"""The operators' pages: the live overview, and dead letters with their replay."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sync.console.context import console_of, form_from, form_list, who
from sync.console.live import sparkline
from sync.console.reads import applied_per_minute
from sync.ops.dlq import DeadLetterView, UnknownDeadLetters, dlq_topics, list_dead_letters, replay
from sync.web.app import needs
from sync.web.audit import audit

__all__ = ["replayable", "routes"]

THROUGHPUT_MINUTES = 30


@needs("operator")
async def overview(request: Request) -> Response:
    """Lag, throughput, event age, readiness and outbox; the live part refreshes itself."""
    return console_of(request).web.render(request, "ops.html", await _live(request))


@needs("operator")
async def overview_live(request: Request) -> Response:
    """The live part alone (htmx swaps it in every few seconds)."""
    return console_of(request).web.render(request, "ops_live.html", await _live(request))


async def _live(request: Request) -> dict[str, Any]:
    console = console_of(request)
    doc = await console.sampler.current()
    async with console.web.pool.acquire() as conn:
        throughput = await applied_per_minute(conn, THROUGHPUT_MINUTES)
    lags = [{"group": group, "topic": topic, "partition": partition, "lag": series[-1],
             "spark": sparkline(series, label=f"{topic}:{partition}")}
            for (group, topic, partition), series in sorted(console.sampler.lag.items())]
    ages = {source: sparkline(series, label=source)
            for source, series in console.sampler.event_age.items()}
    return {"doc": doc, "lags": lags, "ages": ages,
            "throughput": [{"source": source, "total": sum(counts),
                            "spark": sparkline(counts, label=source)}
                           for source, counts in sorted(throughput.items())]}


def _matches(view: DeadLetterView, topic: str, reason: str, text: str) -> bool:
    haystack = " ".join(str(v) for v in (view.detail, view.event_id, view.event_type, view.id))
    return ((not topic or view.dlq_topic == topic) and (not reason or view.reason == reason)
            and (not text or text.lower() in haystack.lower()))


@needs("operator")
async def dead_letters(request: Request) -> Response:
    """Dead letters per topic with a filter; the truncated ones say why they cannot go back."""
    console = console_of(request)
    query = request.query_params
    topic, reason, text = (query.get("topic", ""), query.get("reason", ""),
                           query.get("text", "")[:200])
    letters = await list_dead_letters(console.settings, None)
    shown = [v for v in letters if _matches(v, topic, reason, text)]
    by_topic: dict[str, list[DeadLetterView]] = defaultdict(list)
    for view in shown:
        by_topic[view.dlq_topic].append(view)
    reasons = sorted({(v.dlq_topic, v.reason or "") for v in shown})
    return console.web.render(request, "dead_letters.html", {
        "by_topic": dict(sorted(by_topic.items())), "topics": list(dlq_topics(console.settings)),
        "all_reasons": sorted({v.reason or "" for v in letters}), "reasons": reasons,
        "topic": topic, "reason": reason, "text": text, "total": len(letters),
        "result": {k: query.get(k) for k in ("replayed", "skipped", "refused") if k in query},
    })


def replayable(wanted: list[str], letters: dict[str, DeadLetterView],
               ) -> tuple[list[str], list[str]]:
    """The ids that may go back, and the truncated ones that cannot (their whole message is
    no longer on the dead-letter topic). Unknown ids stay in the first list: the replay
    refuses them by name."""
    refused = [i for i in wanted if i in letters and letters[i].truncated_from is not None]
    return [i for i in wanted if i not in refused], refused


@needs("operator")
async def replay_letters(request: Request) -> Response:
    """Replay the chosen letters, or all of one reason on one topic (never truncated ones),
    through :func:`sync.ops.dlq.replay`, the path of ``sksync dlq replay``."""
    console = console_of(request)
    form = await request.form()
    letters = {v.id: v for v in await list_dead_letters(console.settings, None)}
    if form.get("reason_topic"):
        topic, _, reason = str(form["reason_topic"]).partition("|")
        wanted = [i for i, v in letters.items()
                  if v.dlq_topic == topic and (v.reason or "") == reason]
    else:
        wanted = form_list(form, "id")
    ids, refused = replayable(wanted, letters)
    if not ids:
        return RedirectResponse(f"/dead-letters?replayed=0&skipped=0&refused={len(refused)}",
                                status_code=303)
    try:
        summary = await replay(console.settings, None, ids)
    except UnknownDeadLetters as error:
        return console.web.render(request, "refused.html", {"reason": str(error)}, 409)
    async with console.web.pool.acquire() as conn:
        for letter_id in ids:
            await audit(conn, who(request), "dead-letter-replay", f"dead-letter:{letter_id}",
                        form_from(form), {"replayed": letter_id in summary.replayed,
                                          "reason": letters[letter_id].reason})
    return RedirectResponse(
        f"/dead-letters?replayed={len(summary.replayed)}&skipped="
        f"{len(summary.already_replayed)}&refused={len(refused)}", status_code=303)


routes = [
    Route("/ops", overview), Route("/ops/live", overview_live),
    Route("/dead-letters", dead_letters),
    Route("/dead-letters/replay", replay_letters, methods=["POST"]),
]
