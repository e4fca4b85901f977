"""Identity: when a record's identifiers name two different people. Inside the apply
transaction, before anything is written (docs/rules.md, "Two people behind one SSIN")."""

from __future__ import annotations

import uuid

from sync.errors import PermanentError
from sync.events import FicheUpdate
from sync.store.fiches import FicheRepository

__all__ = ["IDENTITY_CONFLICT", "PERSON_NUMBER", "check_identity"]

#: The reason of a record refused because its identifiers name two different people.
IDENTITY_CONFLICT = "identity-conflict"
#: The identifier of a person for a whole career (DOMAIN.md): a fiche holding one is not the
#: fiche of a record carrying another, whatever else they share.
PERSON_NUMBER = "NIHII-PERSON"


async def check_identity(
    repo: FicheRepository, update: FicheUpdate, fiches: list[uuid.UUID],
) -> None:
    """Refuse ``update`` when one of ``fiches`` (those its identifiers found) holds another
    NIHII person number than the record's: the same SSIN (or another shared identifier) with
    two person numbers is two people or a source error, never one fiche. The refusal names
    the numbers and the fiche, never the shared value (it may be an SSIN's hash)."""
    ours = [i for i in update.identifiers if i.type == PERSON_NUMBER]
    if not ours or len(ours) == len(update.identifiers):
        return
    owners = set(await repo.find(ours))  # in a batch, known without a query
    for fiche_id in fiches:
        if fiche_id in owners:
            continue
        theirs = sorted(i.value for i in await repo.identifiers(fiche_id)
                        if i.type == PERSON_NUMBER)
        if theirs:
            shared = sorted({i.type for i in update.identifiers if i.type != PERSON_NUMBER})
            raise PermanentError(IDENTITY_CONFLICT, (
                f"{update.source.value} record {update.record_id} ({PERSON_NUMBER} "
                f"{ours[0].value}) shares {'/'.join(shared)} with fiche {fiche_id}, which holds "
                f"{PERSON_NUMBER} {', '.join(theirs)}: not merged; correct the source record "
                "or the fiche, then replay"))
