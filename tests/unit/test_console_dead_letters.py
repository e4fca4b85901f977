"""Dead letters on the console: a truncated letter is never replayed and says why."""

from __future__ import annotations

from pathlib import Path

from sync.console.operators import replayable
from sync.ops.dlq import DeadLetterView
from sync.web.app import templates_of
from sync.web.i18n import translate

TEMPLATES = Path(__file__).resolve().parents[2] / "sync" / "console" / "templates"


def letter(offset: int, truncated_from: int | None = None) -> DeadLetterView:
    return DeadLetterView(
        dlq_topic="sk.src.kbo.entity.dlq", partition=0, offset=offset, reason="too-large",
        detail="the message is larger than 1000000 bytes", original_topic="sk.src.kbo.entity",
        original_partition=1, original_offset=40 + offset, failed_at="2026-12-04T10:00:00",
        event_id="e-1", event_type="be.kbo.entity.upserted", attempts=1,
        truncated_from=truncated_from)


def test_a_truncated_letter_is_kept_out_of_a_replay() -> None:
    """Chosen alone or with others, a truncated letter is refused and the rest go back."""
    whole, cut = letter(1), letter(2, truncated_from=2_500_000)
    letters = {whole.id: whole, cut.id: cut}
    assert replayable([whole.id, cut.id], letters) == ([whole.id], [cut.id])
    assert replayable(["sk.src.kbo.entity.dlq:0:99"], letters) == (
        ["sk.src.kbo.entity.dlq:0:99"], [])


def test_the_page_offers_no_tick_box_for_a_truncated_letter_and_says_why() -> None:
    """The operator sees the original size and whom to ask, in Dutch or English."""
    whole, cut = letter(1), letter(2, truncated_from=2_500_000)
    env = templates_of([TEMPLATES]).env
    html = env.get_template("dead_letters.html").render(
        t=lambda text, **values: translate(text, "en").format(**values), lang="en",
        account=None, csrf="token", nav=[], title="Sociale Kaart console", here="/dead-letters",
        here_full="/dead-letters", by_topic={whole.dlq_topic: [whole, cut]}, topics=[],
        all_reasons=["too-large"], reasons=[], topic="", reason="", text="", total=2,
        result={})
    assert f'value="{whole.id}"' in html
    assert f'value="{cut.id}"' not in html
    assert "the original was 2500000 bytes" in html
    assert "cannot be replayed" in html
