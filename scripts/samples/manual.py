"""Editors' samples: a fiche made by hand, a pin, and an edit that is refused."""

from __future__ import annotations

from typing import Any

from samples.common import cloud_event
from sync.events import derived_id

EDITOR = "urn:socialekaart:editor"
HAND_MADE = "3f2b8c1e-5a7d-4e9f-b6c2-8d1e0f4a7b93"


def manual_feed(base: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A hand-made fiche, a pinned phone on a CoBRHA fiche, and a refused edit."""
    fiche = str(derived_id("fiche", "person", "NIHII-PERSON", base[0]["subject"]))
    created = cloud_event(EDITOR, "be.socialekaart.fiche.created", "sk-edit-000001", HAND_MADE,
                          "2026-11-28T08:00:00Z", {
                              "ficheId": HAND_MADE, "kind": "organisation",
                              "editor": {"id": "u-1029", "role": "editor"},
                              "fields": {"name": {"nl": "Ontmoetingscentrum De Brug"},
                                         "contact.phone": "+3255310011",
                                         "openingHours": "ma-vr 9-12",
                                         "description": "Inloophuis voor mensen in armoede"}})
    pinned = cloud_event(EDITOR, "be.socialekaart.fiche.edited", "sk-edit-000002", fiche,
                         "2026-11-28T09:30:00Z", {
                             "ficheId": fiche, "editor": {"id": "u-1029", "role": "editor"},
                             "changes": {"contact.phone": "+3255999000"},
                             "reason": "telefonisch bevestigd", "reviewAfter": "2028-11-28"})
    refused = cloud_event(EDITOR, "be.socialekaart.fiche.edited", "sk-edit-000003", fiche,
                          "2026-11-28T09:45:00Z", {
                              "ficheId": fiche, "editor": {"id": "u-2203", "role": "provider"},
                              "changes": {"professions": [{"code": "GENERAL_PRACTITIONER"}]},
                              "reason": "ik ben huisarts, geen arts"})
    return [created, pinned, refused]  # the last one is refused: professions are CoBRHA's
