"""The console's words: every text the templates translate has its Dutch."""

from __future__ import annotations

import re
from pathlib import Path

from sync.console.live import sparkline
from sync.web.app import REFUSALS, safe_next
from sync.web.i18n import DUTCH, translate

ROOT = Path(__file__).resolve().parents[2] / "sync"
TEMPLATES = [*ROOT.glob("web/templates/*.html"), *ROOT.glob("console/templates/*.html")]
#: Texts passed through t() that are data, not words (a template's variables).
LITERAL = re.compile(r"""\bt\(\s*(["'])(.+?)\1""", re.S)


def test_every_text_the_templates_translate_has_its_dutch() -> None:
    """A missing Dutch text would show English on a Dutch page."""
    used = {match.group(2) for path in TEMPLATES
            for match in LITERAL.finditer(path.read_text(encoding="utf-8"))}
    used |= set(REFUSALS.values())
    assert len(used) > 50
    assert sorted(text for text in used if text not in DUTCH) == []


def test_english_is_the_key_and_dutch_its_translation() -> None:
    """The language switch changes the words, nothing else."""
    assert translate("Sign in", "en") == "Sign in"
    assert translate("Sign in", "nl") == "Aanmelden"


def test_a_next_page_is_never_another_site() -> None:
    """After signing in, only a local path is followed."""
    assert safe_next("/conflicts?x=1") == "/conflicts?x=1"
    assert [safe_next(v) for v in ("//evil.example", "https://evil.example", "\\\\x", "")] == [
        "/"] * 4


def test_a_sparkline_escapes_its_label_and_draws_every_point() -> None:
    """The label is text in an SVG title; the points are the values, scaled."""
    svg = str(sparkline([0, 5, 10], label="<script>"))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert len(re.search(r'points="([^"]+)"', svg).group(1).split()) == 3  # type: ignore[union-attr]
