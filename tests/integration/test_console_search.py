"""Fiche search on the console: by name, NIHII, CBE, municipality or profession; never by
an SSIN's hash."""

from __future__ import annotations

import json
import uuid

import asyncpg

from sync.console.reads import search_fiches


async def a_fiche(conn: asyncpg.Connection, kind: str, visible: dict[str, object],
                  identifiers: dict[str, str]) -> uuid.UUID:
    fiche_id = uuid.uuid4()
    await conn.execute("INSERT INTO fiche (id, kind, version, visible) VALUES ($1, $2, 1, $3)",
                       fiche_id, kind, json.dumps(visible))
    for kind_of, value in identifiers.items():
        await conn.execute("INSERT INTO fiche_identifier (type, value, fiche_id) "
                           "VALUES ($1, $2, $3)", kind_of, value, fiche_id)
    return fiche_id


async def test_a_fiche_is_found_by_each_thing_an_editor_knows(pg_conn: asyncpg.Connection,
                                                              ) -> None:
    """Name (any case), NIHII, CBE written with dots, municipality and profession label."""
    person = await a_fiche(pg_conn, "person", {
        "name.first": "Mira", "name.last": "Declercq",
        "addresses": [{"street": "Kerkstraat", "postcode": "9700", "municipality": "Oudenaarde"}],
        "professions": [{"code": "NURSE", "nl": "verpleegkundige"}]},
        {"NIHII-PERSON": "18230753", "SSIN-HASH": "5f3a9c0d11"})
    organisation = await a_fiche(pg_conn, "organisation", {"name": {"nl": "AZ Oudenaarde"}},
                                 {"CBE": "0403019261"})

    async def found(text: str) -> set[uuid.UUID]:
        return {row["id"] for row in await search_fiches(pg_conn, text)}

    assert await found("declercq") == {person}
    assert await found("18230753") == {person}
    assert await found("0403.019.261") == {organisation}
    assert await found("Oudenaarde") == {person, organisation}
    assert await found("verpleegkundige") == {person}
    assert await found("5f3a9c0d11") == set()
    [row] = await search_fiches(pg_conn, "AZ Oud")
    assert row["name"] == "AZ Oudenaarde"


async def test_search_text_is_data_not_a_pattern(pg_conn: asyncpg.Connection) -> None:
    """% and _ match themselves: a search for "%" is not a search for everything."""
    await a_fiche(pg_conn, "person", {"name.last": "Peeters"}, {})
    assert await search_fiches(pg_conn, "%") == []
    assert await search_fiches(pg_conn, "_eeters") == []
