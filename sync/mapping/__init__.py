"""Source payloads to canonical updates: one pure module per source.

Which event types each source carries, and the dispatch of an event to its mapper
(:func:`sync.sources.map_event`), are declared once per source in :mod:`sync.sources`.
"""

from __future__ import annotations

from sync.mapping.common import MappingContext

__all__ = ["MappingContext"]
