"""Trees for engineers over JSON: read any revision or the draft with its version (ETag), save
the draft against the version it was based on (If-Match), publish."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from marshmallow import Schema, fields, validate

from app.access import roles, signed_in
from app.api import bp
from app.db import after_commit, get_session, session_factory
from app.diagnose.documents import tree_limits
from app.exceptions import Invalid, NotAllowed, NotFound, PreconditionRequired, TooLarge
from app.roles import Role
from app.search import indexing
from diagnostics import authoring, services, trees
from diagnostics.models import PUBLISHED, TreeRevision

AUTHORS = (Role.ENGINEER, Role.ADMIN)


class TreeArgs(Schema):
    # Revision numbers are 32-bit integers in the database: PostgreSQL refuses to compare one
    # with a larger number (a 500), so such a number is refused here (a 422).
    revision = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    draft = fields.Boolean(load_default=False)


def _search_follows() -> None:
    """This node's tree index takes the published revision now, when that is quick."""
    indexing.sync_after_request(session_factory(), indexing.trees_index())


def _tagged(body: dict[str, Any], revision: TreeRevision, status: int = 200) -> ResponseReturnValue:
    return body, status, {"ETag": f'"{authoring.etag(revision)}"'}


@bp.route("/diagnostics/trees", methods=["GET"])
@bp.response(200)
@signed_in
def list_trees() -> dict[str, Any]:
    """Every tree: its published revision and draft, owner and last change."""
    rows = authoring.overview(get_session())
    return {
        "trees": [
            {
                "id": row.tree_id,
                "title": row.title,
                "published_revision": row.published,
                "draft_revision": row.draft,
                "owner": row.owner,
                "last_change": (
                    {
                        "action": row.last_change.action,
                        "by": row.last_change.by,
                        "at": row.last_change.at.isoformat(),
                    }
                    if row.last_change
                    else None
                ),
                "sessions": row.figures.sessions,
            }
            for row in rows
        ]
    }


@bp.route("/diagnostics/trees/<tree_id>", methods=["GET"])
@bp.arguments(TreeArgs, location="query", as_kwargs=True)
@signed_in
def get_tree(tree_id: str, revision: int | None, draft: bool) -> ResponseReturnValue:
    """The tree document (the published revision, ``?revision=N`` or ``?draft=1``), with an
    ``ETag`` holding that revision's version."""
    session = get_session()
    if draft:
        found = authoring.draft_of(session, tree_id)
        if found is None:
            raise NotFound(f"Tree “{tree_id}” has no draft.")
    else:
        found = services.get_revision(session, tree_id, revision)
    if found.status != PUBLISHED and current_user.role not in AUTHORS:
        # Drafts and old revisions are the engineers' work in progress.
        raise NotAllowed("Only engineers read drafts.")
    return _tagged(found.document, found)


#: The body of a draft, for the OpenAPI document: the tree format of the design notes. It is
#: read by the view itself, after its size is checked, and validated by the domain, which names
#: every problem.
TREE_DOCUMENT = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["id", "title", "start", "nodes"],
                "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "product_line": {"type": "string"},
                    "models": {"type": "array", "items": {"type": "string"}},
                    "chassis": {"type": "array", "items": {"type": "string"}},
                    "codes": {"type": "array", "items": {"type": "string"}},
                    "symptoms": {"type": "array", "items": {"type": "string"}},
                    "start": {"type": "string"},
                    "nodes": {"type": "object", "additionalProperties": {"type": "object"}},
                },
            }
        }
    },
}


@bp.route("/diagnostics/trees/<tree_id>/draft", methods=["PUT"])
@bp.doc(requestBody=TREE_DOCUMENT)
@roles(*AUTHORS)
def put_draft(tree_id: str) -> ResponseReturnValue:
    """Save the tree document as the draft. ``If-Match`` names the version it was based on;
    409 when stale (the stored version is in the answer), 422 when malformed. A well-formed
    but invalid draft is saved and says why it cannot be published."""
    limits = tree_limits()
    # Refused before the body is read whole or parsed (a length the client states is trusted
    # to be too big; one not stated is measured).
    size = request.content_length
    if size is None or size <= limits.max_bytes:
        size = len(request.get_data(cache=True))
    refused = trees.too_big(size, limits)
    if refused is not None:
        raise TooLarge(f"{refused}.")
    document = request.get_json(silent=True)
    if not isinstance(document, dict):
        raise Invalid("Send the tree document as JSON.")
    session = get_session()
    try:
        saved = authoring.save_draft(
            session,
            tree_id,
            document,
            based_on=request.headers.get("If-Match"),
            by=current_user.email,
            limits=limits,
        )
    except authoring.StaleDraft as exc:
        # The one error shape, with both versions: the client merges and saves again.
        current = exc.current
        return jsonify(
            error="Conflict",
            message=str(exc),
            status=409,
            current={"version": authoring.etag(current), "document": current.document},
            yours=document,
        ), 409
    except authoring.VersionRequired as exc:
        raise PreconditionRequired(str(exc)) from exc
    body = {
        "tree": tree_id,
        "revision": saved.revision.number,
        "version": authoring.etag(saved.revision),
        "valid": saved.valid,
        "problems": [str(p) for p in saved.problems],
    }
    return _tagged(body, saved.revision)


@bp.route("/diagnostics/trees/<tree_id>/publish", methods=["POST"])
@roles(*AUTHORS)
def publish_tree(tree_id: str) -> ResponseReturnValue:
    """Publish the draft; 422 with every problem when it is not valid; with ``If-Match``, 409
    when the draft changed since that version."""
    session = get_session()
    try:
        revision = authoring.publish(
            session, tree_id, by=current_user.email, based_on=request.headers.get("If-Match")
        )
    except authoring.StaleDraft as exc:
        return jsonify(
            error="Conflict",
            message=str(exc),
            status=409,
            current={"version": authoring.etag(exc.current)},
        ), 409
    after_commit(_search_follows)
    return _tagged(
        {"tree": tree_id, "revision": revision.number, "status": revision.status}, revision
    )
