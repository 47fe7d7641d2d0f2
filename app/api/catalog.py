"""The catalogue over JSON: parts, resolution, where-used, model parts, releases and diffs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import url_for
from sqlalchemy.orm import Session

from app.access import signed_in
from app.api import bp, plain_without_query
from app.api.schemas import (
    AsOfArgs,
    DiagramSchema,
    DiffArgs,
    DiffSchema,
    ModelPartsSchema,
    PartDetailSchema,
    ReleasesSchema,
    ResolutionArgs,
    ResolutionSchema,
    WhereUsedSchema,
)
from app.auth.loaders import newest_release
from app.db import get_session
from parts_catalog import diagrams, documents, services
from parts_catalog.drawings import SVG
from parts_catalog.models import Release


def _release_for(session: Session, as_of: str | None) -> Release:
    """``services.release_for``, without a statement of its own for the newest release when
    the request's token statement read it already."""
    if not as_of:
        newest = newest_release(session)
        if newest is not None:
            return newest
    return services.release_for(session, as_of)


@bp.route("/parts/<path:number>", methods=["GET"])
@bp.arguments(AsOfArgs, location="query", as_kwargs=True)
@bp.response(200, PartDetailSchema)
@signed_in
def get_part(number: str, as_of: str | None) -> dict[str, Any]:
    """A part as of a release: numbers, price, status, stock, fitments, supersession both ways."""
    session = get_session()
    release = _release_for(session, as_of)
    detail = services.part_detail(session, number, release=release)
    return {
        **documents.part_document(detail.part),
        "release": detail.release,
        "stock": detail.stock,
        "fitments": [documents.fitment_document(f) for f in detail.fitments],
        "replaced_by": [documents.edge_document(e) for e in detail.replaced_by],
        "replaces": [documents.edge_document(e) for e in detail.replaces],
        "resolution": documents.resolution_document(detail.resolution, release=release.label),
    }


@bp.route("/parts/<path:number>/resolution", methods=["GET"])
@plain_without_query(ResolutionArgs)
@bp.arguments(ResolutionArgs, location="query", as_kwargs=True)
@bp.response(200, ResolutionSchema)
@signed_in
def get_resolution(number: str, as_of: str | None, serial: str | None) -> dict[str, Any]:
    """What to order today for a number; unknown numbers answer ``known: false``."""
    session = get_session()
    release = _release_for(session, as_of)
    resolution = services.resolve_number(session, number, release=release, serial=serial or None)
    return documents.resolution_document(resolution, release=release.label)


@bp.route("/parts/<path:number>/where-used", methods=["GET"])
@bp.arguments(AsOfArgs, location="query", as_kwargs=True)
@bp.response(200, WhereUsedSchema)
@signed_in
def get_where_used(number: str, as_of: str | None) -> dict[str, Any]:
    """The models a part fits, with reference numbers."""
    session = get_session()
    release = _release_for(session, as_of)
    part = services.get_part(session, number, release=release)
    fitments = services.where_used(session, part.number, release=release)
    return {
        "part_number": part.number,
        "release": release.label,
        "fitments": [documents.fitment_document(f) for f in fitments],
    }


@bp.route("/models/<path:model_number>/parts", methods=["GET"])
@bp.arguments(AsOfArgs, location="query", as_kwargs=True)
@bp.response(200, ModelPartsSchema)
@signed_in
def get_model_parts(model_number: str, as_of: str | None) -> dict[str, Any]:
    """A model's parts by exploded-view diagram and reference number."""
    session = get_session()
    release = _release_for(session, as_of)
    detail = services.model_parts(session, model_number, release=release)
    model = detail.model
    return {
        "model": {
            "model_number": model.number,
            "name": model.name,
            "product_line": model.product_line,
            "chassis": model.chassis,
            "released_on": model.released_on.isoformat() if model.released_on else None,
            "support_ends_on": model.support_ends_on.isoformat() if model.support_ends_on else None,
            "exchange_value": f"{model.exchange_value:.2f}" if model.exchange_value else None,
        },
        "release": detail.release,
        "parts": [
            documents.fitment_document(replace(f, diagram=diagram))
            for diagram, fitments in detail.diagrams.items()
            for f in fitments
        ],
    }


@bp.route("/models/<path:model_number>/diagrams", methods=["GET"])
@bp.arguments(AsOfArgs, location="query", as_kwargs=True)
@bp.response(200, DiagramSchema(many=True))
@signed_in
def get_model_diagrams(model_number: str, as_of: str | None) -> list[dict[str, Any]]:
    """A model's exploded views: each drawing, and its hotspots with the part at each ref and
    what to order for it today."""
    session = get_session()
    release = _release_for(session, as_of)
    model = services.get_model(session, model_number, release=release)
    found = diagrams.model_diagrams(session, model.number_norm, model.chassis, release=release)
    fitments = services.model_parts(session, model.number, release=release).diagrams
    every = [f for group in fitments.values() for f in group]
    resolved: dict[str, dict[str, Any]] = {}

    def resolution(number: str) -> dict[str, Any]:
        if number not in resolved:
            answer = services.resolve_number(session, number, release=release)
            resolved[number] = documents.resolution_document(answer, release=release.label)
        return resolved[number]

    result = []
    for d in found:
        spots = []
        for h in d.hotspots:
            place = {"ref_no": h.ref_no, "x": h.x, "y": h.y, "w": h.w, "h": h.h}
            place["element_id"] = h.element_id
            fitted = [f for f in every if f.ref_no == h.ref_no and d.names(f.diagram)]
            for f in fitted:
                spots.append(
                    {
                        **place,
                        "part_number": f.part_number,
                        "description": f.part_description,
                        "quantity": f.quantity,
                        "serial_from": f.serial_from,
                        "serial_to": f.serial_to,
                        "resolution": resolution(f.part_number),
                    }
                )
            if not fitted:
                spots.append({**place, "part_number": None, "resolution": None})
        extension = "svg" if d.media_type == SVG else "png"
        result.append(
            {
                "id": d.key,
                "title": d.title,
                "url": url_for("catalog.drawing", sha256=d.sha256, extension=extension),
                "media_type": d.media_type,
                "view_box": [d.box.x, d.box.y, d.box.width, d.box.height],
                "release": release.label,
                "hotspots": spots,
            }
        )
    return result


@bp.route("/releases", methods=["GET"])
@bp.response(200, ReleasesSchema)
@signed_in
def get_releases() -> dict[str, Any]:
    """Every release, newest first."""
    releases = services.list_releases(get_session())
    return {
        "releases": [
            {
                "label": r.label,
                "imported_at": r.imported_at,
                "imported_by": r.imported_by,
                "kind": r.kind,
                "summary": r.summary,
            }
            for r in releases
        ]
    }


@bp.route("/releases/<a>/diff/<b>", methods=["GET"])
@bp.arguments(DiffArgs, location="query", as_kwargs=True)
@bp.response(200, DiffSchema)
@signed_in
def get_diff(a: str, b: str, limit: int) -> dict[str, Any]:
    """What changed from release ``a`` to release ``b``; lists stop at ``limit``."""
    session = get_session()
    old = services.release_for(session, a)
    new = services.release_for(session, b)
    return documents.diff_document(services.diff_releases(session, old, new, limit=limit))
