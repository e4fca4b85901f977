"""What the operators' page shows live: a periodic sample of lag, event age and readiness,
kept for a while so that each figure has a small trend line (an inline SVG sparkline)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from markupsafe import Markup

from sync.ops.lag import LagReader
from sync.ops.status import collect_status, describe
from sync.settings import Settings
from sync.store.migrate import pending_migrations

__all__ = ["Readiness", "Sampler", "sparkline"]

log = structlog.get_logger(__name__)
Readiness = Callable[[], Awaitable[dict[str, str | None]]]
KEPT_SAMPLES = 60


@dataclass
class Sampler:
    """Samples the status every ``interval_s``; the page reads the latest and the trends.

    Its broker clients (a :class:`LagReader`) and the pool's connections serve every sample:
    a sample does not bootstrap new clients or open a connection of its own."""

    settings: Settings
    pool: asyncpg.Pool
    readiness: Readiness | None = None
    interval_s: float = 10.0
    latest: dict[str, Any] = field(default_factory=dict)
    lag: dict[tuple[str, str, int], deque[int]] = field(default_factory=dict)
    event_age: dict[str, deque[float]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _reader: LagReader | None = None

    async def run(self) -> None:
        """Sample until cancelled; a failed round is shown as a problem, then retried. The
        broker clients are closed when it stops."""
        try:
            while True:
                with contextlib.suppress(Exception):
                    await self.sample()
                await asyncio.sleep(self.interval_s)
        finally:
            await self.close()

    async def close(self) -> None:
        """Close the broker clients (a later sample starts new ones)."""
        reader, self._reader = self._reader, None
        if reader is not None:
            await reader.close()

    async def current(self) -> dict[str, Any]:
        """The latest sample (taken now when there is none yet)."""
        if not self.latest:
            await self.sample()
        return self.latest

    async def sample(self) -> None:
        async with self._lock:
            if self._reader is None:
                self._reader = LagReader(self.settings)
            doc = await collect_status(self.settings, self._reader, self.pool)
            doc["readiness"] = await self._readiness()
            for row in doc.get("lag", []):
                for partition, lag in row["partitions"].items():
                    key = (row["group"], row["topic"], int(partition))
                    self.lag.setdefault(key, deque(maxlen=KEPT_SAMPLES)).append(lag)
            for row in doc.get("sources", []):
                age = _event_age(row)
                if age is not None:
                    self.event_age.setdefault(row["source"], deque(maxlen=KEPT_SAMPLES)).append(
                        age)
                row["eventAgeSeconds"] = age
            self.latest = doc

    async def _readiness(self) -> dict[str, str | None]:
        """The service's own checks when it runs here; else the database's and migrations'."""
        if self.readiness is not None:
            return await self.readiness()
        try:
            async with self.pool.acquire(timeout=3) as conn:
                pending = await pending_migrations(conn)
            return {"database": None,
                    "migrations": f"pending: {', '.join(pending)}" if pending else None}
        except Exception as error:
            return {"database": f"unreachable: {describe(error)}", "migrations": "unknown"}


def _event_age(row: dict[str, Any]) -> float | None:
    """Seconds between a source event's time and its apply, at the last apply."""
    if not row.get("lastEventTime"):
        return None
    applied = datetime.fromisoformat(row["lastAppliedAt"])
    event = datetime.fromisoformat(row["lastEventTime"])
    return max(0.0, (applied.astimezone(UTC) - event.astimezone(UTC)).total_seconds())


def sparkline(values: Sequence[float], width: int = 120, height: int = 24,
              label: str = "") -> Markup:
    """A small inline SVG line of ``values`` (no styles: the CSP allows none inline)."""
    points = list(values)[-KEPT_SAMPLES:]
    if len(points) < 2:
        points = [points[0] if points else 0.0] * 2
    top = max(points) or 1.0
    step = (width - 2) / (len(points) - 1)
    coords = " ".join(f"{1 + i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}"
                      for i, v in enumerate(points))
    return Markup(
        '<svg class="spark" role="img" width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
        '<title>{label}</title><polyline fill="none" stroke="#0b5cad" stroke-width="1.5" '
        'points="{coords}"/></svg>').format(w=width, h=height, label=label, coords=coords)
