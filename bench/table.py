"""Every benchmark at one scale, and one table of what they measured against the issue's targets.

    .venv/bin/python bench/table.py                      # BENCH_PARTS parts (100,000 unless set)
    .venv/bin/python bench/table.py --parts 1000000      # the catalogue's full size (much longer)
    .venv/bin/python bench/table.py --only http --figures figures.jsonl

Runs bench/catalog.py, bench/search.py and bench/http_overhead.py one after the other, each with
``--parts N --figures FILE`` (the contract in their docstrings: one JSON line a figure, with its
unit, its target, and whether lower is better), showing their own output as they go. Then prints
one table: figure | measured | target | held. A script that fails, or writes no figures, gets a
row that says so ("not measured") and the others still run: the table is for reading, not a
test, and exits 0 whatever it holds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: The scripts, in the order they run, by the name ``--only`` knows them by.
SCRIPTS = {
    "catalog": "bench/catalog.py",
    "search": "bench/search.py",
    "http": "bench/http_overhead.py",
}


def default_parts() -> int:
    return int(os.environ.get("BENCH_PARTS", "").strip() or 100_000)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parts", type=int, default=default_parts(), help="catalogue size")
    parser.add_argument("--figures", default="", help="keep the figures here (JSON lines)")
    parser.add_argument(
        "--only", default=",".join(SCRIPTS), help=f"comma-separated, of {', '.join(SCRIPTS)}"
    )
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SCRIPTS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(SCRIPTS)}")

    with tempfile.TemporaryDirectory(prefix="benchside-table-") as scratch:
        figures = Path(args.figures) if args.figures else Path(scratch) / "figures.jsonl"
        figures.parent.mkdir(parents=True, exist_ok=True)
        figures.write_text("")  # this run's figures only
        failures: list[dict[str, Any]] = []
        began = time.monotonic()
        for name in chosen:
            failure = run(SCRIPTS[name], parts=args.parts, figures=figures)
            if failure is not None:
                failures.append(failure)
        rows = read_figures(figures) + failures
        print()
        print(
            f"Benchside benchmarks at {args.parts:,} parts, "
            f"{time.monotonic() - began:.0f} s, load average {load_average()}"
        )
        print(render(rows))


def run(script: str, *, parts: int, figures: Path) -> dict[str, Any] | None:
    """Run one script; a row saying why it measured nothing, or ``None`` when it did."""
    before = len(read_figures(figures))
    print(f"\n=== {script} --parts {parts} ===", flush=True)
    env = {**os.environ, "BENCH_PARTS": str(parts)}
    command = [sys.executable, script, "--parts", str(parts), "--figures", str(figures)]
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, check=False)
    except OSError as exc:
        return not_measured(script, f"could not start: {exc}")
    if done.returncode != 0:
        return not_measured(script, f"exited with {done.returncode}")
    if len(read_figures(figures)) == before:
        return not_measured(script, "wrote no figures")
    return None


def not_measured(script: str, why: str) -> dict[str, Any]:
    return {"figure": f"{Path(script).name}: not measured ({why})", "value": None}


def read_figures(path: Path) -> list[dict[str, Any]]:
    """The figures written so far; a line that is not a JSON object is skipped (a script that
    died mid-line must not cost the others their rows)."""
    if not path.exists():
        return []
    found: list[dict[str, Any]] = []
    for line in path.read_text().splitlines():
        try:
            figure = json.loads(line)
        except ValueError:
            continue
        if isinstance(figure, dict) and "figure" in figure:
            found.append(figure)
    return found


def measured(figure: dict[str, Any]) -> str:
    value = figure.get("value")
    if not isinstance(value, int | float):
        return "not measured"
    # Three significant figures below 100 (0.051 ms is not 0.1 ms), whole numbers above.
    shown = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{shown} {figure.get('unit', '')}".strip()


def target(figure: dict[str, Any]) -> str:
    wanted = figure.get("target")
    if not isinstance(wanted, int | float):
        return "-"
    side = "<=" if figure.get("lower_is_better") else ">="
    return f"{side} {wanted:,g} {figure.get('unit', '')}".strip()


def held(figure: dict[str, Any]) -> str:
    value, wanted = figure.get("value"), figure.get("target")
    if not isinstance(wanted, int | float):
        return "-"
    if not isinstance(value, int | float):
        return "no"
    ok = value <= wanted if figure.get("lower_is_better") else value >= wanted
    return "yes" if ok else "no"


def render(rows: list[dict[str, Any]]) -> str:
    table = [("figure", "measured", "target", "held")]
    table += [(str(r["figure"]), measured(r), target(r), held(r)) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = [
        " | ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in table
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def load_average() -> str:
    try:
        return ", ".join(f"{n:.1f}" for n in os.getloadavg())
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
