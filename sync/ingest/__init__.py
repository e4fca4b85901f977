"""Ingest paths: files from outside turned into source events (CloudEvents 1.0 dicts) handed
to a ``publish`` callback. Publishing them on Kafka is the caller's business.

- :func:`ingest_kbo_zip`: a KBO Open Data ZIP (Full or Update), mirrored in schema ``kbo``,
  gives ``be.fgov.economie.kbo.entity.upserted`` / ``.removed`` per changed enterprise.
- :func:`ingest_association_csv`: an association's full member export gives
  ``be.association.member.upserted`` / ``.removed`` per changed member.
"""

from sync.ingest.association import AssociationIngestSummary, ingest_association_csv
from sync.ingest.common import IngestError, InvalidRow, Progress, Publish
from sync.ingest.kbo import KboIngestSummary, ingest_kbo_zip, linked_in_fiche_identifier
from sync.ingest.kbo_state import ExtractOrderError
from sync.ingest.kbo_zip import KboZipError, ZipLimits

__all__ = [
    "AssociationIngestSummary",
    "ExtractOrderError",
    "IngestError",
    "InvalidRow",
    "KboIngestSummary",
    "KboZipError",
    "Progress",
    "Publish",
    "ZipLimits",
    "ingest_association_csv",
    "ingest_kbo_zip",
    "linked_in_fiche_identifier",
]
