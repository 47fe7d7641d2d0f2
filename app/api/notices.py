"""The notices API: write a notice (422 naming every missing part), review it, publish it (409
until reviewed), list what waits for my acknowledgement, acknowledge (idempotent)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from app.access import roles, signed_in, signed_in_user
from app.api import bp
from app.db import after_commit, get_session
from app.exceptions import NotFound
from app.extensions import current_settings
from app.notices import changes, policy, services
from app.notices.models import Notice, NoticeStatus
from app.search import indexing

WRITERS = tuple(policy.WRITERS)


class NoticeArgs(Schema):
    """A notice as the API takes it: every part is required, and a missing one is named."""

    class Meta:
        unknown = EXCLUDE

    kind = fields.String(
        load_default="",
        metadata={"description": "service_bulletin, part_notice, policy_change, support_change"},
    )
    safety = fields.Boolean(load_default=False)
    title = fields.String(load_default="", metadata={"description": "Required."})
    what_changes = fields.String(load_default="", metadata={"description": "Required."})
    why = fields.String(load_default="", metadata={"description": "Required."})
    effective_on = fields.String(
        load_default="", metadata={"description": "Required: YYYY-MM-DD, from when it applies."}
    )
    what_to_do = fields.String(
        load_default="", metadata={"description": "Required: the steps, the new address or part."}
    )
    contact = fields.String(load_default="", metadata={"description": "Required."})
    targets = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        load_default=dict,
        metadata={
            "description": "{product_line: [...], model: [globs], part: [...], tree: [...], "
            "centre: [names], role: [...]}"
        },
    )

    carries = fields.Dict(
        load_default=dict,
        metadata={
            "description": "A change published with it: {tree: {id, revision}, supersessions: "
            "[{old_part_number, new_part_number, quantity?, interchangeability?, effective_on?, "
            "note?}]}"
        },
    )

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        raise services.NoticeError(
            "The notice was not saved: some fields are not text.",
            errors={str(k): "Not valid." for k in (error.messages or {})},
        )


class EmptyArgs(Schema):
    class Meta:
        unknown = EXCLUDE


def _asked(args: dict[str, Any]) -> tuple[services.NoticeInput, dict[str, str]]:
    problems: dict[str, str] = {}
    effective_on = None
    typed = (args.get("effective_on") or "").strip()
    if typed:
        try:
            effective_on = date.fromisoformat(typed)
        except ValueError:
            problems["effective_on"] = "A date as YYYY-MM-DD."
    return (
        services.NoticeInput(
            kind=args.get("kind") or "",
            title=args.get("title") or "",
            what_changes=args.get("what_changes") or "",
            why=args.get("why") or "",
            effective_on=effective_on,
            what_to_do=args.get("what_to_do") or "",
            contact=args.get("contact") or "",
            safety=bool(args.get("safety")),
            targets=args.get("targets") or {},
            carries=_carried(args.get("carries") or {}, problems),
        ),
        problems,
    )


def _carried(raw: dict[str, Any], problems: dict[str, str]) -> changes.CarriedChange:
    """The change a bulletin carries, as sent; what is malformed is added to ``problems``."""
    tree = raw.get("tree") or {}
    rows = raw.get("supersessions") or []
    if not isinstance(tree, dict) or not isinstance(rows, list):
        problems["carries"] = "{tree: {id, revision}, supersessions: [...]}"
        return changes.CarriedChange()
    tree_id = str(tree.get("id") or "").strip() or None
    revision = tree.get("revision")
    if tree_id and not isinstance(revision, int):
        problems["carries_tree"] = "Give the draft revision's number."
        revision = None
    clean: list[dict[str, str]] = []
    for number, row in enumerate(rows, start=1):
        if (
            not isinstance(row, dict)
            or not row.get("old_part_number")
            or not row.get("new_part_number")
        ):
            problems["carries_supersessions"] = (
                f"row {number}: old_part_number and new_part_number are needed"
            )
            continue
        clean.append({k: str(row[k]) for k in changes.LINE_COLUMNS if row.get(k) not in (None, "")})
    return changes.CarriedChange(tree_id, revision, tuple(clean))


def notice_document(notice: Notice, *, acknowledged_at: Any = None) -> dict[str, Any]:
    targets: dict[str, list[str]] = {}
    for target in notice.targets:
        targets.setdefault(target.kind.value, []).append(target.value)
    return {
        "id": notice.id,
        "reference": notice.reference,
        "kind": notice.kind.value,
        "safety": notice.safety,
        "status": notice.status.value,
        "version": notice.version,
        "title": notice.title,
        "what_changes": notice.what_changes,
        "why": notice.why,
        "effective_on": notice.effective_on.isoformat(),
        "what_to_do": notice.what_to_do,
        "contact": notice.contact,
        "targets": targets,
        "carries": {
            "tree": {"id": notice.carries_tree_id, "revision": notice.carries_tree_revision}
            if notice.carries_tree_id
            else None,
            "supersessions": list(notice.carries_supersessions or []),
            "release": notice.carried_release,
        },
        "published_at": notice.published_at.isoformat() if notice.published_at else None,
        "acknowledged_at": acknowledged_at.isoformat() if acknowledged_at else None,
    }


@bp.route("/notices", methods=["POST"])
@bp.arguments(NoticeArgs)
@roles(*WRITERS)
def create_notice(args: dict[str, Any]) -> ResponseReturnValue:
    """Write a draft notice → 201; 422 naming every missing part (what changes, why, from
    when, what to do instead, whom to contact)."""
    asked, problems = _asked(args)
    if problems:
        _targets, errors = services.check(get_session(), asked)
        raise services.NoticeError("The notice was not saved.", errors={**errors, **problems})
    notice = services.create(get_session(), by=signed_in_user(), asked=asked)
    return notice_document(notice), 201


@bp.route("/notices", methods=["GET"])
@signed_in
def list_notices() -> dict[str, Any]:
    """Published notices; ``?unacknowledged=1``: only those sent to me that I have not
    acknowledged (safety first)."""
    session = get_session()
    user = signed_in_user()
    if request.args.get("unacknowledged") in ("1", "true", "yes"):
        found = services.unacknowledged(session, user)
    else:
        found = services.published(session)
    return {
        "notices": [
            notice_document(n, acknowledged_at=services.acknowledged_at(session, n, user))
            for n in found
        ]
    }


@bp.route("/notices/<int:notice_id>", methods=["GET"])
@signed_in
def get_notice(notice_id: int) -> dict[str, Any]:
    session = get_session()
    user = signed_in_user()
    notice = services.get(session, notice_id)
    if notice.status != NoticeStatus.PUBLISHED and not policy.may_write(services.person_of(user)):
        raise NotFound(f"No notice {notice_id}.")
    return notice_document(notice, acknowledged_at=services.acknowledged_at(session, notice, user))


@bp.route("/notices/<int:notice_id>/review", methods=["POST"])
@bp.arguments(EmptyArgs)
@roles(*WRITERS)
def review_notice(_args: dict[str, Any], notice_id: int) -> dict[str, Any]:
    """A second engineer (or an admin, never the author) reviews the notice as it stands."""
    session = get_session()
    notice = services.get(session, notice_id)
    services.review(session, notice, by=signed_in_user())
    return notice_document(notice)


@bp.route("/notices/<int:notice_id>/publish", methods=["POST"])
@bp.arguments(EmptyArgs)
@roles(*WRITERS)
def publish_notice(_args: dict[str, Any], notice_id: int) -> dict[str, Any]:
    """Publish a reviewed notice (409 until reviewed): mailed to every person it targets."""
    session = get_session()
    notice = services.get(session, notice_id)
    sent = services.publish(session, notice, by=signed_in_user(), mailer=current_settings().mail)
    if notice.carried_release or notice.carries_tree_id:
        after_commit(indexing.follow_catalogue_and_trees)
    return {**notice_document(notice), "sent_to": sent}


@bp.route("/notices/<int:notice_id>/acknowledge", methods=["POST"])
@bp.arguments(EmptyArgs)
@signed_in
def acknowledge_notice(_args: dict[str, Any], notice_id: int) -> ResponseReturnValue:
    """Acknowledge a published notice: 201 the first time, 200 with the same time after."""
    session = get_session()
    notice = services.get(session, notice_id)
    ack, new = services.acknowledge(session, notice, by=signed_in_user())
    return notice_document(notice, acknowledged_at=ack.acknowledged_at), 201 if new else 200
