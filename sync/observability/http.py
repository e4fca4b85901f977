"""The operator HTTP surface: /healthz, /readyz and /metrics (a plain ASGI app)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import make_asgi_app

from sync.observability import metrics

__all__ = ["ReadinessCheck", "http_app"]

ReadinessCheck = Callable[[], Awaitable[dict[str, str | None]]]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def http_app(readiness: ReadinessCheck) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """``readiness`` returns, per check, ``None`` when fine or a sentence saying what is wrong.

    ``sksync_ready`` is set from the same check on every /readyz and every /metrics request,
    so a Prometheus scrape carries readiness as it stands at scrape time.
    """
    metrics_app = make_asgi_app()

    async def ready() -> tuple[bool, dict[str, str]]:
        problems = await readiness()
        failing = any(problems.values())
        metrics.READY.set(0 if failing else 1)
        return not failing, {name: why or "ok" for name, why in problems.items()}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/metrics":
            await ready()
            await metrics_app(scope, receive, send)
        elif path == "/healthz":
            await _json(send, 200, {"status": "ok"})
        elif path == "/readyz":
            ok, checks = await ready()
            body = {"status": "ready" if ok else "not-ready", "checks": checks}
            await _json(send, 200 if ok else 503, body)
        else:
            await _json(send, 404, {"error": f"no such path: {path[:100]}"})

    return app


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
