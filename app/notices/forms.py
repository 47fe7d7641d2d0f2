"""The notice form: each required part its own field. The form checks shape only; which parts
are missing and which targets are unknown is the service's answer, all at once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2; not in its stubs yet
from wtforms.validators import Length, Optional

from app.forms import Form
from app.notices.changes import LINE_COLUMNS, CarriedChange, read_lines
from app.notices.models import Notice, NoticeKind, TargetKind
from app.notices.services import NoticeInput


class Needed:
    """Marks a field required (the label's star, ``required`` on the input) without refusing
    it here: the service names every missing part in one answer, the API's words too."""

    field_flags = {"required": True}  # noqa: RUF012  # WTForms reads this class attribute

    def __call__(self, form: Any, field: Field) -> None:
        return None


_SPLIT = re.compile(r"[,\n;]+")


def split(text: str | None) -> list[str]:
    """Comma, semicolon or line separated values, blanks dropped, order kept."""
    return [v.strip() for v in _SPLIT.split(text or "") if v.strip()]


#: The target fields, as the form names them and as the service knows them.
TARGET_FIELDS = {
    "product_lines": TargetKind.PRODUCT_LINE,
    "models": TargetKind.MODEL,
    "parts": TargetKind.PART,
    "trees": TargetKind.TREE,
    "centres": TargetKind.CENTRE,
    "roles": TargetKind.ROLE,
}


def _targets_field(label: str, hint: str) -> TextAreaField:
    return TextAreaField(label, validators=[Optional(), Length(max=4000)], description=hint)


class NoticeForm(Form):
    version = HiddenField(validators=[Optional(), Length(max=10)])
    kind = SelectField(
        "Kind",
        choices=[SelectChoice(k.value, k.label) for k in NoticeKind],
        validators=[Needed()],
        description="Service bulletin: a known fault and its fix. Part notice: a supersession, "
        "a recall, a safety matter. Policy or support change: how we work with you.",
    )
    safety = BooleanField(
        "Safety notice: technicians acknowledge it before they walk an affected tree or order "
        "an affected part"
    )
    title = StringField(
        "Title",
        validators=[Needed(), Length(max=200)],
        description="What it is about, in a line: “Power board GL2: fit GL2A only”.",
    )
    what_changes = TextAreaField(
        "What changes",
        validators=[Needed(), Length(max=8000)],
        description="The fact, plainly: what is withdrawn, replaced, closed or new.",
    )
    why = TextAreaField(
        "Why",
        validators=[Needed(), Length(max=8000)],
        description="The reason a technician can repeat to a customer.",
    )
    effective_on = DateField(
        "From when",
        validators=[Needed(), Optional()],
        description="The day it applies from.",
    )
    what_to_do = TextAreaField(
        "What to do instead",
        validators=[Needed(), Length(max=8000)],
        description="The steps, the new address or the new part number: what a technician does "
        "from that day.",
    )
    contact = TextAreaField(
        "Who to contact",
        validators=[Needed(), Length(max=1000)],
        description="A name, an address or a number for questions.",
    )
    product_lines = _targets_field("Product lines", "For example: TV, Audio.")
    models = _targets_field(
        "Models", "Model numbers or globs as trees use them: KDL-*, XBR-55X900E."
    )
    parts = _targets_field(
        "Parts", "Part numbers; a part reaches its whole supersession chain, old and new numbers."
    )
    trees = _targets_field("Diagnostic trees", "Tree slugs, such as tv-red-led-blinks.")
    centres = _targets_field("Service centres", "Centre names; none: every centre.")
    roles = _targets_field("Roles", "None: technicians and centre managers.")
    carries_tree = StringField(
        "Publish a tree revision with it",
        validators=[Optional(), Length(max=100)],
        description="A draft revision, as tree slug and number: tv-red-led-blinks 3.",
    )
    carries_supersessions = TextAreaField(
        "Import supersessions with it",
        validators=[Optional(), Length(max=20000)],
        description="One a line: old, new, quantity, interchangeability, effective_on, note "
        "(only old and new are needed). Imported as a delta release named after the notice "
        "when it is published.",
    )

    def asked(self) -> NoticeInput:
        """What was typed, for the service (which judges it)."""
        targets = {
            kind.value: split(getattr(self, name).data) for name, kind in TARGET_FIELDS.items()
        }
        return NoticeInput(
            kind=self.kind.data or "",
            title=self.title.data or "",
            what_changes=self.what_changes.data or "",
            why=self.why.data or "",
            effective_on=self.effective_on.data,
            what_to_do=self.what_to_do.data or "",
            contact=self.contact.data or "",
            safety=bool(self.safety.data),
            targets={k: v for k, v in targets.items() if v},
            carries=self.carried(),
        )

    def carried(self) -> CarriedChange:
        """The change typed; a malformed one is named beside its field by :meth:`apply`."""
        tree_id, revision = None, None
        words = (self.carries_tree.data or "").split()
        if words:
            tree_id = words[0]
            if len(words) != 2 or not words[1].isdigit():
                self._carried_problems["carries_tree"] = (
                    "Give the tree slug and the draft's revision number: tv-red-led-blinks 3."
                )
            else:
                revision = int(words[1])
        rows, problems = read_lines(self.carries_supersessions.data or "")
        if problems:
            self._carried_problems["carries_supersessions"] = "; ".join(problems)
        return CarriedChange(tree_id=tree_id, tree_revision=revision, supersessions=tuple(rows))

    @property
    def _carried_problems(self) -> dict[str, str]:
        found: dict[str, str] | None = getattr(self, "_carried", None)
        if found is None:
            found = {}
            self._carried = found
        return found

    def carried_problems(self) -> dict[str, str]:
        """What :meth:`carried` could not read (after :meth:`asked`)."""
        return dict(self._carried_problems)

    def apply(self, errors: Mapping[str, str] | list[str]) -> None:
        """Put the service's refusals beside their fields; the targets' above the targets."""
        if isinstance(errors, list):
            self.form_errors.extend(errors)
            return
        for name, message in errors.items():
            field = getattr(self, name, None)
            if name == "targets":
                self.target_errors.append(message)
            elif isinstance(field, Field):
                field.errors = [*field.errors, message]
            else:
                self.form_errors.append(message)

    @property
    def target_errors(self) -> list[str]:
        found: list[str] | None = getattr(self, "_target_errors", None)
        if found is None:
            found = []
            self._target_errors = found
        return found


def filled_from(notice: Notice) -> dict[str, Any]:
    """A notice as the form's data, to edit it."""
    data: dict[str, Any] = {
        "version": str(notice.version),
        "kind": notice.kind.value,
        "safety": notice.safety,
        "title": notice.title,
        "what_changes": notice.what_changes,
        "why": notice.why,
        "effective_on": notice.effective_on,
        "what_to_do": notice.what_to_do,
        "contact": notice.contact,
    }
    for name, kind in TARGET_FIELDS.items():
        data[name] = ", ".join(t.value for t in notice.targets if t.kind == kind)
    if notice.carries_tree_id:
        data["carries_tree"] = (
            f"{notice.carries_tree_id} {notice.carries_tree_revision or ''}".strip()
        )
    data["carries_supersessions"] = "\n".join(
        ", ".join(row.get(c, "") for c in LINE_COLUMNS).rstrip(", ")
        for row in notice.carries_supersessions or []
    )
    return data
