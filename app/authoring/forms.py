"""The editor's forms. Options, ranges and parts are edited as short lines ("Yes -> fix-psu",
"below 11.4 -> replace-psu", "1-474-594-11 x 2"), read into the tree format and written back."""

from __future__ import annotations

import re
from typing import Any

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2; not in its stubs yet
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from app.forms import Form
from diagnostics.trees import KINDS

SLUG = Regexp(
    r"^[a-z0-9][a-z0-9._-]{0,74}$",
    message="Lower-case letters, digits, dots, dashes or underscores (e.g. tv-no-sound).",
)
NODE_ID = Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$",
    message="Letters, digits, dashes or underscores (e.g. check-fuse).",
)
KIND_CHOICES = [
    SelectChoice("choice", "Question with answers"),
    SelectChoice("measure", "Measurement"),
    SelectChoice("step", "Step to do"),
    SelectChoice("fix", "Fix (parts to replace)"),
    SelectChoice("exchange", "Exchange the product"),
    SelectChoice("escalate", "Escalate"),
]
assert {c.value for c in KIND_CHOICES} == set(KINDS)

_ARROW = re.compile(r"\s*(?:->|→)\s*")
_RANGE = re.compile(
    r"^(?:from\s+(?P<low>-?[\d.,]+))?\s*(?:below\s+(?P<high>-?[\d.,]+))?\s*(?:->|→)\s*(?P<next>\S+)$",
    re.IGNORECASE,
)
_PLAUSIBLE = re.compile(r"^(?P<low>-?[\d.,]+)\s+to\s+(?P<high>-?[\d.,]+)$", re.IGNORECASE)
_PART = re.compile(r"^(?P<part>\S+?)(?:\s*[x×]\s*(?P<qty>\d+))?$")


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def read_options(text: str | None) -> list[dict[str, str]]:
    options = []
    for line in _lines(text):
        parts = _ARROW.split(line, maxsplit=1)
        if len(parts) != 2 or not all(parts):
            raise ValidationError(f"“{line}”: write an answer as  label -> next-node")
        options.append({"label": parts[0], "next": parts[1]})
    return options


def _number(text: str) -> float | int:
    value = float(text.replace(",", "."))
    return int(value) if value.is_integer() else value


def read_ranges(text: str | None) -> list[dict[str, Any]]:
    ranges = []
    for line in _lines(text):
        match = _RANGE.match(line)
        if match is None or not (match["low"] or match["high"]):
            raise ValidationError(
                f"“{line}”: write a range as  below 11.4 -> node,  from 11.4 below 12.6 -> node "
                "or  from 12.6 -> node"
            )
        item: dict[str, Any] = {}
        try:
            if match["high"]:
                item["below"] = _number(match["high"])
            if match["low"]:
                item["from"] = _number(match["low"])
        except ValueError:
            raise ValidationError(f"“{line}”: not a number") from None
        item["next"] = match["next"]
        ranges.append(item)
    return ranges


def read_plausible(text: str | None) -> list[float | int] | None:
    """``0 to 30`` → ``[0, 30]``; empty → ``None`` (whether low is below high is the tree's
    validation, which names it like every other problem)."""
    line = (text or "").strip()
    if not line:
        return None
    match = _PLAUSIBLE.match(line)
    try:
        if match is None:
            raise ValueError
        return [_number(match["low"]), _number(match["high"])]
    except ValueError:
        raise ValidationError(
            f"“{line}”: write the plausible range as  0 to 30  (lowest to highest)"
        ) from None


def write_plausible(node: dict[str, Any]) -> str:
    value = node.get("plausible")
    if isinstance(value, list) and len(value) == 2:
        return f"{value[0]} to {value[1]}"
    return ""


def read_parts(text: str | None) -> list[dict[str, Any]]:
    parts = []
    for line in _lines(text):
        match = _PART.match(line)
        if match is None:
            raise ValidationError(f"“{line}”: write a part as  1-474-594-11 x 1")
        parts.append({"part": match["part"].strip(), "qty": int(match["qty"] or 1)})
    return parts


def write_options(node: dict[str, Any]) -> str:
    return "\n".join(f"{o.get('label')} -> {o.get('next')}" for o in node.get("options") or [])


def write_ranges(node: dict[str, Any]) -> str:
    lines = []
    for r in node.get("ranges") or []:
        bounds = []
        if "from" in r:
            bounds.append(f"from {r['from']}")
        if "below" in r:
            bounds.append(f"below {r['below']}")
        lines.append(f"{' '.join(bounds)} -> {r.get('next')}")
    return "\n".join(lines)


def write_parts(node: dict[str, Any]) -> str:
    return "\n".join(f"{p.get('part')} x {p.get('qty', 1)}" for p in node.get("parts") or [])


class NewTreeForm(Form):
    tree_id = StringField(
        "Tree id", validators=[DataRequired(), SLUG], description="Stable across revisions."
    )
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    kind = SelectField("The first node is a", choices=KIND_CHOICES, default="choice")
    text = TextAreaField(
        "Its text",
        validators=[DataRequired(), Length(max=4000)],
        description="What the technician reads; Markdown allowed (**bold**, `code`, lists).",
    )


class DetailsForm(Form):
    version = HiddenField()
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    product_line = StringField("Product line", validators=[Optional(), Length(max=40)])
    models = StringField(
        "Models",
        validators=[Length(max=800)],
        description="Patterns, comma-separated: KDL-*, XBR-55X900E",
    )
    chassis = StringField(
        "Chassis", validators=[Length(max=400)], description="Comma-separated; optional."
    )
    codes = StringField(
        "Self-diagnosis codes",
        validators=[Length(max=800)],
        description="scheme:value, comma-separated: blink:2, blink:6",
    )
    symptoms = TextAreaField("Symptoms", validators=[Length(max=4000)], description="One per line.")
    start = StringField("Start node", validators=[DataRequired(), NODE_ID])


class NodeForm(Form):
    version = HiddenField()
    node_id = StringField("Node id", validators=[DataRequired(), NODE_ID])
    kind = SelectField("Kind", choices=KIND_CHOICES)
    text = TextAreaField(
        "Text",
        validators=[DataRequired(), Length(max=4000)],
        description="Markdown allowed: **bold**, `code`, lists, links.",
    )
    options = TextAreaField(
        "Answers (question)",
        validators=[Length(max=4000)],
        description="One per line:  Yes -> next-node",
    )
    unit = StringField("Unit (measurement)", validators=[Optional(), Length(max=20)])
    plausible = StringField(
        "Plausible range (measurement)",
        validators=[Optional(), Length(max=60)],
        description="What a working meter can show here:  0 to 30.  A value outside it is "
        "asked again and taken only when the technician confirms it.",
    )
    ranges = TextAreaField(
        "Ranges (measurement)",
        validators=[Length(max=4000)],
        description="One per line:  below 11.4 -> a,  from 11.4 below 12.6 -> b,  from 12.6 -> c",
    )
    next = StringField("Next node (step)", validators=[Optional(), NODE_ID])
    parts = TextAreaField(
        "Parts (fix)", validators=[Length(max=4000)], description="One per line:  1-474-594-11 x 1"
    )
    labour_minutes = IntegerField(
        "Labour, minutes (fix)", validators=[Optional(), NumberRange(min=0, max=6000)]
    )

    def validate_options(self, field: TextAreaField) -> None:
        read_options(field.data)

    def validate_ranges(self, field: TextAreaField) -> None:
        read_ranges(field.data)

    def validate_plausible(self, field: StringField) -> None:
        read_plausible(field.data)

    def validate_parts(self, field: TextAreaField) -> None:
        read_parts(field.data)

    def node(self) -> dict[str, Any]:
        """The node in the tree format (only the fields its kind uses)."""
        kind = self.kind.data
        node: dict[str, Any] = {"kind": kind, "text": (self.text.data or "").strip()}
        if kind == "choice":
            node["options"] = read_options(self.options.data)
        elif kind == "measure":
            if self.unit.data:
                node["unit"] = self.unit.data.strip()
            plausible = read_plausible(self.plausible.data)
            if plausible is not None:
                node["plausible"] = plausible
            node["ranges"] = read_ranges(self.ranges.data)
        elif kind == "step":
            if self.next.data:
                node["next"] = self.next.data.strip()
        elif kind == "fix":
            parts = read_parts(self.parts.data)
            if parts:
                node["parts"] = parts
            if self.labour_minutes.data is not None:
                node["labour_minutes"] = self.labour_minutes.data
        return node


class UploadForm(Form):
    version = HiddenField()
    file = FileField(
        "Tree file (YAML or JSON)",
        validators=[
            FileRequired(),
            FileAllowed(["yaml", "yml", "json"], "A .yaml, .yml or .json file."),
        ],
    )


class VersionForm(Form):
    """A button that acts on the draft as last seen."""

    version = HiddenField()
