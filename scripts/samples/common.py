"""What the sample feeds share: places, streets, check digits, the CloudEvent envelope."""

from __future__ import annotations

import random
from typing import Any

PLACES = [("9700", "Oudenaarde", "Audenarde"), ("9690", "Kluisbergen", None),
          ("9630", "Zwalm", None), ("9000", "Gent", "Gand"), ("9600", "Ronse", "Renaix"),
          ("9660", "Brakel", None), ("9300", "Aalst", "Alost"), ("9790", "Wortegem-Petegem", None)]
STREETS = ["Kerkstraat", "Stationsstraat", "Markt", "Nieuwstraat", "Dorpsstraat", "Molenstraat"]


def nihii(rng: random.Random, first: str) -> str:
    """An 11-digit NIHII number whose digits 7-8 satisfy the mod-97 check."""
    head = first + "".join(rng.choice("0123456789") for _ in range(5))
    check = 97 - int(head) % 97
    return f"{head}{check:02d}" + "".join(rng.choice("0123456789") for _ in range(3))


def ssin(rng: random.Random) -> str:
    """A valid SSIN for a birth date between 1960 and 1995."""
    yy, mm, dd = rng.randint(60, 95), rng.randint(1, 12), rng.randint(1, 28)
    first9 = f"{yy:02d}{mm:02d}{dd:02d}{rng.randint(1, 997):03d}"
    return f"{first9}{97 - int(first9) % 97:02d}"


def cloud_event(source: str, kind: str, id_: str, subject: str, time: str,
                data: dict[str, Any]) -> dict[str, Any]:
    return {"specversion": "1.0", "id": id_, "source": source, "type": kind, "time": time,
            "subject": subject, "datacontenttype": "application/json", "data": data}


def cbe(body: str) -> str:
    """A KBO number (enterprise or establishment) from its first 8 digits: mod-97 check."""
    return f"{body}{97 - int(body) % 97:02d}"
