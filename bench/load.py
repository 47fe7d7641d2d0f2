"""The portal under a mixed load, served as in production: gunicorn with gunicorn.conf.py.

    .venv/bin/python bench/load.py                       # PostgreSQL database bench_load, 60 s
    .venv/bin/python bench/load.py --seconds 30 --users 40 --workers 3 --threads 4
    .venv/bin/python bench/load.py --sqlite               # a SQLite file instead

Makes a throwaway instance (a temporary folder; the PostgreSQL database is dropped and created
again), migrates it and loads the demo data with the same commands an operator runs, adds
technicians at three service centres (each with a password and an API token) and two agents,
starts gunicorn on a free port of 127.0.0.1 serving the portal and a bare Flask app at
``/__hello`` (bench/load_wsgi.py), and runs locust headless on bench/locustfile.py: technicians
on the pages, workshop systems on the API, agents on the queue. Prints a line per endpoint
(requests, failures, requests/s, p50/p95/p99 in ms), what failed and what the server logged,
and the gunicorn settings used; then stops gunicorn and removes the instance and the database
(``--keep`` keeps both, with the logs). Asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_load"
# The test suite empties these; a load run must never point at them.
FORBIDDEN_DATABASES = {"test", "postgres", "template0", "template1"}
TECHNICIAN_PASSWORD = "load-test-technician"
AGENT_PASSWORD = "load-test-agent-pass"
SETTINGS = (
    "bind",
    "workers",
    "worker_class",
    "threads",
    "timeout",
    "graceful_timeout",
    "keepalive",
    "max_requests",
    "max_requests_jitter",
    "preload_app",
    "forwarded_allow_ips",
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=60, help="length of the load (60)")
    parser.add_argument("--users", type=int, default=30, help="simulated people (30)")
    parser.add_argument("--spawn-rate", type=float, default=0.0, help="users/s (all in 5 s)")
    parser.add_argument("--database-url", default="", help=f"default {DEFAULT_DATABASE}")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file in the instance")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY (gunicorn.conf.py's default)")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS (gunicorn.conf.py's)")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder and logs")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="benchside-load-"))
    url = f"sqlite:///{workdir / 'benchside.db'}" if args.sqlite else args.database_url
    url = url or DEFAULT_DATABASE
    env = {
        **os.environ,
        "BENCHSIDE_INSTANCE": str(workdir / "instance"),
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        # The development settings class: production's differ only in Secure cookies and HSTS,
        # and Secure cookies would not travel over plain HTTP to 127.0.0.1.
        "BENCHSIDE_ENV": "development",
        "BASE_URL": "http://127.0.0.1",
        "GUNICORN_ACCESS_LOG": "-",  # read back for the in-server figures
        "PYTHONUNBUFFERED": "1",
    }
    for name, value in (("WEB_CONCURRENCY", args.workers), ("GUNICORN_THREADS", args.threads)):
        if value:
            env[name] = str(value)
    os.environ.update(env)  # the app's settings are read when config.py is first imported
    server: subprocess.Popen[bytes] | None = None
    started = time.monotonic()
    try:
        step("database", lambda: fresh_database(url))
        step("db upgrade", lambda: flask("db", "upgrade"))
        step("demo load", lambda: flask("demo", "load"))
        plan = step("accounts and plan", lambda: make_plan(args.users))
        plan_file = workdir / "plan.json"
        plan_file.write_text(json.dumps(plan))
        port = free_port()
        env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
        settings = gunicorn_settings(env)
        server = step("gunicorn", lambda: start_gunicorn(env, workdir, port))
        rate = args.spawn_rate or max(args.users / 5, 1.0)
        step(
            f"locust: {args.users} users for {args.seconds} s",
            lambda: run_locust(env, workdir, plan_file, port, args.users, rate, args.seconds),
        )
        settings["memory"] = worker_memory(server.pid)
        stop(server)
        server = None
        report(workdir, settings, url, args, ramp=args.users / rate)
    finally:
        if server is not None:
            stop(server)
        if args.keep:
            print(f"Kept {workdir} and the database.")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            fresh_database(url, create=False)
        print(f"Done in {time.monotonic() - started:.0f} s.")


def step(title: str, action: Any) -> Any:
    print(f"- {title}...", end=" ", flush=True)
    began = time.monotonic()
    result = action()
    print(f"{time.monotonic() - began:.1f} s", flush=True)
    return result


def fresh_database(url: str, *, create: bool = True) -> None:
    """Drop the PostgreSQL database named in ``url`` and create it again (or not); nothing to do
    for SQLite, whose file lives in the instance folder."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if target.get_backend_name() != "postgresql":
        return
    tests = os.environ.get("TEST_DATABASE_URL", "")
    if target.database in FORBIDDEN_DATABASES or (
        tests and make_url(tests).database == target.database
    ):
        raise SystemExit(f"Refusing to empty database {target.database!r}: choose another.")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def flask(*command: str) -> None:
    """``flask --app wsgi ...``, as the README has operators do."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


def make_plan(users: int) -> dict[str, Any]:
    """Create the accounts and choose the numbers, models and trees the users will ask for."""
    sys.path.insert(0, str(ROOT))
    from fnmatch import fnmatch

    from sqlalchemy import select

    from app import create_app
    from app.auth import services as accounts
    from app.auth.models import ServiceCentre
    from app.db import session_factory
    from app.orders import services as orders
    from app.roles import Role
    from diagnostics.models import PUBLISHED, TreeRevision
    from parts_catalog import services as catalog
    from parts_catalog.models import ModelVersion, PartVersion, SupersessionVersion

    rng = random.Random(2026)
    app = create_app()
    with app.app_context(), session_factory().begin() as session:
        centres = [ServiceCentre(name=f"Load Test Centre {n}") for n in (1, 2, 3)]
        session.add_all(centres)
        # One account per simulated person, whichever kind it turns out to be.
        technicians = []
        for n in range(max(users, 1)):
            email = f"load-tech-{n}@benchside.example"
            user = accounts.create_user(
                session,
                email=email,
                name=f"Load Technician {n}",
                role=Role.TECHNICIAN,
                password=TECHNICIAN_PASSWORD,
                centre=centres[n % len(centres)],
            )
            token = accounts.issue_api_token(session, user)
            technicians.append({"email": email, "password": TECHNICIAN_PASSWORD, "token": token})
        agents = []
        for n in range(2):
            email = f"load-agent-{n}@benchside.example"
            accounts.create_user(
                session,
                email=email,
                name=f"Load Agent {n}",
                role=Role.AGENT_TIER1,
                password=AGENT_PASSWORD,
            )
            agents.append({"email": email, "password": AGENT_PASSWORD})

        release = catalog.latest_release(session)
        if release is None:
            raise SystemExit("`demo load` made no catalogue release.")
        now = PartVersion.as_of(release.id)
        parts = session.execute(
            select(PartVersion.number, PartVersion.number_norm, PartVersion.description).where(now)
        ).all()
        spelled = {p.number_norm: p.number for p in parts}
        old = sorted(
            set(
                session.scalars(
                    select(SupersessionVersion.old_norm).where(
                        SupersessionVersion.as_of(release.id)
                    )
                )
            )
        )
        superseded = [spelled.get(n, n) for n in old]
        current = rng.sample(sorted(p.number for p in parts if p.number_norm not in old), 200)
        models = sorted(
            session.scalars(select(ModelVersion.number).where(ModelVersion.as_of(release.id)))
        )
        checked = orders.check(session, [orders.Asked(n, 1) for n in current[:120]])
        orderable = [c.asked.number for c in checked if c.orderable]

        descriptions = sorted({re.sub(r"\s*\(.*?\)", "", p.description).lower() for p in parts})
        words = rng.sample(descriptions, min(40, len(descriptions)))
        words += [typo(rng, w) for w in rng.sample(words, 10)]
        words += [m.lower().replace("-", "") for m in rng.sample(models, 6)]
        words += ["no picture", "red led blinks", "no sound", "lens error", "protect", "bluetooth"]

        walks = []
        revisions = session.scalars(select(TreeRevision).where(TreeRevision.status == PUBLISHED))
        for revision in revisions:
            patterns = revision.document.get("models", [])
            fitting = [m for m in models if any(fnmatch(m, p) for p in patterns)]
            codes = [c.code for c in revision.codes] or [None]
            for model in fitting:
                for code in codes:
                    if code and revision.document.get("chassis"):
                        facts = catalog.get_model(session, model, release=release)
                        if facts.chassis not in revision.document["chassis"]:
                            continue
                    walks.append({"tree": revision.tree_id, "code": code, "model": model})
    return {
        "technicians": technicians,
        "agents": agents,
        "current": current,
        "superseded": superseded,
        "unknown": [f"9-{rng.randint(100, 999)}-{rng.randint(100, 999)}-11" for _ in range(20)],
        "orderable": orderable,
        "models": models,
        "words": words,
        "walks": walks,
        "subjects": [
            "Power board fails again after replacement",
            "Blink code not in the service manual",
            "Part arrived damaged",
            "Warranty claim refused by the system",
        ],
    }


def typo(rng: random.Random, text: str) -> str:
    """The text with one letter dropped, as typed in a hurry."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if len(letters) < 5:
        return text
    i = rng.choice(letters[1:])
    return text[:i] + text[i + 1 :]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def gunicorn_settings(env: dict[str, str]) -> dict[str, str]:
    """The settings gunicorn.conf.py gives under this environment, as gunicorn reads them."""
    done = subprocess.run(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--print-config", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    found = {}
    for text in done.stdout.splitlines():
        name, _, value = text.partition("=")
        if name.strip() in SETTINGS:
            found[name.strip()] = value.strip()
    return found


def start_gunicorn(env: dict[str, str], workdir: Path, port: int) -> subprocess.Popen[bytes]:
    with open(workdir / "access.log", "wb") as out, open(workdir / "error.log", "wb") as err:
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "-c",
                "gunicorn.conf.py",
                # Gunicorn's control socket is one path per user: a second gunicorn takes it
                # over, and removes it on exit, from under a gunicorn already running.
                "--no-control-socket",
                "--pythonpath",
                "bench",
                "load_wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{(workdir / 'error.log').read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    stop(server)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def run_locust(
    env: dict[str, str],
    workdir: Path,
    plan_file: Path,
    port: int,
    users: int,
    rate: float,
    seconds: int,
) -> None:
    done = subprocess.run(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(rate),
            "--run-time",
            f"{seconds}s",
            "--stop-timeout",
            "10",
            "--host",
            f"http://127.0.0.1:{port}",
            "--csv",
            str(workdir / "locust"),
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--exit-code-on-error",
            "0",
        ],
        cwd=ROOT,
        env={
            **env,
            "BENCH_LOAD_PLAN": str(plan_file),
            "BENCH_LOAD_RECORD": str(workdir / "requests.jsonl"),
        },
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    (workdir / "locust.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"locust failed ({done.returncode}):\n{done.stderr[-3000:]}")


def worker_memory(master: int) -> str:
    """Resident memory of gunicorn's workers after the load, from /proc (Linux only)."""
    sizes = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != master:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        if found:
            sizes.append(int(found.group(1)) / 1024)
    if not sizes:
        return "unknown"
    return f"{sum(sizes):.0f} MiB in {len(sizes)} workers (largest {max(sizes):.0f} MiB)"


def stop(server: subprocess.Popen[bytes]) -> None:
    """TERM (gunicorn's graceful stop), then KILL if it has not gone within its timeout."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def report(
    workdir: Path, settings: dict[str, str], url: str, args: argparse.Namespace, *, ramp: float
) -> None:
    sent = read_requests(workdir / "requests.jsonl")
    served, statuses, server_errors = read_access_log(workdir / "access.log")
    where = "SQLite" if url.startswith("sqlite") else "PostgreSQL " + url.rsplit("@", 1)[-1]
    began = min(at for at, _, _, _ in sent) if sent else 0.0
    ended = max(at + ms / 1000 for at, _, ms, _ in sent) if sent else 1.0
    length = max(ended - began, 1.0)
    by_name: dict[str, list[tuple[float, bool]]] = {}
    for _, name, ms, failed in sent:
        by_name.setdefault(name, []).append((ms, failed))

    print()
    print(f"{args.users} users for {args.seconds} s against {where}")
    header = f"{'endpoint':46} {'requests':>8} {'fails':>5} {'req/s':>6} "
    header += f"{'p50':>6} {'p95':>6} {'p99':>6} | {'srv p50':>7} {'srv p99':>7}"
    print(header)
    print("-" * len(header))
    for name in sorted(by_name):
        print(line(name, by_name[name], length, served.get(name, [])))
    print("-" * len(header))
    everything = [r for rows in by_name.values() for r in rows]
    print(line("total", everything, length, [d for ds in served.values() for d in ds]))
    # The first seconds hold every sign-in (Argon2: slow by design) and each worker's first
    # search (opening the index); the steady state is what people get the rest of the day.
    warm = began + ramp + 5
    steady = [(ms, failed) for at, _, ms, failed in sent if at >= warm]
    if steady:
        print(line(f"total after the first {ramp + 5:.0f} s", steady, ended - warm, []))
    print(
        "ms; p50-p99 as locust saw them (the client's view, from 127.0.0.1, including any wait "
        "for a free worker thread); srv: inside gunicorn, from its access log"
    )

    failures = workdir / "locust_failures.csv"
    if failures.exists():
        with open(failures, newline="") as handle:
            failed_rows = sorted(csv.DictReader(handle), key=lambda r: -int(r["Occurrences"]))
        if failed_rows:
            print("\nFailures (locust):")
            for row in failed_rows[:15]:
                error = " ".join(row["Error"].split())[:150]
                print(f"  {row['Occurrences']:>5} x {row['Method']} {row['Name']}: {error}")

    print("\nAccess log: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    for problem, count in server_errors.most_common(10):
        print(f"  {count:>5} x {problem}")
    logged = (workdir / "error.log").read_text(errors="replace").splitlines()
    problems = Counter(
        m.group(0)
        for text in logged
        if (m := re.search(r"(Exception on \S+ \[\w+\]|WORKER TIMEOUT.*|\w+Error: .{0,120})", text))
    )
    if problems:
        print("Error log:")
        for problem, count in problems.most_common(12):
            print(f"  {count:>5} x {problem}")
    booted = sum("Booting worker" in text for text in logged)
    print("\ngunicorn.conf.py, as gunicorn read it:")
    for name in SETTINGS:
        if name in settings:
            print(f"  {name:20} {settings[name]}")
    print(f"  worker processes booted (the first ones included): {booted}")
    print(f"  worker memory after the load: {settings.get('memory', 'unknown')}")


def read_requests(path: Path) -> list[tuple[float, str, float, bool]]:
    """What locustfile.py recorded: (started, name, milliseconds, failed) per request."""
    if not path.exists():
        return []
    rows = []
    for text in path.read_text().splitlines():
        at, name, ms, failed = json.loads(text)
        rows.append((float(at), str(name), float(ms or 0), bool(failed)))
    return rows


def read_access_log(
    path: Path,
) -> tuple[dict[str, list[float]], Counter[str], Counter[str]]:
    """Durations (ms) by request name (locust's, sent as the User-Agent), status classes, and
    the 5xx answers by method and path."""
    served: dict[str, list[float]] = {}
    statuses: Counter[str] = Counter()
    server_errors: Counter[str] = Counter()
    for text in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(text)
        except json.JSONDecodeError:
            continue
        status = str(entry.get("status"))
        statuses[status[0] + "xx"] += 1
        if status.startswith("5"):
            server_errors[f"{status} {entry.get('method')} {entry.get('path')}"] += 1
        agent = str(entry.get("user_agent", ""))
        if agent.startswith("bench/load "):
            ms = int(entry.get("duration_us", 0)) / 1000
            served.setdefault(agent.removeprefix("bench/load "), []).append(ms)
    return served, statuses, server_errors


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def line(name: str, sent: list[tuple[float, bool]], seconds: float, served: list[float]) -> str:
    times = [ms for ms, _ in sent]
    fails = sum(failed for _, failed in sent)
    server = (
        f"{percentile(served, 0.5):>7.1f} {percentile(served, 0.99):>7.0f}"
        if served
        else f"{'':>7} {'':>7}"
    )
    return (
        f"{name[:46]:46} {len(sent):>8} {fails:>5} {len(sent) / max(seconds, 1.0):>6.1f} "
        f"{percentile(times, 0.5):>6.0f} {percentile(times, 0.95):>6.0f} "
        f"{percentile(times, 0.99):>6.0f} | " + server
    )


if __name__ == "__main__":
    main()
