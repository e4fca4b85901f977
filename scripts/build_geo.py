"""Build the packaged geography tables in sync/data/geo/ from public source files.

Usage: python scripts/build_geo.py [SOURCE_DIR] [TARGET_DIR]
(defaults: /work/shared/data/geo, and sync/data/geo in this checkout).

Inputs (see the source directory's README.md): refnis.csv (Statbel REFNIS with validity dates),
fusies-2025.csv (the mergers of 1 January 2025), zip-nis-2013.csv (place, postcode, NIS code) and
bpost-zipcodes-2013.csv (cross-check only). Outputs: municipalities.csv, successors.csv and
postcodes.csv. The script stops on anything it cannot account for, so a rerun on the same
inputs either reproduces the same bytes or fails loudly.
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sync.geo import normalize_name

# Voluntary mergers of 1 January 2019 (Flemish decrees of 2018). refnis.csv ends the old codes on
# 31/12/2018 and starts the new ones on 01/01/2019 but does not say which replaced which. Every
# section of Nevele, Merendree included, went to Deinze: there is no partial merger.
MERGERS_2019 = {
    "12030": "12041",  # Puurs -> Puurs-Sint-Amands
    "12034": "12041",  # Sint-Amands -> Puurs-Sint-Amands
    "44001": "44084",  # Aalter -> Aalter
    "44029": "44084",  # Knesselare -> Aalter
    "44011": "44083",  # Deinze -> Deinze
    "44049": "44083",  # Nevele -> Deinze
    "44036": "44085",  # Lovendegem -> Lievegem
    "44072": "44085",  # Waarschoot -> Lievegem
    "44080": "44085",  # Zomergem -> Lievegem
    "45017": "45068",  # Kruishoutem -> Kruisem
    "45057": "45068",  # Zingem -> Kruisem
    "71047": "72042",  # Opglabbeek -> Oudsbergen
    "72040": "72042",  # Meeuwen-Gruitrode -> Oudsbergen
    "72025": "72043",  # Neerpelt -> Pelt
    "72029": "72043",  # Overpelt -> Pelt
}
# zip-nis-2013.csv joined places to municipalities by name and got some wrong. The rows below
# are the ones neither the province nor the other places of the same postcode settle; each code
# was checked by hand (place name, postcode, province, refnis.csv).
PLACE_FIXES = {
    ("9300", "Aalst"): "41002",  # Aalst, not Sint-Truiden
    ("2000", "Antwerpen"): "11002",
    ("2018", "Antwerpen"): "11002",
    ("2020", "Antwerpen"): "11002",
    ("2030", "Antwerpen"): "11002",
    ("2050", "Antwerpen"): "11002",
    ("2060", "Antwerpen"): "11002",
    ("7811", "Arbre"): "51004",  # Ath, not Profondeville
    ("2600", "Berchem"): "11002",  # district of Antwerpen
    ("8791", "Beveren"): "34040",  # Beveren-Leie, Waregem
    ("5561", "Celles"): "91072",  # Houyet
    ("9042", "Desteldonk"): "44021",  # Gent; 44014 is not a NIS code
    ("9042", "Mendonk"): "44021",
    ("9042", "Sint-Kruis-Winkel"): "44021",
    ("2100", "Deurne"): "11002",  # district of Antwerpen, not Diest
    ("1500", "Halle"): "23027",
    ("1130", "Haren"): "21004",
    ("1981", "Hofstade"): "23096",  # Zemst, not Aalst
    ("2950", "Kapellen"): "11023",  # Kapellen (Antwerpen), not Glabbeek
    ("3381", "Kapellen"): "24137",  # Glabbeek
    ("6688", "Longchamps"): "82005",  # Bertogne
    ("4141", "Louveigné"): "62100",  # Sprimont
    ("1830", "Machelen"): "23047",  # Machelen (Halle-Vilvoorde), not Zulte
    ("2812", "Muizen"): "12025",  # Mechelen, not Gingelom
    ("1601", "Ruisbroek"): "23077",  # Sint-Pieters-Leeuw
    ("4672", "Saint-Remy"): "62119",  # Blegny
    ("1541", "Sint-Pieters-Kapelle"): "23032",  # Herne, not Middelkerke
    ("1190", "Vorst"): "21007",
    ("5380", "Hemptinne"): "92138",  # Fernelmont, not Florennes
    ("9500", "Moerbeke"): "41018",  # Geraardsbergen, not Moerbeke (Gent)
}
PROVINCES = {  # province column of zip-nis-2013.csv -> REFNIS code of the province
    "Antwerpen": "10000", "Vlaams-Brabant": "20001", "Waals-Brabant": "20002",
    "West-Vlaanderen": "30000", "Oost-Vlaanderen": "40000", "Henegouwen": "50000",
    "Luik": "60000", "Limburg": "70000", "Luxemburg": "80000", "Namen": "90000",
    "Brussel": "04000",
}  # fmt: skip
LAST_2018, FIRST_2019 = date(2018, 12, 31), date(2019, 1, 1)
LAST_2024, FIRST_2025 = date(2024, 12, 31), date(2025, 1, 1)
FOREVER = date(9999, 12, 31)
Row = dict[str, str]
Output = dict[str, Any]  # an output row; municipality rows hold dates until they are written


class BuildError(Exception):
    """The inputs hold something this script cannot account for."""


def require(condition: object, message: str) -> None:
    """Stop the build (asserts would vanish under python -O)."""
    if not condition:
        raise BuildError(message)


def read(path: Path, delimiter: str = ",") -> list[Row]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = csv.DictReader(handle, delimiter=delimiter)
        return [{k.strip(): v.strip() for k, v in row.items()} for row in rows]


def day(text: str) -> date:
    dd, mm, yyyy = text.split("/")
    return date(int(yyyy), int(mm), int(dd))


def load_refnis(source: Path) -> tuple[dict[str, Row], list[Row]]:
    """Municipalities valid on 31/12/2018 or later (one row per code), and all REFNIS rows."""
    rows = read(source / "refnis.csv")
    kept = [r for r in rows if r["LVL_REFNIS"] == "4" and day(r["DT_VLDT_END"]) >= LAST_2018]
    require(len({r["CD_REFNIS"] for r in kept}) == len(kept), "one REFNIS row per kept code")
    return {r["CD_REFNIS"]: r for r in kept}, rows


def successors_2019(refnis: dict[str, Row]) -> dict[str, str]:
    """The curated mergers plus renumberings (same names, new code: Hainaut, 2019)."""
    ended = {c for c, r in refnis.items() if day(r["DT_VLDT_END"]) == LAST_2018}
    started = {c for c, r in refnis.items() if day(r["DT_VLDT_START"]) == FIRST_2019}
    names = {c: (r["TX_REFNIS_NL"], r["TX_REFNIS_FR"]) for c, r in refnis.items()}
    result = dict(MERGERS_2019)
    for code in sorted(ended - MERGERS_2019.keys()):
        same = [c for c in started if names[c] == names[code]]
        require(len(same) == 1, f"no single successor for {code}")
        result[code] = same[0]
    require(result.keys() == ended, "every code ended in 2018 has a successor")
    require(set(result.values()) == started, "every code started in 2019 has a predecessor")
    return result


Merger = tuple[list[tuple[str, str]], str, str]


def parse_mergers_2025(source: Path) -> list[Merger]:
    """[(old (name, code) pairs, new name, new code)] from fusies-2025.csv."""
    named = re.compile(r"\s*(.+?)\s*(?:\(voorlopige naam\))?\s*\((\d{5})\)\s*")
    mergers: list[Merger] = []
    for line in (source / "fusies-2025.csv").read_text(encoding="utf-8").splitlines()[1:]:
        old, new = line.split(",\t")
        parts = [named.fullmatch(part) for part in old.split(" + ")]
        target = named.fullmatch(new)
        if target is None or None in parts:
            raise BuildError(f"unreadable merger line {line!r}")
        old_pairs = [(m.group(1), m.group(2)) for m in parts if m]
        mergers.append((old_pairs, target.group(1), target.group(2)))
    return mergers


def municipality_rows(refnis: dict[str, Row], mergers_2025: list[Merger]) -> list[Output]:
    """Output rows: REFNIS municipalities with the 2025 mergers applied."""
    rows: dict[str, Output] = {
        code: {"nis": code, "name_nl": r["TX_REFNIS_NL"], "name_fr": r["TX_REFNIS_FR"],
               "name_de": r["TX_REFNIS_DE"], "valid_from": day(r["DT_VLDT_START"]),
               "valid_to": day(r["DT_VLDT_END"])}
        for code, r in refnis.items()
    }  # fmt: skip
    for old, new_name, new_code in mergers_2025:
        for _, code in old:
            require(rows[code]["valid_to"] == FOREVER, f"{code} must be current before 2025")
            if code != new_code:
                rows[code]["valid_to"] = LAST_2024
        namesake = [rows[c] for _, c in old if new_name in (rows[c]["name_nl"], rows[c]["name_fr"])]
        if new_code in rows:  # Antwerpen absorbed Borsbeek and kept its code
            continue
        names = namesake[0] if namesake else {"name_nl": new_name, "name_fr": "", "name_de": ""}
        rows[new_code] = {**names, "nis": new_code, "valid_from": FIRST_2025, "valid_to": FOREVER}
    return [rows[code] for code in sorted(rows)]


def strip_redundant_qualifiers(rows: list[Output]) -> None:
    """'Aalst (Aalst)' -> 'Aalst' unless another municipality of the same period shares the name."""
    for column in ("name_nl", "name_fr", "name_de"):
        groups: defaultdict[str, list[Output]] = defaultdict(list)
        for row in rows:
            groups[re.sub(r"\s*\([^)]*\)", "", row[column])].append(row)
        for base, group in groups.items():
            for row in group:
                clash = [o for o in group if o is not row and overlaps(o, row)]
                if not clash and row[column]:
                    row[column] = base


def overlaps(a: Output, b: Output) -> bool:
    return bool(a["valid_from"] <= b["valid_to"] and b["valid_from"] <= a["valid_to"])


def province_of(code: str, parents: dict[str, str]) -> str:
    """The province of a municipality (the region, for Brussels) from its REFNIS parents."""
    return parents[parents[code]]


def place_rows(source: Path, refnis_rows: list[Row]) -> list[Row]:
    """zip-nis-2013.csv with its NIS codes checked against REFNIS and corrected."""
    on = date(2013, 1, 1)
    live = [r for r in refnis_rows if day(r["DT_VLDT_START"]) <= on <= day(r["DT_VLDT_END"])]
    valid = {r["CD_REFNIS"] for r in live if r["LVL_REFNIS"] == "4"}
    parents = {r["CD_REFNIS"]: r["CD_SUP_REFNIS"] for r in live}
    rows = read(source / "zip-nis-2013.csv")
    repeated = Counter(r["name"].casefold() for r in rows)

    def trusted(row: Row) -> bool:
        code = row["nisCode"]
        return (code in valid and repeated[row["name"].casefold()] == 1
                and province_of(code, parents) == PROVINCES[row["province"]]
                and (row["zipCode"], row["name"]) not in PLACE_FIXES)  # fmt: skip

    by_postcode: defaultdict[str, set[str]] = defaultdict(set)
    for row in filter(trusted, rows):
        by_postcode[row["zipCode"]].add(row["nisCode"])
    output: list[Row] = []
    for row in rows:
        key = (row["zipCode"], row["name"])
        siblings = sorted(by_postcode[row["zipCode"]])
        fallback = siblings[0] if len(siblings) == 1 else ""
        code = PLACE_FIXES.get(key) or (row["nisCode"] if trusted(row) else fallback)
        require(code in valid, f"cannot place {key}: add it to PLACE_FIXES")
        require(province_of(code, parents) == PROVINCES[row["province"]], f"province of {key}")
        output.append({"postcode": key[0], "place": key[1], "nis": code, "main": row["main"]})
    stale = PLACE_FIXES.keys() - {(r["postcode"], r["place"]) for r in output}
    require(not stale, f"PLACE_FIXES for rows that no longer exist: {stale}")
    return sorted(output, key=lambda r: (r["postcode"], normalize_name(r["place"]), r["place"]))


def check_places(places: list[Row], source: Path) -> None:
    """Each postcode lies in one municipality (2013) and every place is known to bpost."""
    codes: defaultdict[str, set[str]] = defaultdict(set)
    for row in places:
        codes[row["postcode"]].add(row["nis"])
    shared = {pc: c for pc, c in codes.items() if len(c) > 1}
    require(not shared, f"postcodes over several municipalities in 2013: {shared}")
    bpost_rows = read(source / "bpost-zipcodes-2013.csv", delimiter=";")
    bpost = {(r["Postcode"], normalize_name(r["Plaatsnaam"])) for r in bpost_rows}
    spelling = {("1210", "st joost ten node"), ("3010", "kessel lo"), ("6831", "noirefontaine")}
    missing = {(r["postcode"], normalize_name(r["place"])) for r in places} - bpost - spelling
    require(not missing, f"places unknown to bpost: {sorted(missing)}")


def check_counts(rows: list[Output]) -> None:
    """581 municipalities in 2019-2024 (300 Flemish), 565 from 2025 (285), 589 before 2019."""

    def count(on: date, flemish: bool = False) -> int:
        live = [r["nis"] for r in rows if r["valid_from"] <= on <= r["valid_to"]]
        return sum(1 for c in live if not flemish or c[0] in "1347" or c[:2] in ("23", "24"))

    days = (LAST_2018, FIRST_2019, FIRST_2025)
    require([count(d) for d in days] == [589, 581, 565], "589, 581, 565 municipalities")
    require([count(d, True) for d in days] == [308, 300, 285], "308, 300, 285 Flemish ones")


def write(path: Path, fields: list[str], rows: Sequence[Mapping[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fields, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def iso(value: date, open_ended: bool = False) -> str:
    return "" if open_ended and value == FOREVER else value.isoformat()


def main(source: Path, target: Path) -> None:
    refnis, refnis_rows = load_refnis(source)
    mergers_2025 = parse_mergers_2025(source)
    municipalities = municipality_rows(refnis, mergers_2025)
    check_counts(municipalities)
    strip_redundant_qualifiers(municipalities)
    successors = [
        {"old_nis": old, "new_nis": new, "effective": FIRST_2019.isoformat(),
         "kind": "merger" if old in MERGERS_2019 else "renumbered"}
        for old, new in successors_2019(refnis).items()
    ] + [
        {"old_nis": code, "new_nis": new, "effective": FIRST_2025.isoformat(), "kind": "merger"}
        for old, _, new in mergers_2025 for _, code in old if code != new
    ]  # fmt: skip
    places = place_rows(source, refnis_rows)
    check_places(places, source)
    for row in municipalities:
        row["valid_from"], row["valid_to"] = iso(row["valid_from"]), iso(row["valid_to"], True)
    target.mkdir(parents=True, exist_ok=True)
    columns = ["nis", "name_nl", "name_fr", "name_de", "valid_from", "valid_to"]
    write(target / "municipalities.csv", columns, municipalities)
    successors.sort(key=lambda r: r["old_nis"])
    write(target / "successors.csv", ["old_nis", "new_nis", "effective", "kind"], successors)
    write(target / "postcodes.csv", ["postcode", "place", "nis", "main"], places)
    print(f"{len(municipalities)} municipalities, {len(successors)} successions,", end=" ")
    print(f"{len(places)} places -> {target}")


if __name__ == "__main__":
    here = Path(__file__).resolve().parent.parent
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data/geo"),
         Path(sys.argv[2]) if len(sys.argv) > 2 else here / "sync" / "data" / "geo")  # fmt: skip
