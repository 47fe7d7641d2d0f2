"""Escalations under load, with the mail server down and then back.

    .venv/bin/python bench/escalations.py   # database bench_escalations on 127.0.0.1's PostgreSQL
    .venv/bin/python bench/escalations.py --submissions 200 --retries 40 --workers 3

Starts gunicorn (gunicorn.conf.py) on a free loopback port against PostgreSQL with the mail
server down, sends ``--submissions`` escalations at once through the API (each with its own
Idempotency-Key; ``--retries`` of them sent a second time, as a client would after a timeout),
runs the outbox worker while the server is down (nothing may be lost), starts a real SMTP
server, and runs ``--workers`` outbox workers at once until everything is sent. Prints tickets,
latencies and acknowledgements delivered, and whether any was delivered twice. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.error import HTTPError

if TYPE_CHECKING:
    from tests.smtp import SmtpServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_escalations",
        help="dropped and migrated afresh (default: %(default)s; created if missing)",
    )
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--retries", type=int, default=40, help="submissions sent twice")
    parser.add_argument("--technicians", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3, help="outbox workers at once")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="benchside-escalations-"))
    # config.py reads the environment when it is first imported: set it before anything is.
    os.environ.update(
        BENCHSIDE_INSTANCE=str(workdir),
        DATABASE_URL=args.database_url,
        SECRET_KEY="bench-escalations",
    )
    from tests.database import drop_everything, migrate
    from tests.smtp import SmtpServer, free_port

    _ensure_database(args.database_url)
    drop_everything(args.database_url)
    migrate(args.database_url)
    smtp = SmtpServer()  # its port is chosen, and nothing listens on it yet: the server is down
    port = free_port()
    env = {
        **os.environ,
        "BENCHSIDE_ENV": "development",
        "BENCHSIDE_INSTANCE": str(workdir),
        "DATABASE_URL": args.database_url,
        "SECRET_KEY": "bench-escalations",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": "",
        "GUNICORN_CONTROL_SOCKET": str(workdir / "gunicorn.ctl"),
    }
    tokens = _technicians(args.technicians)
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz")
        results = _submit_all(port, tokens, args.submissions, args.retries)
        delivery = _deliver(env, smtp, args.workers)
    finally:
        server.terminate()
        server.wait(timeout=30)
        smtp.stop()
    _report(args, results, delivery)


def _ensure_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if target.get_backend_name() != "postgresql":
        return
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        )
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def _technicians(count: int) -> list[str]:
    """Technicians of a few centres, each with an API token."""
    from app import create_app
    from app.auth import services
    from app.db import session_factory
    from app.roles import Role
    from tests.factories import make_user

    app = create_app()
    with app.app_context(), session_factory().begin() as session:
        users = [make_user(session, role=Role.TECHNICIAN) for _ in range(count)]
        return [services.issue_api_token(session, user) for user in users]


def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (OSError, HTTPError):
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer at {url}")


def _post(port: int, token: str, key: str, n: int) -> tuple[int, float, str]:
    body = json.dumps(
        {
            "subject": f"Bench escalation {n}",
            "description": "Shuts down after 3 s; 12.1 V at CN6101.",
            "category": "technical",
            "model_number": "KDL-55W800C",
        }
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/escalations",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            reference = json.loads(response.read())["reference"]
            return response.status, time.perf_counter() - started, reference
    except HTTPError as error:
        return error.code, time.perf_counter() - started, ""


def _submit_all(port: int, tokens: list[str], count: int, retries: int) -> dict[str, object]:
    jobs = [(tokens[n % len(tokens)], f"bench-{n}", n) for n in range(count)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        first = list(pool.map(lambda job: _post(port, *job), jobs))
    elapsed = time.perf_counter() - started
    with ThreadPoolExecutor(max_workers=max(retries, 1)) as pool:
        again = list(pool.map(lambda job: _post(port, *job), jobs[:retries]))
    same = sum(a[2] == f[2] and a[2] != "" for a, f in zip(again, first, strict=False))
    return {"first": first, "again": again, "same": same, "elapsed": elapsed}


def _outbox(env: dict[str, str], *flags: str) -> str:
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "outbox", "run", "--once", *flags],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or done.stderr.strip()[-200:]


def _deliver(env: dict[str, str], smtp: SmtpServer, workers: int) -> dict[str, object]:
    down = _outbox(env)
    smtp.start()
    started = time.perf_counter()
    rounds = 0
    _outbox(env, "--retry-now")
    while True:  # workers at once, each claiming its messages with SKIP LOCKED
        rounds += 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outputs = list(pool.map(lambda _: _outbox(env), range(workers)))
        if all(o.startswith("Sent 0,") for o in outputs) or rounds > 100:
            break
    return {
        "down": down,
        "elapsed": time.perf_counter() - started,
        "rounds": rounds,
        "received": [str(m["Message-ID"]) for m in smtp.inbox.messages],
    }


def _report(
    args: argparse.Namespace, results: dict[str, object], delivery: dict[str, object]
) -> None:
    from sqlalchemy import create_engine, func, select

    from app.escalations.models import Ticket
    from app.mail.models import OutboxMessage

    first = results["first"]
    assert isinstance(first, list)
    statuses = Counter(status for status, _, _ in first)
    latencies = sorted(seconds * 1000 for _, seconds, _ in first)
    engine = create_engine(args.database_url)
    with engine.connect() as connection:
        tickets = connection.scalar(select(func.count()).select_from(Ticket))
        unsent = connection.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        )
    engine.dispose()
    received = delivery["received"]
    assert isinstance(received, list)
    ids = Counter(received)
    quantiles = statistics.quantiles(latencies, n=100)
    print(f"{args.submissions} escalations at once, gunicorn + PostgreSQL, mail server down")
    print(f"  statuses               {dict(statuses)}")
    print(f"  wall time              {results['elapsed']:.2f} s")
    print(
        f"  latency ms             p50 {quantiles[49]:.0f} · p95 {quantiles[94]:.0f} · "
        f"p99 {quantiles[98]:.0f} · max {latencies[-1]:.0f}"
    )
    print(
        f"  sent again (retries)   {args.retries}, answered with the same ticket: {results['same']}"
    )
    print(f"  tickets in database    {tickets}")
    print(f"  outbox, server down    {delivery['down']}")
    print(
        f"  server up, {args.workers} workers  {len(received)} delivered in "
        f"{delivery['elapsed']:.1f} s ({delivery['rounds']} rounds), still unsent {unsent}"
    )
    print(f"  delivered twice        {sum(1 for n in ids.values() if n > 1)}")


if __name__ == "__main__":
    main()
