"""Decision trees as plain data: parsed from the YAML/JSON contract, written back unchanged.

A tree document is read into frozen dataclasses (``Tree``, ``Node``) that the walk and the
pages use, and ``to_document`` gives back the same structure, so an export of an imported tree
imports to the identical tree. Structural problems (a missing field, a wrong type, an unknown
node kind) are collected, not raised one at a time: ``parse`` names every one.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

CHOICE, MEASURE, STEP = "choice", "measure", "step"
FIX, EXCHANGE, ESCALATE = "fix", "exchange", "escalate"
QUESTIONS = (CHOICE, MEASURE, STEP)
TERMINALS = (FIX, EXCHANGE, ESCALATE)
KINDS = QUESTIONS + TERMINALS

_SLUG = re.compile(r"[a-z0-9][a-z0-9._-]{0,74}")
# No dots: problems name their place as nodes.<id>.<field>.
_NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")
MAX_NODES = 500  # TREE_MAX_NODES by default
MAX_BYTES = 1024 * 1024  # TREE_MAX_BYTES by default: 500 nodes with long texts fit
_TOP_KEYS = (
    "id",
    "title",
    "product_line",
    "models",
    "chassis",
    "codes",
    "symptoms",
    "start",
    "nodes",
)
_NODE_KEYS = (
    "kind",
    "text",
    "options",
    "unit",
    "plausible",
    "ranges",
    "next",
    "parts",
    "labour_minutes",
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a tree: where (``nodes.psu.ranges[1]``, or a line and column of the
    file) and what."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


@dataclass(frozen=True)
class Option:
    label: str
    next: str


@dataclass(frozen=True)
class Range:
    """Values ``low <= v < high``; a missing bound is open."""

    next: str
    low: float | None = None  # "from"
    high: float | None = None  # "below"

    def contains(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value < self.high)

    def describe(self, unit: str | None) -> str:
        u = f" {unit}" if unit else ""
        if self.low is not None and self.high is not None:
            return f"{_num(self.low)}{u} to below {_num(self.high)}{u}"
        if self.high is not None:
            return f"below {_num(self.high)}{u}"
        if self.low is not None:
            return f"{_num(self.low)}{u} or more"
        return "any value"


def _num(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class PartRef:
    part: str
    qty: int = 1


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    text: str
    options: tuple[Option, ...] = ()
    unit: str | None = None
    ranges: tuple[Range, ...] = ()
    next: str | None = None
    parts: tuple[PartRef, ...] = ()
    labour_minutes: int | None = None
    # A measurement's plausible values, ends included: anything else is taken only when confirmed.
    plausible: tuple[float, float] | None = None

    @property
    def is_terminal(self) -> bool:
        return self.kind in TERMINALS

    def is_plausible(self, value: float) -> bool:
        return self.plausible is None or self.plausible[0] <= value <= self.plausible[1]

    def describe_plausible(self) -> str:
        """``0 to 30 V`` (empty without a plausible range)."""
        if self.plausible is None:
            return ""
        u = f" {self.unit}" if self.unit else ""
        return f"{_num(self.plausible[0])} to {_num(self.plausible[1])}{u}"

    def successors(self) -> list[str]:
        found = [o.next for o in self.options] + [r.next for r in self.ranges]
        if self.next:
            found.append(self.next)
        return found


@dataclass(frozen=True)
class Tree:
    id: str
    title: str
    start: str
    nodes: dict[str, Node]
    product_line: str | None = None
    models: tuple[str, ...] = ()
    chassis: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    symptoms: tuple[str, ...] = ()
    document: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    broken: frozenset[str] = frozenset()  # node ids that have problems of their own


@dataclass(frozen=True)
class Limits:
    """How big a tree document may be. Checked before it is parsed: a document of megabytes
    would hold a worker for a minute, and nothing that big is a tree a technician can walk."""

    max_bytes: int = MAX_BYTES
    max_nodes: int = MAX_NODES


DEFAULT_LIMITS = Limits()
_SURROGATE = re.compile(r"[\ud800-\udfff]")

# --- reading -------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML's safe loader without dates: ``unit: 2024-01-01`` is text, as it is in JSON."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def too_big(size: int, limits: Limits, *, name: str = "") -> Problem | None:
    """The problem with a document of ``size`` bytes, if it is over the limit."""
    if size <= limits.max_bytes:
        return None
    return Problem(
        name.strip().rstrip(":"),
        f"{size:,} bytes; a tree may have at most {limits.max_bytes:,} bytes (TREE_MAX_BYTES)",
    )


def too_many_nodes(document: dict[str, Any], limits: Limits) -> Problem | None:
    """The problem with a document's number of nodes, if it is over the limit (counted
    before anything else is read of it)."""
    nodes = document.get("nodes")
    if isinstance(nodes, dict) and len(nodes) > limits.max_nodes:
        return _node_count_problem(limits)
    return None


def _node_count_problem(limits: Limits) -> Problem:
    return Problem(
        "nodes",
        f"more than {limits.max_nodes} nodes; a tree may have at most {limits.max_nodes} "
        "(TREE_MAX_NODES)",
    )


def load_text(
    text: str, *, name: str = "", limits: Limits = DEFAULT_LIMITS
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A YAML or JSON document (JSON is YAML); a syntax error is named with line and column.
    A document over ``limits`` is refused before it is parsed."""
    # A character is at least one byte: most documents are judged without encoding them.
    if len(text) > limits.max_bytes:
        return None, [_oversized(text, limits, name)]
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        return None, [_oversized(text, limits, name)]
    document: Any
    try:
        # JSON is read as JSON: YAML 1.1 takes a number such as 1e-05 (how JSON writes 0.00001)
        # for text, and a tree exported as JSON would not import again.
        document = json.loads(text)
    except ValueError:  # not JSON: read as YAML below
        pass
    except RecursionError:
        return None, [Problem(name, "nested too deeply to be a tree")]
    else:
        if isinstance(document, dict) and (crowded := too_many_nodes(document, limits)):
            return None, [crowded]
        return _checked(document, name)
    try:
        refused = _prescan(text, limits)
        if refused is not None:
            return None, [refused if refused.where else Problem(name, refused.message)]
        document = yaml.load(text, Loader=_Loader)  # nosec B506  # _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{name}line {mark.line + 1}, column {mark.column + 1}" if mark else name
        return None, [Problem(where.strip(), f"not valid YAML or JSON: {exc.problem}")]
    except yaml.YAMLError as exc:
        return None, [Problem(name, f"not valid YAML or JSON: {exc}")]
    except RecursionError:
        return None, [Problem(name, "nested too deeply to be a tree")]
    except ValueError:  # a scalar its constructor cannot take: an integer of 5,000 digits
        return None, [Problem(name, "not valid YAML or JSON: a value cannot be read")]
    return _checked(document, name)


def _oversized(text: str, limits: Limits, name: str) -> Problem:
    problem = too_big(len(text.encode("utf-8", "surrogatepass")), limits, name=name)
    assert problem is not None
    return problem


def _prescan(text: str, limits: Limits) -> Problem | None:
    """What makes YAML unfit to load, from its tokens alone: an alias (a few lines can expand
    to gigabytes), or more nodes than the limit, counted as keys ``kind`` (each node has one)
    and stopping there, before a mapping is built."""
    kinds = 0
    key = False
    for token in yaml.scan(text, Loader=_Loader):
        if isinstance(token, yaml.AliasToken):
            return Problem("", "anchors and aliases (*name) are not allowed in a tree")
        if key and isinstance(token, yaml.ScalarToken) and token.value == "kind":
            kinds += 1
            if kinds > limits.max_nodes:
                return _node_count_problem(limits)
        key = isinstance(token, yaml.KeyToken)
    return None


def _lone_surrogate_at(value: Any, where: str = "") -> str | None:
    """Where a text holds half of a UTF-16 pair (YAML and JSON can spell one, ``"\\ud800"``),
    or ``None``. No database takes one as text, and a page showing it fails."""
    if isinstance(value, str):
        return where if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}".lstrip(".") if isinstance(key, str) else where
            if isinstance(key, str) and _SURROGATE.search(key):
                return inner
            if (found := _lone_surrogate_at(item, inner)) is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (found := _lone_surrogate_at(item, f"{where}[{i}]")) is not None:
                return found
    return None


def _surrogate_problem(where: str) -> Problem:
    return Problem(
        where, "holds half of a UTF-16 surrogate pair (such as \\ud800), which is not text"
    )


def _checked(document: Any, name: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    if not isinstance(document, dict):
        return None, [Problem(name, "a tree is a mapping with id, title, start and nodes")]
    if (where := _lone_surrogate_at(document)) is not None:
        return None, [_surrogate_problem(f"{name}{where}")]
    try:
        json.dumps(document, allow_nan=False)
    except (TypeError, ValueError):
        return None, [
            Problem(name, "only text, numbers, lists and mappings (no NaN, infinity or binary)")
        ]
    return document, []


class _Reader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    def text(
        self, data: dict[str, Any], key: str, where: str, *, required: bool = True
    ) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.add(where, f"“{key}” is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.add(f"{where}.{key}".lstrip("."), "must be text")
            return None
        text = str(value).strip()
        if required and not text:
            self.add(f"{where}.{key}".lstrip("."), "must not be empty")
        return text

    def texts(self, data: dict[str, Any], key: str) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            self.add(key, "must be a list of text")
            return ()
        return tuple(str(v).strip() for v in value)

    def number(self, value: Any, where: str) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(where, "must be a number")
            return None
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self.add(where, "must be a finite number")
            return None
        return number

    def keys(self, data: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in data:
            if key not in allowed:
                self.add(f"{where}.{key}", f"unknown field (expected {', '.join(allowed)})")

    def length(self, value: str | None, limit: int, where: str) -> None:
        if value is not None and len(value) > limit:
            self.add(where, f"at most {limit} characters")


def parse(
    document: dict[str, Any], *, max_nodes: int | None = MAX_NODES
) -> tuple[Tree | None, list[Problem]]:
    """The tree a document describes (``None`` when its id, title, start or nodes are missing)
    and every structural problem in it; nodes with problems are left out of ``nodes`` and named
    in ``broken``. ``max_nodes=None`` reads a stored tree whatever the limit is today."""
    try:
        json.dumps(document, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None, [Problem("", "only text, numbers, lists and mappings (no NaN or infinity)")]
    if (where := _lone_surrogate_at(document)) is not None:
        return None, [_surrogate_problem(where)]
    r = _Reader()
    for key in document:
        if key not in _TOP_KEYS:
            r.add(str(key), f"unknown field (expected one of {', '.join(_TOP_KEYS)})")
    tree_id = r.text(document, "id", "")
    title = r.text(document, "title", "")
    start = r.text(document, "start", "")
    product_line = r.text(document, "product_line", "", required=False)
    models = r.texts(document, "models")
    chassis = r.texts(document, "chassis")
    codes = r.texts(document, "codes")
    symptoms = r.texts(document, "symptoms")
    if tree_id and not _SLUG.fullmatch(tree_id):
        r.add("id", "1 to 75 lower-case letters, digits, dots, dashes or underscores")
    r.length(title, 200, "title")
    r.length(product_line, 40, "product_line")
    for code in codes:
        if ":" not in code or not all(code.split(":", 1)):
            r.add("codes", f"“{code}” is not scheme:value (e.g. blink:6)")
        r.length(code, 40, "codes")
    for pattern in (*models, *chassis):
        r.length(pattern, 40, "models")
    raw_nodes = document.get("nodes")
    nodes: dict[str, Node] = {}
    broken: set[str] = set()  # nodes with problems of their own: left out of the graph checks
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        r.add("nodes", "“nodes” is missing or empty: a mapping of node id to node")
    else:
        if max_nodes is not None and len(raw_nodes) > max_nodes:
            r.add("nodes", f"at most {max_nodes} nodes in one tree")
            return None, r.problems
        for node_id, raw in raw_nodes.items():
            seen = len(r.problems)
            if not _NODE_ID.fullmatch(str(node_id)):
                r.add(
                    f"nodes.{node_id}",
                    "a node id is 1 to 80 letters, digits, dashes or underscores",
                )
            node = _parse_node(r, str(node_id), raw)
            if node is not None and len(r.problems) == seen:
                nodes[node.id] = node
            else:
                broken.add(str(node_id))
    if not (tree_id and title and start) or not isinstance(raw_nodes, dict):
        return None, r.problems
    tree = Tree(
        id=tree_id,
        title=title,
        start=start,
        nodes=nodes,
        product_line=product_line or None,
        models=models,
        chassis=chassis,
        codes=codes,
        symptoms=symptoms,
        document=to_document_dict(document),
        broken=frozenset(broken),
    )
    return tree, r.problems


def _parse_node(r: _Reader, node_id: str, raw: Any) -> Node | None:
    where = f"nodes.{node_id}"
    if not isinstance(raw, dict):
        r.add(where, "a node is a mapping with kind and text")
        return None
    for key in raw:
        if key not in _NODE_KEYS:
            r.add(f"{where}.{key}", "unknown field")
    kind = r.text(raw, "kind", where)
    text = r.text(raw, "text", where)
    if kind is not None and kind not in KINDS:
        r.add(f"{where}.kind", f"“{kind}” is not one of {', '.join(KINDS)}")
        return None
    options: list[Option] = []
    ranges: list[Range] = []
    parts: list[PartRef] = []
    plausible: tuple[float, float] | None = None
    if "plausible" in raw and kind != MEASURE:
        r.add(f"{where}.plausible", "only a measurement has a plausible range")
    if kind == CHOICE:
        raw_options = raw.get("options", [])  # none yet: incomplete (validation), not malformed
        if not isinstance(raw_options, list):
            r.add(f"{where}.options", "a list of {label, next}")
        else:
            labels: set[str] = set()
            for i, option in enumerate(raw_options):
                at = f"{where}.options[{i}]"
                if not isinstance(option, dict):
                    r.add(at, "an option is {label, next}")
                    continue
                r.keys(option, ("label", "next"), at)
                label, nxt = r.text(option, "label", at), r.text(option, "next", at)
                r.length(label, 200, f"{at}.label")
                if label and label in labels:
                    r.add(at, f"the label “{label}” appears twice")
                if label and nxt:
                    labels.add(label)
                    options.append(Option(label, nxt))
    elif kind == MEASURE:
        raw_ranges = raw.get("ranges", [])
        if not isinstance(raw_ranges, list):
            r.add(f"{where}.ranges", "a list of {below and/or from, next}")
        else:
            for i, item in enumerate(raw_ranges):
                at = f"{where}.ranges[{i}]"
                if not isinstance(item, dict):
                    r.add(at, "a range is {below and/or from, next}")
                    continue
                r.keys(item, ("below", "from", "next"), at)
                nxt = r.text(item, "next", at)
                low = r.number(item["from"], f"{at}.from") if "from" in item else None
                high = r.number(item["below"], f"{at}.below") if "below" in item else None
                if low is not None and high is not None and low >= high:
                    r.add(at, f"from {low:g} is not below {high:g}")
                if nxt:
                    ranges.append(Range(nxt, low, high))
        if "plausible" in raw:
            plausible = _plausible(r, raw["plausible"], f"{where}.plausible")
    elif kind == FIX:
        raw_parts = raw.get("parts", [])  # a fix may need no part (a reseated connector)
        if not isinstance(raw_parts, list):
            r.add(f"{where}.parts", "a list of {part, qty}")
        else:
            for i, item in enumerate(raw_parts):
                at = f"{where}.parts[{i}]"
                number = r.text(item, "part", at) if isinstance(item, dict) else None
                if isinstance(item, dict):
                    r.keys(item, ("part", "qty"), at)
                    r.length(number, 40, f"{at}.part")
                qty = item.get("qty", 1) if isinstance(item, dict) else None
                if not isinstance(item, dict):
                    r.add(at, "a part is {part, qty}")
                elif isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
                    r.add(f"{at}.qty", "must be a whole number of at least 1")
                elif number:
                    parts.append(PartRef(number, qty))
    labour = raw.get("labour_minutes")
    if labour is not None and (
        isinstance(labour, bool) or not isinstance(labour, int) or labour < 0
    ):
        r.add(f"{where}.labour_minutes", "must be a whole number of minutes")
        labour = None
    unit = r.text(raw, "unit", where, required=False)
    r.length(unit, 20, f"{where}.unit")
    nxt = r.text(raw, "next", where, required=False)
    if kind is None or text is None:
        return None
    return Node(
        id=node_id,
        kind=kind,
        text=text,
        options=tuple(options),
        unit=str(unit) if unit is not None else None,
        ranges=tuple(ranges),
        next=str(nxt) if nxt else None,
        parts=tuple(parts),
        labour_minutes=labour,
        plausible=plausible,
    )


def _plausible(r: _Reader, value: Any, where: str) -> tuple[float, float] | None:
    if not isinstance(value, list) or len(value) != 2:
        r.add(where, "two numbers, [lowest, highest] (e.g. [0, 30])")
        return None
    low, high = (r.number(v, f"{where}[{i}]") for i, v in enumerate(value))
    if low is None or high is None:
        return None
    if low >= high:
        r.add(where, f"the lowest plausible value {low:g} is not below the highest {high:g}")
        return None
    return (low, high)


# --- writing -------------------------------------------------------------------------------------


def to_document_dict(document: dict[str, Any]) -> dict[str, Any]:
    """The document as stored and exported: the contract's keys in the contract's order."""
    ordered = {key: document[key] for key in _TOP_KEYS if key in document}
    nodes = ordered.get("nodes")
    if isinstance(nodes, dict):
        ordered["nodes"] = {
            str(node_id): {k: node[k] for k in _NODE_KEYS if k in node}
            if isinstance(node, dict)
            else node
            for node_id, node in nodes.items()
        }
    return ordered


def dump(document: dict[str, Any], *, fmt: str = "yaml") -> str:
    """The document as YAML (keys in the contract's order) or JSON."""
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100))
