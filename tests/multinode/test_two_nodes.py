"""Two application nodes on one database: an import made through one is found on the other.

Each node is what a machine of a cluster runs: gunicorn serving ``wsgi:app`` and a ``search
worker``, with its own instance folder (and so its own search index on its own disk), and the
same ``DATABASE_URL`` and ``SECRET_KEY`` as the other. On the PostgreSQL run (``--postgres``)
they share the test database; on SQLite, one database file, which processes of one machine can
share too.

The processes commit for real (they cannot join the test's transaction): every table is emptied
afterwards, as the browser tests do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.auth import services
from app.roles import Role
from tests import database
from tests.factories import PASSWORD, make_user
from tests.parts_catalog.releases import (
    BASE_PARTS,
    BASE_SUPERSESSIONS,
    base_release,
    part,
    zip_release,
)
from tests.smtp import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WAIT = 20.0  # seconds an import may take to reach the other node
START = 120.0  # seconds two nodes may take to start and build their indexes (on a busy machine)
T = TypeVar("T")

PARTS = [*BASE_PARTS, part("1-480-001-11", "WIRELESS LAN MODULE", category="module")]
# The next release: a new part, and the main board superseded by a new revision.
LATER_PARTS = [
    *PARTS,
    part("1-999-000-11", "HDMI BOARD", category="board"),
    part("A-2072-533-B", "MAIN BOARD (REV B)", category="board"),
]
LATER_SUPERSESSIONS = [
    *BASE_SUPERSESSIONS,
    {
        "old_part_number": "A-2072-533-A",
        "new_part_number": "A-2072-533-B",
        "interchangeability": "two_way",
    },
]


class Node:
    """One machine of the cluster: its environment, its web server and its search worker."""

    def __init__(self, name: str, folder: Path, database_url: str) -> None:
        self.name = name
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SEARCH_", "UPLOAD_"))}
        env |= {
            "BENCHSIDE_ENV": "development",
            "BENCHSIDE_INSTANCE": str(folder / "instance"),  # its own index and uploads
            "DATABASE_URL": database_url,  # the one database
            "SECRET_KEY": "the-same-secret-key-on-every-node",
            "PYTHONUNBUFFERED": "1",
        }
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    @property
    def index_dir(self) -> Path:
        return self.folder / "instance" / "search"

    def flask(self, *args: str, stdin: str | None = None) -> str:
        """Run a ``flask --app wsgi`` command with this node's environment."""
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def _start(self, label: str, args: list[str]) -> None:
        log = self.folder / f"{label}.log"
        self.logs.append(log)
        with open(log, "wb") as out:
            self.processes.append(
                subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
            )

    def start(self) -> None:
        # Gunicorn would otherwise read a configuration file from the working directory; this
        # node's settings are on the command line. No control socket: its default path is one
        # per user, which two nodes on one machine would share.
        settings = self.folder / "gunicorn.conf.py"
        settings.write_text("control_socket_disable = True\n")
        self._start(
            "web",
            [
                str(BIN / "gunicorn"),
                "--config",
                str(settings),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "2",
                "wsgi:app",
            ],
        )
        self._start(
            "search-worker",
            [str(BIN / "flask"), "--app", "wsgi", "search", "worker", "--interval", "0.3"],
        )

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self.processes.clear()

    def output(self) -> str:
        return "\n".join(f"--- {self.name} {log.name}\n{log.read_text()}" for log in self.logs)


def _get_json(url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"null")


def eventually(check: Callable[[], T | None], *, within: float, what: str, node: Node) -> T:
    """Poll ``check`` until it returns something (not None), for at most ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            found = check()
        except OSError:  # not listening yet, or slow to answer on a busy machine
            found = None
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {within:g} s\n{node.output()}")
        time.sleep(0.2)


class Browser:
    """A person signed in on one node, with its cookie and the forms' CSRF tokens."""

    _CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')

    def __init__(self, node: Node) -> None:
        self.node = node
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def _open(self, path: str, body: bytes | None = None, content_type: str = "") -> str:
        request = urllib.request.Request(self.node.url + path, data=body)
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with self.opener.open(request, timeout=60) as response:
                page: str = response.read().decode()
                return page
        except urllib.error.HTTPError as exc:
            with exc:
                pytest.fail(f"{path}: {exc.code}\n{exc.read().decode()}")

    def csrf(self, path: str) -> str:
        match = self._CSRF.search(self._open(path))
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post(self, path: str, fields: dict[str, Any]) -> str:
        fields = {"csrf_token": self.csrf(path), **fields}
        boundary, body = encode_multipart(fields)
        return self._open(path, body, f"multipart/form-data; boundary={boundary}")


def api_search(node: Node, token: str, q: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"q": q})
    status, body = _get_json(f"{node.url}/api/v1/search?{query}", token)
    assert status == 200, body
    results: list[dict[str, Any]] = body["results"]
    return results


def as_listed(results: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a person sees of each result (scores move with the catalogue's size)."""
    return [(r["key"], r["title"], r["status"], json.dumps(r["highlights"])) for r in results]


@pytest.fixture
def cluster(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    a = Node("node A", tmp_path / "a", database_url)
    b = Node("node B", tmp_path / "b", database_url)
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()
        database.delete_all_rows(engine)


def test_an_import_through_one_node_is_found_on_the_other(
    cluster: tuple[Node, Node], engine: Engine, tmp_path: Path
) -> None:
    a, b = cluster
    with Session(engine) as session:
        engineer = make_user(session, role=Role.ENGINEER)
        technician = make_user(session, role=Role.TECHNICIAN)
        token = services.issue_api_token(session, technician)
        session.commit()
        engineer_email = engineer.email

    # The first release, imported with node A's command line (which builds A's index).
    first = base_release(tmp_path / "r1", parts=PARTS)
    assert "reflects release r1" in a.flask("catalog", "import", str(first), "--release", "r1")
    assert not b.index_dir.exists()
    a.start()
    b.start()

    def healthy(node: Node, release: str) -> dict[str, Any] | None:
        status, body = _get_json(f"{node.url}/healthz")
        search = (body or {}).get("search", {})
        if status == 200 and search.get("status") == "ok" and search.get("release") == release:
            return body  # type: ignore[no-any-return]
        return None

    # Node B's worker builds its own index from the database.
    for node in (a, b):
        eventually(lambda n=node: healthy(n, "r1"), within=START, what="healthy at r1", node=node)
    assert b.index_dir.is_dir()
    untouched = as_listed(api_search(b, token, "door battery"))
    assert [key for key, *_ in untouched] == ["4-234-704-01", "4-234-704-11"]
    assert api_search(b, token, "hdmi board") == []
    main_board = api_search(b, token, "main board")
    assert [r["key"] for r in main_board] == ["A-2072-533-A"]
    assert all(h["field"] != "replaced_by" for h in main_board[0]["highlights"])

    # The next release, uploaded through node A's pages by an engineer.
    later = zip_release(
        base_release(tmp_path / "r2", parts=LATER_PARTS, supersessions=LATER_SUPERSESSIONS),
        tmp_path / "r2.zip",
    )
    person = Browser(a)
    person.post("/login", {"email": engineer_email, "password": PASSWORD})
    with open(later, "rb") as upload:
        page = person.post(
            "/catalog/releases/upload",
            {"label": "r2", "files": FileStorage(upload, "r2.zip", content_type="application/zip")},
        )
    assert "r2" in page
    # Node A applied it before answering (the in-request sync after the commit).
    assert [r["key"] for r in api_search(a, token, "hdmi board")] == ["1-999-000-11"]

    # Node B finds it, through its own worker following the database's log.
    found = eventually(
        lambda: api_search(b, token, "hdmi board") or None,
        within=WAIT,
        what="node B never found the part imported through node A",
        node=b,
    )
    assert [(r["key"], r["title"]) for r in found] == [("1-999-000-11", "HDMI BOARD")]
    eventually(lambda: healthy(b, "r2"), within=WAIT, what="node B healthy at r2", node=b)
    assert as_listed(api_search(b, token, "door battery")) == untouched

    # The superseded part shows its replacement on node B: by number (the database answers) and
    # by words (node B's index knows what replaces it).
    by_number = api_search(b, token, "a2072533a")
    assert [r["key"] for r in by_number[:2]] == ["A-2072-533-A", "A-2072-533-B"]
    assert by_number[0]["replacement"]["order"] == ["A-2072-533-B"]
    by_words = {r["key"]: r for r in api_search(b, token, "main board")}
    assert set(by_words) == {"A-2072-533-A", "A-2072-533-B"}
    assert {
        "field": "replaced_by",
        "text": "replaced by A-2072-533-B",
        "spans": [],
    } in by_words["A-2072-533-A"]["highlights"]

    # Each node keeps its own index, at the same place in the one log.
    metas = [
        json.loads((node.index_dir / "parts" / current / "meta.json").read_text())
        for node in (a, b)
        for current in [(node.index_dir / "parts" / "CURRENT").read_text().strip()]
    ]
    assert [m["release_label"] for m in metas] == ["r2", "r2"]
    assert metas[0]["change_id"] == metas[1]["change_id"] > 0
