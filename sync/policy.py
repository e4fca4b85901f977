"""The survivorship policy, loaded from ``policy.json`` (the one place the ranking lives)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from sync.events import FicheKind, Source

__all__ = ["Policy", "Rule", "default_policy"]


@dataclass(frozen=True)
class Rule:
    """How one field of one kind of fiche is decided."""

    group: str
    ranking: tuple[Source, ...]
    manual: Literal["pin", "refuse"]

    @property
    def authoritative(self) -> bool:
        return self.manual == "refuse"

    def rank(self, source: Source) -> int | None:
        """Position of ``source`` (0 is best); the directory's own values come last;
        ``None`` when the source may not set this field at all."""
        if source in self.ranking:
            return self.ranking.index(source)
        return len(self.ranking) if source is Source.MANUAL else None


@dataclass(frozen=True)
class Policy:
    """Rules by (kind, field)."""

    version: int
    rules: dict[tuple[FicheKind, str], Rule]
    #: What a provider's own correction does (``providerEdits``; docs/rules.md): ``pin``
    #: pins it like an editor's edit; ``source`` makes it the value of the ``provider``
    #: source, ranked where each group's ranking puts ``provider``.
    provider_edits: Literal["pin", "source"] = "pin"

    def provider_may_edit(self, kind: FicheKind, field: str) -> bool:
        """Whether a provider's correction of ``field`` can count under this policy."""
        rule = self.rule(kind, field)
        if rule is None or rule.authoritative:
            return False
        return self.provider_edits == "pin" or Source.PROVIDER in rule.ranking

    def rule(self, kind: FicheKind, field: str) -> Rule | None:
        return self.rules.get((kind, field))

    def fields(self, kind: FicheKind) -> list[str]:
        return sorted(field for (k, field) in self.rules if k is kind)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Policy:
        rules: dict[tuple[FicheKind, str], Rule] = {}
        for group in document["groups"]:
            rule = Rule(
                group=group["name"],
                ranking=tuple(Source(name) for name in group["ranking"]),
                manual=group["manual"],
            )
            for kind in group["kinds"]:
                for field in group["fields"]:
                    key = (FicheKind(kind), field)
                    if key in rules:
                        raise ValueError(f"policy names {kind} field {field!r} twice")
                    rules[key] = rule
        provider_edits = document.get("providerEdits", "pin")
        if provider_edits not in ("pin", "source"):
            raise ValueError(f"providerEdits is 'pin' or 'source', not {provider_edits!r}")
        return cls(version=int(document["version"]), rules=rules,
                   provider_edits="source" if provider_edits == "source" else "pin")


@cache
def default_policy() -> Policy:
    """The policy shipped with the package."""
    text = resources.files("sync").joinpath("policy.json").read_text(encoding="utf-8")
    return Policy.from_json(json.loads(text))
