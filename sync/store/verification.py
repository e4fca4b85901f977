"""VerificationDue: fiches nobody has confirmed for a whole period.

The directory asks a provider or organisation to check its data once per period; a fiche
that CoBRHA or the KBO confirmed, or whose provider confirmed it on the provider pages
(``be.socialekaart.fiche.verified``), within the period is not asked. The notice carries the
link to the provider's page for the fiche when the pages' public address is configured.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sync.emitted import envelope
from sync.events import NotificationData, derived_id
from sync.jsontext import dumps
from sync.store.fiches import Conn

__all__ = ["fiche_page", "raise_verification_due"]

DUE = """
SELECT id, coalesce(verified_at, created_at) AS since FROM fiche
WHERE status = 'active' AND coalesce(verified_at, created_at) < $1
  AND (verification_notified_at IS NULL OR verification_notified_at < $1)
ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
"""
MARK = "UPDATE fiche SET verification_notified_at = $2 WHERE id = ANY($1::uuid[])"
TYPE = "be.socialekaart.notification.verification-due"
ENQUEUE = """
INSERT INTO outbox (event_id, topic, key, payload, type) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (event_id) DO NOTHING
"""


def fiche_page(page_url: str, fiche_id: object) -> str:
    """The provider's page of one fiche under the pages' public address."""
    return f"{page_url.rstrip('/')}/provider/fiches/{fiche_id}"


async def raise_verification_due(
    conn: Conn, *, topic: str, period: timedelta, now: datetime, limit: int = 1000,
    page_url: str | None = None,
) -> int:
    """Enqueue one ``verification-due`` notification per due fiche; returns how many.

    ``page_url``: the provider pages' public address; the notice then links to the fiche's
    page there. Call inside a transaction; the outbox rows and the marks commit together.
    """
    rows = await conn.fetch(DUE, now - period, limit)
    for row in rows:
        event_id = derived_id("verification-due", str(row["id"]), now.date().isoformat())
        data = NotificationData(
            fiche_id=row["id"],
            message=f"nobody has confirmed this fiche since "
                    f"{row['since'].date().isoformat()}: ask the provider to check it",
            link=fiche_page(page_url, row["id"]) if page_url else None)
        document = envelope(event_id, TYPE, str(row["id"]),
                            data.model_dump(mode="json", by_alias=True), now)
        await conn.execute(ENQUEUE, event_id, topic, str(row["id"]), dumps(document), TYPE)
    await conn.execute(MARK, [row["id"] for row in rows], now)
    return len(rows)
