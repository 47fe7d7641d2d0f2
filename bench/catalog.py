"""Catalogue benchmark: import, 1% delta import and resolution at scale, on SQLite and PostgreSQL.

    .venv/bin/python bench/catalog.py                          # 100,000 parts (or BENCH_PARTS)
    .venv/bin/python bench/catalog.py --parts 1000000          # the issue's size
    .venv/bin/python bench/catalog.py --figures figures.jsonl  # also append the figures there
    .venv/bin/python bench/catalog.py --imports-only --databases postgresql  # imports alone

Generates a synthetic catalogue (parts; a model per 20 parts; three fitments and a fifth of a
supersession per part, with chains up to 8 long, kits and merges), imports it into a fresh
SQLite database, imports a second release that changes 1% of every file (a full snapshot: every
row read, the unchanged ones recognised), then a delta release of that 1% only (``--delta``,
each changed row back to the first release's values), then measures
resolution in-process and through the API, and the part page. Then the same imports and the
in-process resolution on PostgreSQL (database ``bench_catalog``), when a server answers at
127.0.0.1:5432 and BENCH_POSTGRES is not "0". Imports run in a child process (``flask catalog
import``), so that its peak memory is measured alone. Prints figures; asserts nothing. With
``--figures``, appends one JSON line a figure: figure, value, unit, target (the issue's, or
null), lower_is_better, source.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import logging
import os
import random
import resource
import shutil
import socket
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
        for old, new, takes in rows[:supersessions]:
            note = "revised" if change and changed.random() < change else ""
            w.writerow([old, new, takes, "one_way", "2025-01-01", "", "", note])


def write_delta(old: Path, new: Path, out: Path) -> int:
    """A delta release from ``old`` to ``new`` (generated with one seed, so a row that did not
    change is the same line in both): each file's header and the lines of ``new`` not in
    ``old``. Returns how many rows it holds."""
    out.mkdir(parents=True, exist_ok=True)
    rows = 0
    for source in sorted(new.glob("*.csv")):
        with open(old / source.name) as f:
            before = set(f)
        with open(source) as f, open(out / source.name, "w") as target:
            target.write(next(f))
            for line in f:
                if line not in before:
                    target.write(line)
                    rows += 1
    return rows


def run_import(
    env: dict[str, str], folder: Path, label: str, *options: str
) -> tuple[float, float, str, float]:
    """Import in a child process: (seconds, peak MiB of that process, summary line, CPU
    seconds of that process: on a shared machine the steadier figure)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
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
            *options,
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
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_before
    # ru_maxrss of children is the largest child so far; the import is the largest we run.
    summary = next(line for line in done.stdout.splitlines() if line.startswith("Imported"))
    return seconds, max(peak, before) / 1024, summary, cpu


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return p50 * 1000, p99 * 1000


#: The issue's targets (issue 20), by figure; figures not named here have none.
TARGETS = {
    "resolution in-process p99 (SQLite)": 0.5,
    "full import (SQLite)": 60.0,
    "1% delta import (SQLite)": 10.0,
    "1% change as a snapshot (SQLite)": 10.0,
    "full import (PostgreSQL)": 60.0,
    "1% delta import (PostgreSQL)": 10.0,
    "1% change as a snapshot (PostgreSQL)": 10.0,
}
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_catalog"


def default_parts() -> int:
    return int(os.environ.get("BENCH_PARTS", "").strip() or 100_000)


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} cores"


def postgres_answers() -> bool:
    if os.environ.get("BENCH_POSTGRES", "").strip() == "0":
        return False
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            pass
    except OSError:
        return False
    import psycopg

    try:
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
            if c.execute("SELECT 1 FROM pg_database WHERE datname = 'bench_catalog'").fetchone():
                return True
            c.execute("CREATE DATABASE bench_catalog")
    except psycopg.Error as exc:
        print(f"PostgreSQL answers but cannot be used ({exc}); its figures are left out.")
        return False
    return True


class Figures:
    """Figures, each appended to ``path`` (when given) as soon as it is measured: a later step
    that fails does not cost the earlier ones."""

    def __init__(self, path: str) -> None:
        self.path = path

    def add(self, name: str, value: float, unit: str) -> None:
        line = {
            "figure": name,
            "value": round(value, 3 if unit == "ms" else 1),
            "unit": unit,
            "target": TARGETS.get(name),
            "lower_is_better": True,
            "source": "catalog",
        }
        if self.path:
            with open(self.path, "a") as out:
                out.write(json.dumps(line) + "\n")


def imports(url: str, instance: Path, workdir: Path, db: str, figures: Figures) -> dict[str, str]:
    """A fresh database at ``url``, the full release, the 1% one as a snapshot and then a delta
    of the same 1% (back to the first release's rows) imported; the child's env."""
    from tests.database import drop_everything, migrate

    env = {
        "PATH": "/usr/bin:/bin",
        "BENCHSIDE_INSTANCE": str(instance),
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
    }
    drop_everything(url)
    migrate(url)
    print(f"{db}: {url.split('@')[-1]}")
    seconds, peak, summary, cpu = run_import(env, workdir / "r1", "bench.1")
    print(
        f"  Full import:      {seconds:7.1f} s (CPU {cpu:.1f} s), peak {peak:,.0f} MiB, "
        f"{load()}   ({summary})"
    )
    figures.add(f"full import ({db})", seconds, "s")
    seconds, _peak, summary, cpu = run_import(env, workdir / "r2", "bench.2")
    print(f"  1% as a snapshot: {seconds:7.1f} s (CPU {cpu:.1f} s), {load()}   ({summary})")
    figures.add(f"1% change as a snapshot ({db})", seconds, "s")
    seconds, _peak, summary, cpu = run_import(env, workdir / "r3", "bench.3", "--delta")
    print(f"  1% delta import:  {seconds:7.1f} s (CPU {cpu:.1f} s), {load()}   ({summary})")
    figures.add(f"1% delta import ({db})", seconds, "s")
    return env


def resolution_in_process(url: str, numbers: list[str], db: str, figures: Figures) -> None:
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from parts_catalog import services

    engine = make_engine(url)
    with Session(engine) as session:
        release = services.release_for(session)
        for number in numbers[:100]:  # warm the caches and the compiled statements
            services.resolve_number(session, number, release=release)
        samples = []
        gc.disable()  # as timeit does: a collection's pause is not the look-up's
        try:
            for number in numbers:
                t = time.perf_counter()
                services.resolve_number(session, number, release=release)
                samples.append(time.perf_counter() - t)
        finally:
            gc.enable()
    engine.dispose()
    p50, p99 = percentiles(samples)
    print(f"  Resolution, in-process:  p50 {p50:.3f} ms, p99 {p99:.3f} ms (n={len(samples)})")
    figures.add(f"resolution in-process p50 ({db})", p50, "ms")
    figures.add(f"resolution in-process p99 ({db})", p99, "ms")


def through_the_portal(
    url: str, instance: Path, numbers: list[str], queries: int, figures: Figures
) -> None:
    """Resolution through the API and the part page, in-process through Flask's test client."""
    from app import create_app
    from app.db import get_session
    from app.roles import Role
    from tests.conftest import make_test_config
    from tests.factories import PASSWORD, make_user

    logging.disable(logging.INFO)  # the request log would print a line per request
    config = make_test_config(url, instance)
    config.WTF_CSRF_ENABLED = False
    app = create_app(config)
    with app.app_context():
        session = get_session()
        make_user(session, email="bench@example.com", role=Role.TECHNICIAN)
        session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.com", "password": PASSWORD})
    for label, name, path in (
        ("Resolution, API:  ", "resolution API", "/api/v1/parts/{}/resolution"),
        ("Part page (HTML): ", "part page", "/catalog/parts/{}"),
    ):
        samples = []
        for number in numbers[: queries // 2]:
            t = time.perf_counter()
            response = client.get(path.format(number))
            samples.append(time.perf_counter() - t)
            if response.status_code != 200:
                raise RuntimeError(f"{path.format(number)} answered {response.status_code}")
        p50, p99 = percentiles(samples)
        print(f"  {label}      p50 {p50:.2f} ms, p99 {p99:.2f} ms (n={len(samples)})")
        figures.add(f"{name} p99, test client (SQLite)", p99, "ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parts", type=int, default=default_parts(), help="catalogue size")
    parser.add_argument("--figures", default="", help="append figures here as JSON lines")
    parser.add_argument("--workdir", default="", help="keep the releases and databases here")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument(
        "--imports-only",
        action="store_true",
        help="measure the full and the 1%% delta import alone (no look-ups, no pages)",
    )
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="which of sqlite,postgresql to measure (comma-separated)",
    )
    args = parser.parse_args()
    databases = {name.strip().lower() for name in args.databases.split(",")}
    parts = args.parts
    sizes = {
        "parts": parts,
        "models": max(1, parts // 20),
        "fitments": parts * 3,
        "supersessions": parts // 5,
    }
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="benchside-bench-"))
    instance = workdir / "instance"
    shutil.rmtree(instance, ignore_errors=True)
    instance.mkdir(parents=True)
    print(f"Catalogue benchmark: {', '.join(f'{v:,} {k}' for k, v in sizes.items())}; {load()}")
    start = time.perf_counter()
    generate(workdir / "r1", **sizes, seed=1)
    generate(workdir / "r2", **sizes, seed=1, change=0.01)
    delta_rows = write_delta(workdir / "r2", workdir / "r1", workdir / "r3")
    print(
        f"Generated two releases and a delta of {delta_rows:,} rows back from the second to the"
        f" first in {time.perf_counter() - start:.1f} s"
    )
    rng = random.Random(7)
    base = parts // 2
    numbers = [
        part_number(rng.choice([rng.randrange(parts), base + rng.randrange(max(1, base // 3))]))
        for _ in range(args.queries)
    ]
    figures = Figures(args.figures)

    sqlite_url = f"sqlite:///{instance / 'bench.db'}"
    if "sqlite" in databases:
        imports(sqlite_url, instance, workdir, "SQLite", figures)
        if not args.imports_only:
            resolution_in_process(sqlite_url, numbers, "SQLite", figures)
            try:
                through_the_portal(sqlite_url, instance, numbers, args.queries, figures)
            except Exception as exc:  # a page's failure leaves the other figures standing
                print(f"  API and part page: not measured ({type(exc).__name__}: {exc})")
        size = sum(p.stat().st_size for p in instance.glob("*.db*"))
        print(f"  SQLite file: {size / 2**20:,.0f} MiB")

    if "postgresql" not in databases:
        pass
    elif postgres_answers():
        imports(POSTGRES_URL, instance, workdir, "PostgreSQL", figures)
        if not args.imports_only:
            resolution_in_process(POSTGRES_URL, numbers, "PostgreSQL", figures)
    else:
        print("PostgreSQL: no server at 127.0.0.1:5432 (or BENCH_POSTGRES=0); left out.")
    print(json.dumps({"workdir": str(workdir)}))


if __name__ == "__main__":
    main()
