"""The people ``bench/load.py`` sends at the portal, for locust.

Not run on its own: ``bench/load.py`` writes the plan (accounts, tokens, part numbers, models,
trees) to the file named by ``BENCH_LOAD_PLAN`` and starts locust on this file.

- ``Technician``: signs in with a password and uses the pages: search, part and model pages, a
  diagnostic walk from a blink or error code to its end, the cart and placing an order.
- ``Workshop``: a bench system using the API with a token: search, "what to order" resolutions,
  part documents, walks answered to the end (escalated with the walk when it ends there), orders
  and escalations with an ``Idempotency-Key``, sometimes sent twice as a retry would.
- ``Agent``: a tier-1 agent reading the queue and tickets, replying to some.
- ``Hello``: the bare Flask app at ``/__hello``, the floor under every other figure.

Request names group URLs by route (``[number]``), so that each is one line of the table.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import random
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from locust import FastHttpUser, between, events, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["BENCH_LOAD_PLAN"]).read_text())
# One account per simulated person: carts and walks are per account, and two users sharing one
# would fight over the cart.
_technicians = itertools.count()
_agents = itertools.count()
# Every request as [started, name, milliseconds, failed], for load.py to split the ramp (when
# everyone signs in) from the steady state, which locust's own statistics cannot.
_record = open(os.environ["BENCH_LOAD_RECORD"], "w")  # noqa: SIM115  (closed when locust quits)


@events.request.add_listener
def _write(name: str, response_time: float, exception: Any, start_time: float, **_: Any) -> None:
    _record.write(json.dumps([start_time, name, response_time, exception is not None]) + "\n")


@events.quitting.add_listener
def _close(**_: Any) -> None:
    _record.close()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TERMINALS = {"fix", "exchange", "escalate"}
INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
ATTRIBUTE = re.compile(r'([a-zA-Z_:-]+)="([^"]*)"')
TICKET_LINK = re.compile(r'href="/escalations/(ESC-[0-9A-Za-z-]+)"')
OPTION_BUTTON = re.compile(r'<button[^>]*name="option"[^>]*value="([^"]*)"')
THINK = between(0.3, 1.5)


def inputs(page: str) -> dict[str, str]:
    """The value of every named ``<input>`` of a page (the last one wins)."""
    found = {}
    for tag in INPUT.findall(page):
        attributes = dict(ATTRIBUTE.findall(tag))
        if "name" in attributes:
            found[attributes["name"]] = html.unescape(attributes.get("value", ""))
    return found


def spelling(number: str) -> str:
    """A part number as a technician types it: as printed, without dashes, spaced, lower case."""
    plain = re.sub(r"[-./ ]", "", number)
    return random.choice([number, plain, plain.lower(), " ".join(number.split("-")), number])


def measured(node: dict[str, Any]) -> float:
    """A value inside one of a measure node's ranges, chosen at random."""
    chosen = random.choice(node["ranges"])
    low, high = chosen.get("from"), chosen.get("below")
    if low is None:
        return round(high - random.uniform(0.1, 2.0), 2)
    if high is None:
        return round(low + random.uniform(0.0, 2.0), 2)
    return round(random.uniform(low, high - 0.01), 2)


class _Person(FastHttpUser):
    abstract = True
    wait_time = THINK
    headers: dict[str, str] = {}  # noqa: RUF012  (replaced per user, never mutated)

    def send(self, method: str, path: str, name: str, **kwargs: Any) -> Any:
        """One request, named in the statistics and, through its User-Agent, in the access log
        (load.py reads the server's own durations from there)."""
        headers = {**self.headers, "User-Agent": f"bench/load {name}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, name=name, headers=headers, **kwargs)

    def get(self, path: str, name: str) -> str:
        return self.send("GET", path, name).text or ""


class _Browser(_Person):
    """Someone signed in through the login page, with a cookie and a CSRF token."""

    abstract = True
    csrf = ""

    def sign_in(self, account: dict[str, str]) -> None:
        page = self.get("/login", "GET /login")
        self.csrf = inputs(page).get("csrf_token", "")
        response = self.post_form(
            "/login", "POST /login", email=account["email"], password=account["password"]
        )
        if response.status_code not in (302, 303):
            return  # refused: the form came back, and locust counts the failure
        self.take_token(self.get("/", "GET /"))

    def take_token(self, page: str) -> None:
        # Every page's menu carries the sign-out form: its token is the session's token.
        self.csrf = inputs(page).get("csrf_token", self.csrf)

    def post_form(self, path: str, name: str, **fields: str) -> Any:
        """POST a form without following the redirect; a 302/303 counts as success."""
        body = urlencode({"csrf_token": self.csrf, **fields})
        with self.send(
            "POST",
            path,
            name,
            data=body,
            headers=FORM,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code in (302, 303):
                response.success()
            else:  # a form that comes back (200 or 4xx) was not accepted
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
            return response


class Technician(_Browser):
    weight = 4

    def on_start(self) -> None:
        accounts = PLAN["technicians"]
        self.account = accounts[next(_technicians) % len(accounts)]
        self.sign_in(self.account)

    @task(6)
    def search_words(self) -> None:
        query = random.choice(PLAN["words"])
        self.get(f"/search?{urlencode({'q': query})}", "GET /search?q=[words]")

    @task(4)
    def search_number(self) -> None:
        query = spelling(random.choice(PLAN["current"] + PLAN["superseded"]))
        self.get(f"/search?{urlencode({'q': query})}", "GET /search?q=[number]")

    @task(6)
    def part_page(self) -> None:
        number = random.choice(PLAN["current"] + PLAN["superseded"])
        self.get(f"/catalog/parts/{number}", "GET /catalog/parts/[number]")

    @task(2)
    def model_page(self) -> None:
        model = random.choice(PLAN["models"])
        self.get(f"/catalog/models/{model}", "GET /catalog/models/[model]")

    @task(2)
    def walk(self) -> None:
        """From the product's code (or a chosen tree) to the walk's end, one page a question."""
        walk = random.choice(PLAN["walks"])
        if walk["code"]:
            scheme, value = walk["code"].split(":", 1)
            response = self.post_form(
                "/diagnose/code",
                "POST /diagnose/code",
                scheme=scheme,
                value=value,
                model=walk["model"],
                serial="",
            )
        else:
            response = self.post_form(
                "/diagnose/start", "POST /diagnose/start", tree=walk["tree"], model=walk["model"]
            )
        where = response.headers.get("location") or response.headers.get("Location") or ""
        path = urlsplit(where).path
        if "/diagnose/sessions/" not in path:
            return
        for _ in range(20):
            page = self.get(path, "GET /diagnose/sessions/[id]")
            self.take_token(page)
            if f'action="{path}/answer"' not in page:
                break  # a terminal: nothing more to answer
            node = inputs(page).get("node", "")
            options = [html.unescape(o) for o in OPTION_BUTTON.findall(page)]
            if options:
                answer = {"option": random.choice(options)}
            elif 'name="value"' in page:
                # Measure ranges cover every number, so any plausible reading leads somewhere.
                answer = {"value": f"{random.uniform(0, 40):.1f}"}
            else:
                answer = {"proceed": "y"}
            self.post_form(
                f"{path}/answer", "POST /diagnose/sessions/[id]/answer", node=node, **answer
            )

    @task(1)
    def order(self) -> None:
        """Add one to three parts to the cart, look at the report, place the order."""
        for number in random.sample(PLAN["orderable"], k=random.randint(1, 3)):
            self.post_form(
                "/orders/cart/add",
                "POST /orders/cart/add",
                number=spelling(number),
                quantity=str(random.randint(1, 2)),
                back="",
            )
        page = self.get("/orders/cart", "GET /orders/cart")
        fields = inputs(page)
        self.take_token(page)
        response = self.post_form(
            "/orders/cart/place",
            "POST /orders/cart/place",
            key=fields.get("key", uuid.uuid4().hex),
            reference=f"job {random.randint(1000, 9999)}",
            kind="paid",
            job="",
        )
        where = response.headers.get("location") or response.headers.get("Location") or ""
        if "/orders/" in where:
            self.get(urlsplit(where).path, "GET /orders/[id]")


class Agent(_Browser):
    weight = 1

    def on_start(self) -> None:
        accounts = PLAN["agents"]
        self.sign_in(accounts[next(_agents) % len(accounts)])

    @task
    def work_the_queue(self) -> None:
        page = self.get("/escalations", "GET /escalations")
        references = TICKET_LINK.findall(page)
        if not references:
            return
        reference = random.choice(references[:20])
        page = self.get(f"/escalations/{reference}", "GET /escalations/[reference]")
        self.take_token(page)
        if random.random() < 0.3:
            self.post_form(
                f"/escalations/{reference}/reply",
                "POST /escalations/[reference]/reply",
                text="Thanks: please check the power board connector CN6101 and report back.",
                action="reply",
            )


class Workshop(_Person):
    """A workshop system on the API, with a technician's token."""

    weight = 3

    def on_start(self) -> None:
        accounts = PLAN["technicians"]
        account = accounts[next(_technicians) % len(accounts)]
        self.headers = {"Authorization": f"Bearer {account['token']}"}

    @task(6)
    def search(self) -> None:
        if random.random() < 0.5:
            query, name = random.choice(PLAN["words"]), "GET /api/v1/search?q=[words]"
        else:
            number = random.choice(PLAN["current"] + PLAN["superseded"])
            query, name = spelling(number), "GET /api/v1/search?q=[number]"
        self.send("GET", f"/api/v1/search?{urlencode({'q': query, 'limit': 10})}", name)

    @task(6)
    def resolution(self) -> None:
        """What to order today, mostly for old numbers (that is why it is asked)."""
        pool = random.choice(["superseded", "superseded", "current", "unknown"])
        number = spelling(random.choice(PLAN[pool]))
        self.send(
            "GET",
            f"/api/v1/parts/{number}/resolution",
            "GET /api/v1/parts/[number]/resolution",
        )

    @task(2)
    def part(self) -> None:
        number = random.choice(PLAN["current"] + PLAN["superseded"])
        self.send("GET", f"/api/v1/parts/{number}", "GET /api/v1/parts/[number]")

    @task(2)
    def walk(self) -> None:
        walk = random.choice(PLAN["walks"])
        start = {"code": walk["code"]} if walk["code"] else {"tree": walk["tree"]}
        response = self.send(
            "POST",
            "/api/v1/diagnostics/sessions",
            "POST /api/v1/diagnostics/sessions",
            json={**start, "model": walk["model"]},
        )
        if response.status_code != 201:
            return
        document = response.json()
        session_id = document["id"]
        node = document["node"]
        for _ in range(20):
            if node["kind"] in TERMINALS:
                break
            if node["kind"] == "choice":
                answer: dict[str, Any] = {"option": random.choice(node["options"])["label"]}
            elif node["kind"] == "measure":
                answer = {"value": measured(node)}
            else:
                answer = {"continue": True}
            response = self.send(
                "POST",
                f"/api/v1/diagnostics/sessions/{session_id}/answers",
                "POST /api/v1/diagnostics/sessions/[id]/answers",
                json={**answer, "node": node["id"]},
            )
            if response.status_code != 200:
                return
            node = response.json()["node"]
        if node["kind"] == "escalate":
            self.escalate(walk["model"], session_id)

    @task(1)
    def escalation(self) -> None:
        self.escalate(random.choice(PLAN["models"]), None)

    def escalate(self, model: str, walk: str | None) -> None:
        body = {
            "subject": random.choice(PLAN["subjects"]),
            "description": "Replaced the fuse; it blows again at power on. Measurements attached.",
            "category": random.choice(["technical", "parts", "warranty"]),
            "model_number": model,
            "serial": str(random.randint(4_000_000, 4_999_999)),
            "priority": random.choice(["normal", "normal", "normal", "urgent"]),
        }
        if walk:
            body["diagnostic_session"] = walk
        key = uuid.uuid4().hex
        self.send(
            "POST",
            "/api/v1/escalations",
            "POST /api/v1/escalations",
            json=body,
            headers={"Idempotency-Key": key},
        )
        if random.random() < 0.1:  # the answer was lost: the client sends it again
            self.send(
                "POST",
                "/api/v1/escalations",
                "POST /api/v1/escalations (retried key)",
                json=body,
                headers={"Idempotency-Key": key},
            )

    @task(2)
    def order(self) -> None:
        lines = [
            {"part_number": spelling(n), "quantity": random.randint(1, 3)}
            for n in random.sample(PLAN["orderable"], k=random.randint(1, 4))
        ]
        body = {"reference": f"WS-{random.randint(10000, 99999)}", "kind": "paid", "lines": lines}
        key = uuid.uuid4().hex
        self.send(
            "POST",
            "/api/v1/orders",
            "POST /api/v1/orders",
            json=body,
            headers={"Idempotency-Key": key},
        )
        if random.random() < 0.1:
            self.send(
                "POST",
                "/api/v1/orders",
                "POST /api/v1/orders (retried key)",
                json=body,
                headers={"Idempotency-Key": key},
            )


class Hello(_Person):
    weight = 1

    @task
    def hello(self) -> None:
        self.get("/__hello", "GET /__hello")
