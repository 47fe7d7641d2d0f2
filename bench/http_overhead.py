"""Request overhead: the portal through gunicorn beside a bare Flask "hello", in one run.

    .venv/bin/python bench/http_overhead.py                 # 100,000 parts (or BENCH_PARTS)
    .venv/bin/python bench/http_overhead.py --parts 0       # the demo catalogue only, quicker
    .venv/bin/python bench/http_overhead.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench_http
    .venv/bin/python bench/http_overhead.py --figures figures.jsonl --rounds 5 --seconds 10

Makes a throwaway instance (a temporary folder; a PostgreSQL database named by --database-url is
dropped and created again), migrates it and loads the demo data as an operator does, imports a
generated catalogue of --parts parts (bench/catalog.py's generator: a twentieth as many models,
three fitments a part, a fifth as many supersessions) and rebuilds the search index. Then it
starts gunicorn with gunicorn.conf.py, as sync workers (2, one thread each), serving the portal
and a bare Flask app at ``/__hello`` from the same processes (bench/load_wsgi.py), and drives it
with wrk at 8 connections (a Python load generator when wrk is not installed; ``make bench``
installs wrk): hello, the resolution API (Bearer token), the word search API (Bearer token) and
the part page (a signed-in browser's cookie), each right after a hello, --rounds times. Prints
the median requests/s of each and the median of its shares of the hello just before it; with
--figures, appends them as JSON lines (bench/table.py reads them). With --profile N, then runs
N requests of each kind in this process through Flask's test client and prints CPU time and SQL
statements a request, and the share of the portal's functions in it (cProfile): where the gap
to hello goes. Asserts nothing.

(Not bench/http.py: a module of that name in bench/ would stand in for the standard library's
``http`` package in every script run from bench/.)

Worker replacement (``max_requests``) is off during the run: at hello's rate it would replace a
worker every second or two, and the figures would measure the portal's start-up rather than
its requests.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.client import HTTPConnection
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# bench/ is on the path just above.
from catalog import generate, part_number
from load import flask, free_port, fresh_database, stop

PASSWORD = "http-bench-technician"
#: The browser the part page is asked by, at sign-in and under load alike. A browser sends the
#: same User-Agent on every request; Flask-Login's session protection reads it (with the
#: address), and a cookie replayed with another one (wrk sends none) is marked not fresh, so
#: every answer carried a newly signed cookie, a cost no browser's page view pays.
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) benchside-http-bench"
EMAIL = "http-bench@benchside.example"
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
# Word queries a technician types (bench/search.py's set): descriptions, a plural, typos.
WORDS = [
    "power board",
    "main boards",
    "pwoer board",
    "wireless lan",
    "led strip",
    "remote commander",
    "speakr",
    "lens block assy",
    "ffc cable",
    "speaker",
]
#: The issue's targets: each endpoint's requests/s as a share of hello's, in per cent.
TARGETS = {"resolution API": 40.0, "word search API": 12.0, "part page": 30.0}


def default_parts() -> int:
    return int(os.environ.get("BENCH_PARTS", "").strip() or 100_000)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parts", type=int, default=default_parts(), help="catalogue size")
    parser.add_argument("--figures", default="", help="append figures here as JSON lines")
    parser.add_argument("--database-url", default="", help="default: SQLite in the instance")
    parser.add_argument("--seconds", type=int, default=5, help="per endpoint and round (5)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="rounds; the median is kept (5); 0: no gunicorn, only --profile",
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--python-load", action="store_true", help="no wrk, even if installed")
    parser.add_argument("--keep", action="store_true", help="keep the instance and logs")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="then profile N requests of each kind in-process: where the time goes",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="benchside-http-"))
    url = args.database_url or f"sqlite:///{workdir / 'instance' / 'benchside.db'}"
    env = {
        **os.environ,
        "BENCHSIDE_INSTANCE": str(workdir / "instance"),
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        # Production's settings differ in Secure cookies and HSTS only; Secure cookies would not
        # travel over plain HTTP to 127.0.0.1.
        "BENCHSIDE_ENV": "development",
        "BASE_URL": "http://127.0.0.1",
        "WEB_CONCURRENCY": str(args.workers),
        "GUNICORN_THREADS": "1",  # more than one turns gunicorn's sync worker into gthread
        "GUNICORN_MAX_REQUESTS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("GUNICORN_ACCESS_LOG", None)
    os.environ.update(env)  # config.py reads the environment when first imported
    (workdir / "instance").mkdir(parents=True)
    wrk = None if args.python_load else shutil.which("wrk")
    server: subprocess.Popen[bytes] | None = None
    started = time.monotonic()
    try:
        print(f"HTTP benchmark: {args.parts:,} parts, {describe(url)}")
        step("database", lambda: fresh_database(url))
        step("db upgrade", lambda: flask("db", "upgrade"))
        step("demo load", lambda: flask("demo", "load"))
        if args.parts:
            step(f"{args.parts:,} parts", lambda: import_catalogue(workdir, args.parts))
        token, numbers = step("account and numbers", lambda: prepare(args.parts))
        if args.rounds == 0:  # the in-process profile only
            if args.profile:
                profile_requests(token, numbers, args.profile)
            return
        port = free_port()
        env["GUNICORN_BIND"] = f"127.0.0.1:{port}"
        server = step("gunicorn", lambda: start_gunicorn(env, workdir, port))
        base = f"http://127.0.0.1:{port}"
        cookie = step("sign in", lambda: sign_in(base))
        targets = {
            "hello": (["/__hello/"], {}),
            "resolution API": (
                [f"/api/v1/parts/{urllib.parse.quote(n)}/resolution" for n in numbers],
                {"Authorization": f"Bearer {token}"},
            ),
            "word search API": (
                [f"/api/v1/search?q={urllib.parse.quote(w)}" for w in WORDS],
                {"Authorization": f"Bearer {token}"},
            ),
            "part page": (
                [f"/catalog/parts/{urllib.parse.quote(n)}" for n in numbers[:200]],
                {"Cookie": cookie, "User-Agent": BROWSER},
            ),
        }
        for name, (paths, headers) in targets.items():
            check(base, paths[:20], headers, name)
        driver = "wrk" if wrk else "a Python load generator (wrk is not installed)"
        print(f"- load: {args.connections} connections, {args.seconds} s each, {driver}")
        rates: dict[str, list[float]] = {name: [] for name in targets}
        shares: dict[str, list[float]] = {name: [] for name in targets if name != "hello"}
        for paths, headers in targets.values():  # warm: searchers open, caches full
            load(wrk, base, paths, headers, connections=args.connections, seconds=2, lua=workdir)

        def rate_of(name: str) -> float:
            paths, headers = targets[name]
            rate = load(
                wrk,
                base,
                paths,
                headers,
                connections=args.connections,
                seconds=args.seconds,
                lua=workdir,
            )
            rates[name].append(rate)
            return rate

        for n in range(args.rounds):
            measured = []
            for name in shares:
                # Hello just before each endpoint: on a shared machine the load from elsewhere
                # drifts within seconds, and a share of a hello measured a minute earlier
                # would carry that drift.
                hello = rate_of("hello")
                rate = rate_of(name)
                shares[name].append(100 * rate / hello)
                measured.append(f"hello {hello:,.0f} {name} {rate:,.0f}")
            print(f"  round {n + 1}: " + ", ".join(measured) + " req/s", flush=True)
        stop(server)
        server = None
        report(rates, shares, args, url)
        if args.profile:
            profile_requests(token, numbers, args.profile)
    finally:
        if server is not None:
            stop(server)
        if args.keep:
            print(f"Kept {workdir} (gunicorn's log: error.log) and the database.")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            fresh_database(url, create=False)
        print(f"Done in {time.monotonic() - started:.0f} s.")


def describe(url: str) -> str:
    return "SQLite" if url.startswith("sqlite") else "PostgreSQL " + url.rsplit("@", 1)[-1]


def step(title: str, action: Callable[[], Any]) -> Any:
    print(f"- {title}...", end=" ", flush=True)
    began = time.monotonic()
    result = action()
    print(f"{time.monotonic() - began:.1f} s", flush=True)
    return result


def import_catalogue(workdir: Path, parts: int) -> None:
    """bench/catalog.py's catalogue at this size, imported over the demo's, and indexed."""
    folder = workdir / "release"
    generate(
        folder,
        parts=parts,
        models=max(parts // 20, 10),
        fitments=parts * 3,
        supersessions=parts // 5,
        seed=1,
    )
    # A full snapshot that delists the demo's parts (confirmed); the index is rebuilt at once,
    # as an operator would after a first big release.
    flask("catalog", "import", str(folder), "--release", "bench.1", "--allow-drops", "--skip-index")
    flask("search", "reindex")
    shutil.rmtree(folder)


def prepare(parts: int) -> tuple[str, list[str]]:
    """A technician with a password and an API token; the part numbers to ask for (current
    ones and links of supersession chains, as bench/catalog.py asks)."""
    from sqlalchemy import select

    from app import create_app
    from app.auth import services as accounts
    from app.auth.models import ServiceCentre
    from app.db import session_factory
    from app.roles import Role
    from parts_catalog import services as catalog
    from parts_catalog.models import PartVersion

    app = create_app()
    with app.app_context(), session_factory().begin() as session:
        centre = ServiceCentre(name="HTTP Bench Centre")
        session.add(centre)
        user = accounts.create_user(
            session,
            email=EMAIL,
            name="HTTP Bench Technician",
            role=Role.TECHNICIAN,
            password=PASSWORD,
            centre=centre,
        )
        token = accounts.issue_api_token(session, user)
        rng = random.Random(7)
        if parts:
            base = parts // 2
            numbers = [
                part_number(rng.choice([rng.randrange(parts), base + rng.randrange(base // 3)]))
                for _ in range(1000)
            ]
        else:
            release = catalog.latest_release(session)
            assert release is not None, "`demo load` made a release"
            listed = session.scalars(
                select(PartVersion.number).where(PartVersion.as_of(release.id))
            ).all()
            numbers = [rng.choice(listed) for _ in range(1000)]
    app.extensions["engine"].dispose()
    return token, numbers


def start_gunicorn(env: dict[str, str], workdir: Path, port: int) -> subprocess.Popen[bytes]:
    with open(workdir / "error.log", "wb") as log:
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "-c",
                "gunicorn.conf.py",
                # gunicorn.conf.py's worker class is gthread: the command line overrides it.
                "--worker-class",
                "sync",
                "--no-control-socket",
                "--pythonpath",
                "bench",
                "load_wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{(workdir / 'error.log').read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    stop(server)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def sign_in(base: str) -> str:
    """Sign in through the login form as a browser does; the Cookie header it then sends."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", BROWSER)]
    with opener.open(f"{base}/login") as page:
        found = CSRF.search(page.read().decode())
    if found is None:
        raise SystemExit("The login page has no CSRF token.")
    form = urllib.parse.urlencode(
        {"csrf_token": found.group(1), "email": EMAIL, "password": PASSWORD}
    ).encode()
    with opener.open(f"{base}/login", data=form) as answer:
        if answer.status != 200 or "/login" in answer.url:
            raise SystemExit(f"Signing in failed: {answer.status} at {answer.url}")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def check(base: str, paths: list[str], headers: dict[str, str], name: str) -> None:
    """Every path answers 200 before it is measured (a benchmark of refusals measures nothing),
    and a signed-in page leaves the session cookie as it is."""
    for path in paths:
        request = urllib.request.Request(base + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                if "Cookie" in headers and answer.headers.get("Set-Cookie"):
                    # A browser's page view changes nothing in its session: a new cookie on
                    # each answer would be measured as signing, not as the page.
                    raise SystemExit(f"{name}: GET {path} sets a cookie again")
                if answer.status == 200 and "/login" not in answer.url:
                    continue
                status = f"{answer.status} at {answer.url}"
        except urllib.error.HTTPError as exc:
            status = str(exc.code)
        raise SystemExit(f"{name}: GET {path} answered {status}")


def load(
    wrk: str | None,
    base: str,
    paths: list[str],
    headers: dict[str, str],
    *,
    connections: int,
    seconds: int,
    lua: Path,
) -> float:
    """Requests/s at ``connections`` connections for ``seconds``, going round ``paths``."""
    if wrk is None:
        return python_load(base, paths, headers, connections=connections, seconds=seconds)
    script = lua / "paths.lua"
    listed = ",\n".join(json.dumps(p) for p in paths)  # a JSON string is a Lua string here
    script.write_text(
        f"local paths = {{\n{listed}\n}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i])\nend\n'
    )
    command = [wrk, "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*command, base], capture_output=True, text=True, check=True, timeout=seconds + 60
    )
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    if refused:
        raise SystemExit(f"{refused.group(0)} for {paths[0]} ...:\n{done.stdout}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if rate is None:
        raise SystemExit(f"wrk said:\n{done.stdout}\n{done.stderr}")
    return float(rate.group(1))


def _python_client(
    base: str, paths: list[str], headers: dict[str, str], until: float, start: int
) -> tuple[int, int]:
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    done = failed = 0
    i = start
    while time.monotonic() < until:
        conn = HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", paths[i % len(paths)], headers=headers)
        answer = conn.getresponse()
        answer.read()
        conn.close()
        done += 1
        failed += answer.status >= 400
        i += 1
    return done, failed


def python_load(
    base: str, paths: list[str], headers: dict[str, str], *, connections: int, seconds: int
) -> float:
    """wrk's job, done by one process per connection (slower: it takes CPU from the server)."""
    until = time.monotonic() + seconds
    with multiprocessing.Pool(connections) as pool:
        results = pool.starmap(
            _python_client, [(base, paths, headers, until, n * 7) for n in range(connections)]
        )
    failed = sum(f for _, f in results)
    if failed:
        raise SystemExit(f"{failed} refused answers for {paths[0]} ...")
    return sum(d for d, _ in results) / seconds


def report(
    rates: dict[str, list[float]],
    shares: dict[str, list[float]],
    args: argparse.Namespace,
    url: str,
) -> None:
    print()
    print(
        f"gunicorn, {args.workers} sync workers, {args.connections} connections, "
        f"{args.parts:,} parts, {describe(url)}; median of {args.rounds} rounds of "
        f"{args.seconds} s, each endpoint's share of the hello measured just before it; "
        f"load average {load_average()}"
    )
    print(f"{'endpoint':18} {'req/s':>8} {'of hello':>9} {'target':>7}")
    figures: list[dict[str, Any]] = []
    for name, measured in rates.items():
        rate = statistics.median(measured)
        spread = f"  ({min(measured):,.0f}-{max(measured):,.0f} req/s"
        figures.append(figure(f"{name} through gunicorn", rate, "req/s", None))
        if name == "hello":
            print(f"{name:18} {rate:8,.0f} {'':>9} {'':>7}{spread})")
            continue
        share = statistics.median(shares[name])
        spread += f", {min(shares[name]):.1f}-{max(shares[name]):.1f}%)"
        target = TARGETS[name]
        print(f"{name:18} {rate:8,.0f} {share:8.1f}% {target:6.0f}%{spread}")
        figures.append(figure(f"{name} / hello req/s", share, "%", target))
    if args.figures:
        with open(args.figures, "a") as out:
            for line in figures:
                out.write(json.dumps(line) + "\n")


def load_average() -> str:
    return ", ".join(f"{n:.1f}" for n in os.getloadavg())


def figure(name: str, value: float, unit: str, target: float | None) -> dict[str, Any]:
    return {
        "figure": name,
        "value": round(value, 1),
        "unit": unit,
        "target": target,
        "lower_is_better": False,
        "source": "http",
    }


#: What the profile lists: the portal's own code, and the libraries' steps it pays for a request.
PROFILED = re.compile(
    r"/(app|parts_catalog|diagnostics)/|flask_smorest/(arguments|response)\.py|"
    r"marshmallow/schema\.py.*\(dump\)|webargs/core\.py.*\(parse\)|orm/session\.py.*\(commit\)|"
    r"logging/__init__\.py.*\(info\)|flask/ctx\.py.*\((push|pop)\)|jinja2/environment\.py.*\(render\)"
)


def profile_requests(token: str, numbers: list[str], count: int) -> None:
    """Each kind of request ``count`` times in this process, through Flask's test client (no
    gunicorn, no sockets): CPU time and SQL statements a request, then where the time goes
    (cProfile, CPU time; its own overhead makes every share a little larger than it is)."""
    import cProfile
    import pstats

    from flask import Flask
    from sqlalchemy import event

    from app import create_app

    app = create_app()
    hello = Flask("hello")
    hello.get("/")(lambda: {"hello": "world"})
    quiet = open(os.devnull, "w")  # noqa: SIM115  (the request log's lines, for the whole run)
    browser, api, bare = app.test_client(), app.test_client(), hello.test_client()
    found = CSRF.search(browser.get("/login", errors_stream=quiet).get_data(as_text=True))
    assert found is not None, "the login page has a CSRF token"
    form = {"csrf_token": found.group(1), "email": EMAIL, "password": PASSWORD}
    signed_in = browser.post("/login", data=form, errors_stream=quiet)
    assert signed_in.status_code in (302, 303), "signed in"
    bearer = {"Authorization": f"Bearer {token}"}
    kinds = {
        "hello": (bare, ["/"], {}),
        "resolution API": (
            api,
            [f"/api/v1/parts/{urllib.parse.quote(n)}/resolution" for n in numbers],
            bearer,
        ),
        "word search API": (
            api,
            [f"/api/v1/search?q={urllib.parse.quote(w)}" for w in WORDS],
            bearer,
        ),
        "part page": (browser, [f"/catalog/parts/{urllib.parse.quote(n)}" for n in numbers], {}),
    }
    statements: list[str] = []

    def noted(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(app.extensions["engine"], "before_cursor_execute", noted)
    print(f"\nIn-process profile, {count} requests of each kind (CPU time):")
    for name, (client, paths, headers) in kinds.items():
        for path in paths[:20]:  # warm
            client.get(path, headers=headers, errors_stream=quiet)
        statements.clear()
        began = time.process_time()
        for i in range(count):
            client.get(paths[i % len(paths)], headers=headers, errors_stream=quiet)
        cpu = (time.process_time() - began) / count * 1000
        print(f"- {name}: {cpu:.2f} ms a request, {len(statements) / count:.1f} SQL statements")
        if name == "hello":
            continue
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for i in range(count):
            client.get(paths[i % len(paths)], headers=headers, errors_stream=quiet)
        profiler.disable()
        stats = pstats.Stats(profiler)
        table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
        total = sum(entry[2] for entry in table.values())
        rows = sorted(
            (
                (
                    entry[3],
                    f"{path.split('site-packages/')[-1].removeprefix(str(ROOT) + '/')}"
                    f":{line} {function}",
                )
                for (path, line, function), entry in table.items()
                if PROFILED.search(f"{path} ({function})")
            ),
            reverse=True,
        )
        for cumulative, where in rows[:14]:
            print(f"    {100 * cumulative / total:5.1f}%  {where}")
    event.remove(app.extensions["engine"], "before_cursor_execute", noted)
    quiet.close()
    app.extensions["engine"].dispose()


if __name__ == "__main__":
    main()
