"""Writing release directories and archives for tests."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Sequence
from pathlib import Path

from parts_catalog.release_files import SPECS

HEADERS = {spec.name: list(spec.columns) for spec in SPECS}


def write_release(folder: Path, **files: Sequence[dict[str, object]] | None) -> Path:
    """Write ``parts=[{...}], models=[...]`` as CSV files; ``None`` leaves a file out."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, rows in files.items():
        if rows is None:
            continue
        name = f"{stem}.csv"
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=HEADERS[name])
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
    return folder


def zip_release(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in folder.iterdir():
            bundle.write(path, f"release/{path.name}")
    return archive


def part(number: str, description: str = "POWER BOARD", **extra: object) -> dict[str, object]:
    return {"part_number": number, "description": description, **extra}


def model(number: str, **extra: object) -> dict[str, object]:
    return {"model_number": number, **extra}


BASE_PARTS = [
    part(
        "1-474-594-11",
        "POWER BOARD (GL2)",
        category="board",
        unit_price="84.50",
        currency="EUR",
        stock_qty="7",
        safety_critical="yes",
    ),
    part(
        "1-474-594-12",
        "POWER BOARD (GL2A)",
        category="board",
        unit_price="89.00",
        currency="EUR",
        stock_qty="3",
        safety_critical="yes",
    ),
    part("A-2072-533-A", "MAIN BOARD", category="board", unit_price="120.00", currency="EUR"),
    part("4-234-704-01", "DOOR, BATTERY", category="cabinet", unit_price="2.10", currency="EUR"),
    part("4-234-704-11", "DOOR, BATTERY", category="cabinet", unit_price="2.10", currency="EUR"),
]
BASE_MODELS = [
    model("KDL-55W800C", name="Bravia 55W800C", product_line="TV", chassis="GN2"),
    model("DSC-RX100M3", name="Cyber-shot RX100 III", product_line="Camera"),
]
BASE_FITMENTS = [
    {
        "model_number": "KDL-55W800C",
        "part_number": "1-474-594-11",
        "ref_no": "101",
        "diagram": "Main chassis",
        "quantity": "1",
    },
    {
        "model_number": "KDL-55W800C",
        "part_number": "A-2072-533-A",
        "ref_no": "102",
        "diagram": "Main chassis",
        "quantity": "1",
    },
    {
        "model_number": "DSC-RX100M3",
        "part_number": "4-234-704-01",
        "ref_no": "7",
        "diagram": "Cabinet",
    },
]
BASE_SUPERSESSIONS = [
    {
        "old_part_number": "1-474-594-11",
        "new_part_number": "1-474-594-12",
        "interchangeability": "one_way",
        "effective_on": "2024-03-01",
    },
]


def base_release(folder: Path, **overrides: Sequence[dict[str, object]] | None) -> Path:
    files: dict[str, Sequence[dict[str, object]] | None] = {
        "parts": BASE_PARTS,
        "models": BASE_MODELS,
        "fitments": BASE_FITMENTS,
        "supersessions": BASE_SUPERSESSIONS,
    }
    files.update(overrides)
    return write_release(folder, **files)
