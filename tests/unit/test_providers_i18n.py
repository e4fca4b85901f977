"""The provider pages' words: every text they show has its Dutch."""

from __future__ import annotations

import re
from pathlib import Path

from sync.providers import fields, signin, signin_oidc, view
from sync.providers.binding import KINDS
from sync.providers.i18n import DUTCH, translate
from sync.web.i18n import DUTCH as WEB_DUTCH

ROOT = Path(__file__).resolve().parents[2] / "sync"
LITERAL = re.compile(r"""\bt\(\s*(["'])(.+?)\1""", re.S)
FIELD_ERRORS = re.compile(r"""(?:Field|Binding)Error\(\s*((?:"[^"]*"\s*)+)\)""")


def _shown_texts() -> set[str]:
    used = {m.group(2) for path in ROOT.glob("providers/templates/*.html")
            for m in LITERAL.finditer(path.read_text(encoding="utf-8"))}
    used.discard("number:")
    used |= {f"number:{kind}" for kind in KINDS}
    used |= {item.label for item in fields.EDITABLE} | {
        item.hint for item in fields.EDITABLE if item.hint}
    used |= set(fields.KEPT_ELSEWHERE.values()) | set(view.SOURCE_LABELS.values())
    used |= set(view.LABELS.values()) | {view.ON_REQUEST, signin.SENT, signin.LIMITED,
                                         signin.LINK_GONE, signin_oidc.FAILED,
                                         signin_oidc.NO_NUMBER, "changed by you",
                                         "changed by the Sociale Kaart team"}
    for module in ("providers/fields.py", "providers/binding.py"):
        source = (ROOT / module).read_text(encoding="utf-8")
        for match in FIELD_ERRORS.finditer(source):
            text = "".join(re.findall(r'"([^"]*)"', match.group(1)))
            used.add(text.replace("{MAX_TEXT}", str(fields.MAX_TEXT)).replace(
                "{MAX_ITEMS}", str(fields.MAX_ITEMS)))
    return used


def test_every_text_the_provider_pages_show_has_its_dutch() -> None:
    """A missing Dutch text would show English on a Dutch page."""
    used = _shown_texts()
    assert len(used) > 80
    assert sorted(text for text in used if text not in DUTCH and text not in WEB_DUTCH) == []


def test_the_provider_pages_keep_the_web_layers_words() -> None:
    """Words of the shared frame still come from the web layer's Dutch."""
    assert translate("Sign out", "nl") == "Afmelden"
    assert translate("My fiches", "en") == "My fiches"
