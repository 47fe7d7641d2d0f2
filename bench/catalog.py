"""Catalogue benchmark: import, 1% delta import, resolution and part-page latency at scale.

    .venv/bin/python bench/catalog.py                     # the issue's size: 1,000,000 parts
    .venv/bin/python bench/catalog.py --scale 0.1         # a tenth, for a quick look
    .venv/bin/python bench/catalog.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

Generates a synthetic catalogue (parts, models, fitments, supersessions with chains up to 8 long,
kits and merges), imports it into a fresh database, imports a second release that changes 1% of
every file, then measures resolution in-process and through the API, and the part page. Imports
run in a child process so that its peak memory is measured alone. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from parts_catalog.release_files import FITMENTS, MODELS, PARTS, SUPERSESSIONS


def part_number(i: int) -> str:
    return f"{1 + i // 1_000_000}-{(i // 1000) % 1000:03d}-{i % 1000:03d}-{11 + (i * 7) % 80:02d}"


def model_number(i: int) -> str:
    return f"{['KDL', 'DSC', 'STR', 'HDR', 'SRS'][i % 5]}-{i:05d}X"


def generate(
    folder: Path,
    *,
    parts: int,
    models: int,
    fitments: int,
    supersessions: int,
    seed: int,
    change: float = 0.0,
) -> None:
    """Write one release; ``change`` > 0 alters that share of every file's rows."""
    rng = random.Random(seed)
    changed = random.Random(seed + 1)
    folder.mkdir(parents=True, exist_ok=True)
    descriptions = [
        "POWER BOARD",
        "MAIN BOARD",
        "LED STRIP",
        "SPEAKER",
        "LENS BLOCK ASSY",
        "WIRELESS LAN MODULE",
        "SCREW (M3X8)",
        "FFC CABLE",
        "REMOTE COMMANDER",
    ]
    with open(folder / "parts.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(PARTS.columns)
        for i in range(parts):
            price = 1 + (i * 37) % 30000 / 100
            if change and changed.random() < change:
                price += 1
            w.writerow(
                [
                    part_number(i),
                    descriptions[i % len(descriptions)],
                    "board",
                    f"{price:.2f}",
                    "EUR",
                    "nla" if i % 997 == 0 else "active",
                    i % 50,
                    "yes" if i % 113 == 0 else "no",
                ]
            )
    with open(folder / "models.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(MODELS.columns)
        for i in range(models):
            name = f"Model {i}" + (" (rev)" if change and changed.random() < change else "")
            w.writerow(
                [
                    model_number(i),
                    name,
                    ["TV", "Camera", "Audio"][i % 3],
                    f"C{i % 40}",
                    "2020-01-01",
                    "2030-12-31",
                    f"{100 + i % 900}.00",
                ]
            )
    per_model = fitments // models
    with open(folder / "fitments.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(FITMENTS.columns)
        for m in range(models):
            chosen = rng.sample(range(parts), per_model)
            for ref, p in enumerate(chosen, start=1):
                quantity = 2 if change and changed.random() < change else 1
                w.writerow(
                    [
                        model_number(m),
                        part_number(p),
                        ref,
                        f"Exploded view {1 + ref % 3}",
                        quantity,
                        "",
                        "",
                    ]
                )
    # Supersessions over disjoint ranges of the upper part of the numbers, always to a higher
    # number, so there are no cycles: chains up to 8 long, kits of 3, merges of 2.
    base = parts // 2
    rows: list[list[object]] = []
    i = base
    while len(rows) < supersessions * 0.45:
        length = 1 + (i % 8)
        rows += [[part_number(i + k), part_number(i + k + 1), 1] for k in range(length)]
        i += length + 1
    while len(rows) < supersessions * 0.60:
        rows += [[part_number(i), part_number(i + k), k] for k in (1, 2, 3)]
        i += 4
    while len(rows) < supersessions * 0.80:
        rows += [
            [part_number(i), part_number(i + 2), 1],
            [part_number(i + 1), part_number(i + 2), 1],
        ]
        i += 3
    while len(rows) < supersessions:
        rows.append([part_number(i), part_number(i + 1), 1])
        i += 2
    if i >= parts:
        raise SystemExit("not enough parts for that many supersessions")
    with open(folder / "supersessions.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(SUPERSESSIONS.columns)
        for old, new, quantity in rows[:supersessions]:
            note = "revised" if change and changed.random() < change else ""
            w.writerow([old, new, quantity, "one_way", "2025-01-01", "", "", note])


def run_import(env: dict[str, str], folder: Path, label: str) -> tuple[float, float, str]:
    """Import in a child process: (seconds, peak MiB of that process, summary line)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(
        [
            str(ROOT / ".venv/bin/flask"),
            "--app",
            "wsgi",
            "catalog",
            "import",
            str(folder),
            "--release",
            label,
            "--skip-index",  # bench/search.py measures the index
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"import failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far; the import is the largest we run.
    summary = next(line for line in done.stdout.splitlines() if line.startswith("Imported"))
    return seconds, max(peak, before) / 1024, summary


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms (n={len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--workdir", default="")
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    sizes = {
        "parts": int(1_000_000 * args.scale),
        "models": int(50_000 * args.scale),
        "fitments": int(3_000_000 * args.scale),
        "supersessions": int(200_000 * args.scale),
    }
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="benchside-bench-"))
    instance = workdir / "instance"
    shutil.rmtree(instance, ignore_errors=True)
    instance.mkdir(parents=True)
    url = args.database_url or f"sqlite:///{instance / 'bench.db'}"
    env = {
        "PATH": "/usr/bin:/bin",
        "BENCHSIDE_INSTANCE": str(instance),
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
    }
    print(f"Catalogue benchmark: {', '.join(f'{v:,} {k}' for k, v in sizes.items())}")
    print(f"Database: {url.split('@')[-1]}")

    from tests.database import drop_everything, migrate

    drop_everything(url)
    migrate(url)
    start = time.perf_counter()
    generate(workdir / "r1", **sizes, seed=1)
    generate(workdir / "r2", **sizes, seed=1, change=0.01)
    print(f"Generated two releases in {time.perf_counter() - start:.1f} s")

    seconds, peak, summary = run_import(env, workdir / "r1", "bench.1")
    print(f"Full import:      {seconds:7.1f} s, peak {peak:,.0f} MiB   ({summary})")
    seconds, _peak, summary = run_import(env, workdir / "r2", "bench.2")
    print(f"1% delta import:  {seconds:7.1f} s                ({summary})")

    import os

    os.environ.update(env)
    from app import create_app
    from app.db import get_session
    from app.roles import Role
    from parts_catalog import services
    from tests.conftest import make_test_config
    from tests.factories import PASSWORD, make_user

    config = make_test_config(url, instance)
    config.WTF_CSRF_ENABLED = False
    app = create_app(config)
    rng = random.Random(7)
    base = sizes["parts"] // 2
    numbers = [
        part_number(rng.choice([rng.randrange(sizes["parts"]), base + rng.randrange(base // 3)]))
        for _ in range(args.queries)
    ]
    with app.app_context():
        session = get_session()
        release = services.release_for(session)
        samples = []
        for number in numbers:
            t = time.perf_counter()
            services.resolve_number(session, number, release=release)
            samples.append(time.perf_counter() - t)
        print(f"Resolution, in-process:    {percentiles(samples)}")
        make_user(session, email="bench@example.com", role=Role.TECHNICIAN)
        session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.com", "password": PASSWORD})
    for label, path in (
        ("Resolution, API:        ", "/api/v1/parts/{}/resolution"),
        ("Part page (HTML):       ", "/catalog/parts/{}"),
    ):
        samples = []
        for number in numbers[: args.queries // 2]:
            t = time.perf_counter()
            response = client.get(path.format(number))
            samples.append(time.perf_counter() - t)
            if response.status_code != 200:
                raise SystemExit(f"{path.format(number)} answered {response.status_code}")
        print(f"{label}   {percentiles(samples)}")
    size = sum(p.stat().st_size for p in instance.glob("*.db*"))
    if size:
        print(f"SQLite file: {size / 2**20:,.0f} MiB")
    print(json.dumps({"workdir": str(workdir)}))


if __name__ == "__main__":
    main()
