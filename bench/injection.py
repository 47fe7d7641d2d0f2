"""SQL injection: Debian's sqlmap against the portal's search and filter parameters.

    .venv/bin/python bench/injection.py                      # every target, level 3, risk 2
    .venv/bin/python bench/injection.py --level 2 --only api  # targets whose name has "api"

Starts the portal on 127.0.0.1 (gunicorn, with ``gunicorn.conf.py`` when there is one) over a
throwaway SQLite instance folder with the demo data, signs in the demo accounts (a session cookie
each) and makes the technician an API token, then runs ``sqlmap --batch`` on each target's query
parameters (and, where a number is in the path, on that too) and prints a table: endpoint,
parameters, verdict ("not injectable" or "INJECTABLE"), and the server errors sqlmap met.

A bench, not a test: it needs ``/usr/bin/sqlmap`` (``apt-get install sqlmap``), takes minutes,
prints, and asserts nothing. Exit status 1 when something is injectable.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
SQLMAP = "/usr/bin/sqlmap"
COOKIE = "benchside_session"
PASSWORDS = {
    "tech": "demo-tech-pass",
    "tier1": "demo-tier1-pass",
    "engineer": "demo-engineer-pass",
    "admin": "demo-admin-pass",
}


DEPLOYMENT_SETTINGS = ("DATABASE_URL", "SECRET_KEY", "SEARCH_INDEX_DIR", "UPLOAD_DIR", "BASE_URL")


@dataclass(frozen=True)
class Target:
    name: str
    path: str  # with its query string; ``*`` marks a place in the path to inject
    params: tuple[str, ...]  # the query parameters to test
    who: str  # whose session cookie, or "token" for the technician's Bearer token

    @property
    def label(self) -> str:
        return self.path.split("?", 1)[0].replace("*", "")

    @property
    def tested(self) -> str:
        return ", ".join(self.params) if self.params else "the path (*)"


TARGETS = [
    Target(
        "search page",
        "/search?q=power+board&kind=parts&category=board&status=active&product_line=TV"
        "&model=KDL-55W800C&page=1",
        ("q", "kind", "category", "status", "product_line", "model", "page"),
        "tech",
    ),
    Target("search suggestions", "/search/suggest?q=power&kind=parts", ("q", "kind"), "tech"),
    Target(
        "search api",
        "/api/v1/search?q=power+board&kind=parts&category=board&status=active&product_line=TV"
        "&model=KDL-55W800C&limit=10",
        ("q", "kind", "category", "status", "product_line", "model", "limit"),
        "token",
    ),
    Target("catalogue look-up", "/catalog/lookup?q=1474+59411", ("q",), "tech"),
    Target(
        "part page",
        "/catalog/parts/1-474-594-11?as_of=2026.05&serial=4012345",
        ("as_of", "serial"),
        "tech",
    ),
    Target("part page, number in the path", "/catalog/parts/1-474-594-11*", (), "tech"),
    Target(
        "part resolution api",
        "/api/v1/parts/1-474-594-11/resolution?as_of=2026.05&serial=4012345",
        ("as_of", "serial"),
        "token",
    ),
    Target(
        "part resolution api, number in the path",
        "/api/v1/parts/1-474-594-11*/resolution",
        (),
        "token",
    ),
    Target(
        "release comparison",
        "/catalog/releases/compare?a=2026.05&b=2026.11",
        ("a", "b"),
        "engineer",
    ),
    Target(
        "release diff api", "/api/v1/releases/2026.05/diff/2026.11?limit=50", ("limit",), "token"
    ),
    Target(
        "release diff api, labels in the path",
        "/api/v1/releases/2026.05*/diff/2026.11*",
        (),
        "token",
    ),
    Target(
        "diagnose (trees for a model)",
        "/diagnose?model=KDL-55W800C&q=no+picture",
        ("model", "q"),
        "tech",
    ),
    Target(
        "escalation queue filters",
        "/escalations?tier=tier1&assigned=mine&product_line=TV&late=1",
        ("tier", "assigned", "product_line", "late"),
        "tier1",
    ),
]
# Orders have no filter parameters: the history, its CSV export and the API's list take none,
# and an order's number in a path is an <int:...> (digits only, else 404).


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--level", type=int, default=3, help="sqlmap --level (1-5)")
    parser.add_argument("--risk", type=int, default=2, help="sqlmap --risk (1-3; 3 may write)")
    parser.add_argument(
        "--dbms", default="SQLite", help="the database sqlmap may assume ('' to let it guess)"
    )
    parser.add_argument(
        "--minutes", type=float, default=4.0, help="time allowed per target before it is stopped"
    )
    parser.add_argument("--only", default="", help="only targets whose name contains this")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder and logs")
    args = parser.parse_args()
    if not Path(SQLMAP).exists():
        print(f"{SQLMAP} is missing: apt-get install sqlmap", file=sys.stderr)
        return 2
    targets = [t for t in TARGETS if args.only in t.name]

    work = Path(tempfile.mkdtemp(prefix="benchside-injection-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # Nothing of a real deployment's settings may leak in: the throwaway instance has them all.
    kept = {k: v for k, v in os.environ.items() if k not in DEPLOYMENT_SETTINGS}
    env = {
        **kept,
        "BENCHSIDE_INSTANCE": str(work / "instance"),
        "BENCHSIDE_ENV": "development",
        "DATABASE_URL": f"sqlite:///{work / 'instance' / 'benchside.db'}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        "GUNICORN_ACCESS_LOG": "",
        # One control socket per gunicorn: another on this machine must keep its own.
        "GUNICORN_CONTROL_SOCKET": str(work / "gunicorn.ctl"),
    }
    (work / "instance").mkdir()
    print(f"Instance {work / 'instance'}; loading the demo data ...", flush=True)
    for command in (["db", "upgrade"], ["demo", "load"]):
        _run([str(BIN / "flask"), "--app", "wsgi", *command], env)
    token = _run(
        [str(BIN / "flask"), "--app", "wsgi", "users", "token", "tech@benchside.example"], env
    ).split()[-1]

    log = open(work / "server.log", "wb")  # noqa: SIM115  (open while the server runs)
    server_command = [str(BIN / "gunicorn"), "wsgi:app"]
    if (ROOT / "gunicorn.conf.py").exists():
        server_command[1:1] = ["-c", str(ROOT / "gunicorn.conf.py")]
    else:
        server_command[1:1] = ["--bind", f"127.0.0.1:{port}", "--workers", "2"]
    server = subprocess.Popen(
        server_command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    rows: list[tuple[Target, str, str, float]] = []
    try:
        _wait_for(base)
        print(f"Portal at {base} (gunicorn pid {server.pid}); signing in ...", flush=True)
        cookies = {
            who: _sign_in(base, f"{who}@benchside.example", password)
            for who, password in PASSWORDS.items()
        }
        for target in targets:
            print(f"sqlmap: {target.name} ({target.label}) ...", flush=True)
            started = time.monotonic()
            verdict, errors = _sqlmap(target, base, cookies, token, work, args)
            rows.append((target, verdict, errors, time.monotonic() - started))
            print(f"  {verdict} ({time.monotonic() - started:.0f} s)", flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    _print_table(rows, args)
    if args.keep:
        print(f"\nKept {work} (server.log, sqlmap/ output).")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if any(verdict == "INJECTABLE" for _t, verdict, _e, _s in rows) else 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _wait_for(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the portal did not answer at {base} within a minute")


_CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def _sign_in(base: str, email: str, password: str) -> str:
    """Sign in through the login form; return the session cookie's value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/login", timeout=30) as page:
        match = _CSRF.search(page.read().decode())
    if match is None:
        raise SystemExit("no CSRF token on the login page")
    form = urllib.parse.urlencode(
        {"email": email, "password": password, "csrf_token": match.group(1)}
    ).encode()
    with opener.open(f"{base}/login", data=form, timeout=60):
        pass
    for cookie in jar:
        if cookie.name == COOKIE and cookie.value:
            return str(cookie.value)
    raise SystemExit(f"signing in as {email} set no {COOKIE} cookie")


def _sqlmap(
    target: Target,
    base: str,
    cookies: dict[str, str],
    token: str,
    work: Path,
    args: argparse.Namespace,
) -> tuple[str, str]:
    """Run sqlmap on one target: ``(verdict, server errors it met)``."""
    command = [
        SQLMAP,
        "-u",
        base + target.path,
        "--batch",
        f"--level={args.level}",
        f"--risk={args.risk}",
        "--time-sec=2",
        "--timeout=15",
        "--retries=1",
        "--threads=2",
        "--disable-coloring",
        "--drop-set-cookie",  # keep the signed-in session sqlmap was given
        f"--output-dir={work / 'sqlmap'}",
        "--flush-session",
    ]
    if target.params:
        command += ["-p", ",".join(target.params)]
    if args.dbms:
        command.append(f"--dbms={args.dbms}")
    if target.who == "token":
        command.append(f"--headers=Authorization: Bearer {token}")
    else:
        command.append(f"--cookie={COOKIE}={cookies[target.who]}")
    timed_out = False
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=args.minutes * 60, check=False
        )
        output = done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        timed_out = True
        output = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
    (work / "sqlmap").mkdir(exist_ok=True)
    log_name = re.sub(r"[^a-z]+", "-", target.name).strip("-")
    (work / "sqlmap" / f"{log_name}.log").write_text(output)
    if "identified the following injection point" in output:
        return "INJECTABLE", _errors(output)
    if timed_out:
        return f"stopped after {args.minutes:g} min", _errors(output)
    if "do not appear to be injectable" in output:
        return "not injectable", _errors(output)
    last = [line for line in output.splitlines() if "[CRITICAL]" in line or "[ERROR]" in line]
    return f"inconclusive: {last[-1] if last else 'see the log'}", _errors(output)


def _errors(output: str) -> str:
    """The HTTP error codes sqlmap reports having met ("500 (Internal Server Error) - 3 times")."""
    found = re.findall(r"HTTP error codes detected during run:\s*(.+)", output)
    return "; ".join(found) if found else "none"


def _print_table(rows: list[tuple[Target, str, str, float]], args: argparse.Namespace) -> None:
    print(
        f"\nsqlmap {_sqlmap_version()}, --level={args.level} --risk={args.risk}"
        f"{' --dbms=' + args.dbms if args.dbms else ''}, --batch\n"
    )
    header = ("endpoint", "parameters", "verdict", "HTTP errors met", "time")
    table = [
        (
            t.label,
            t.tested,
            verdict,
            errors,
            f"{seconds:.0f} s",
        )
        for t, verdict, errors, seconds in rows
    ]
    widths = [max(len(str(r[i])) for r in [header, *table]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *table]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _sqlmap_version() -> str:
    done = subprocess.run([SQLMAP, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.split()[0] if done.stdout else "?"


if __name__ == "__main__":
    sys.exit(main())
