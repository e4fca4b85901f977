"""JSON Schemas of every message (inbound, canonical, downstream) and the AsyncAPI document.

Generated from the pydantic models and the FastStream app; ``sksync schemas`` writes them
under ``schemas/`` and the test suite fails when the committed files drift from the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sync.cloudevents import CloudEvent
from sync.events import (
    FicheEventData,
    FicheLinkedData,
    FicheUnlinkedData,
    FicheUpdate,
    NotificationData,
)
from sync.mapping import association, cobrha_organisation, cobrha_professional, manual, matches
from sync.mapping.kbo_model import KboEntityData, KboEntityRemovedData

__all__ = ["MODELS", "generate", "write"]

#: File stem -> model whose JSON Schema describes it (``data`` of the inbound CloudEvents).
MODELS: dict[str, type[BaseModel]] = {
    "cloudevent": CloudEvent,
    "inbound/cobrha-professional-upserted": cobrha_professional.Professional,
    "inbound/cobrha-professional-removed": cobrha_professional.ProfessionalRemoved,
    "inbound/cobrha-organisation-upserted": cobrha_organisation.Organisation,
    "inbound/cobrha-organisation-removed": cobrha_organisation.OrganisationRemoved,
    "inbound/kbo-entity-upserted": KboEntityData,
    "inbound/kbo-entity-removed": KboEntityRemovedData,
    "inbound/association-member-upserted": association.Member,
    "inbound/association-member-removed": association.MemberKey,
    "inbound/manual-fiche-edited": manual.FicheEdited,
    "inbound/manual-fiche-created": manual.FicheCreated,
    "inbound/manual-conflict-resolved": manual.ConflictResolved,
    "inbound/manual-fiche-verified": manual.FicheVerified,
    "inbound/manual-match-decided": matches.MatchDecided,
    "inbound/manual-fiche-split": matches.FicheSplit,
    "canonical/fiche-update": FicheUpdate,
    "downstream/fiche-linked-data": FicheLinkedData,
    "downstream/fiche-unlinked-data": FicheUnlinkedData,
    "downstream/fiche-event-data": FicheEventData,
    "downstream/notification-data": NotificationData,
}


def _dump(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the app, from FastStream (default topic names)."""
    from faststream.specification import AsyncAPI

    from sync.app import Stages, build_broker
    from sync.settings import Settings

    broker = build_broker(Settings.model_construct(), Stages())  # defaults, not the environment
    spec = AsyncAPI(broker, title="sociale-kaart-sync", version="1",
                    description="Keeps the Sociale Kaart in sync with its authentic sources.")
    document: dict[str, Any] = spec.to_specification().to_jsonable()
    return document


def generate() -> dict[str, str]:
    """Relative path under ``schemas/`` -> file content."""
    files = {f"json/{stem}.schema.json": _dump(model.model_json_schema(by_alias=True))
             for stem, model in MODELS.items()}
    files["asyncapi.json"] = _dump(asyncapi())
    return files


def write(root: Path) -> list[str]:
    """Write every generated file under ``root``; returns the paths that changed."""
    changed = []
    for relative, content in generate().items():
        path = root / relative
        if path.exists() and path.read_text(encoding="utf-8") == content:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        changed.append(relative)
    return changed
