"""Catalogue pages. Views are thin: read arguments, ask ``parts_catalog``, render."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.utils import secure_filename

from app.access import form_page, roles, signed_in
from app.catalog import bp, exploded, part_page
from app.catalog.forms import FitmentReportForm, ReleaseUploadForm, ResolveErratumForm
from app.catalog.importing import archive_limits, diagram_max_bytes, max_drop_share
from app.db import after_commit, get_session, session_factory
from app.notices import services as notices
from app.notices.models import Notice
from app.roles import Role
from app.search import indexing
from app.warranty.entitlement import entitlement
from parts_catalog import diagrams, errata, services
from parts_catalog.errors import (
    InvalidRelease,
    NoReleases,
    TooManyDrops,
    UnknownModel,
    UnknownPart,
)
from parts_catalog.importer import import_release
from parts_catalog.models import SNAPSHOT, Release
from parts_catalog.numbers import normalise
from parts_catalog.release_files import ACTION, SPECS

CATALOGUE_KEEPERS = (Role.ENGINEER, Role.ADMIN)


def _release() -> Release:
    return services.release_for(get_session(), request.args.get("as_of") or None)


@bp.get("/")
@signed_in
def index() -> ResponseReturnValue:
    session = get_session()
    return render_template(
        "catalog/index.html", releases=services.list_releases(session)[:5], query=""
    )


@bp.get("/lookup")
@signed_in
def lookup() -> ResponseReturnValue:
    """Go straight to the part or model a number names, in any spelling."""
    query = request.args.get("q", "").strip()[:80]
    if not normalise(query):
        return redirect(url_for("catalog.index"))
    session = get_session()
    release = services.release_for(session)
    try:
        part = services.get_part(session, query, release=release)
        return redirect(url_for("catalog.part", number=part.number))
    except UnknownPart:
        pass
    try:
        model = services.get_model(session, query, release=release)
        return redirect(url_for("catalog.model", number=model.number))
    except UnknownModel:
        pass
    return render_template(
        "catalog/index.html",
        releases=services.list_releases(session)[:5],
        query=query,
        not_found=True,
    ), 404


@bp.get("/parts/<path:number>")
@signed_in
def part(number: str) -> ResponseReturnValue:
    session = get_session()
    newest = services.newest_release_stamp(session)
    if newest is None:
        raise NoReleases()
    serial = request.args.get("serial", "").strip()[:40] or None
    unit_model = request.args.get("model", "").strip()[:40] or None
    asked = request.args.get("as_of")
    page = part_page.catalogued(
        session,
        _pages(),
        number,
        newest=newest,
        as_of=asked.strip() if asked else None,
        serial=serial,
    )
    # What the cart would order for this number today: the order box names exactly that.
    detail, ordering = part_page.with_stock(session, page)
    return render_template(
        "catalog/part.html",
        detail=detail,
        part=detail.part,
        ordering=ordering,
        serial=serial,
        kept=page.sections.for_request(),
        release=page.release,
        part_notices=_part_notices(session, detail),
        # Opened for one unit (a model and its serial): whether that unit is in warranty.
        unit_model=unit_model,
        warranty=entitlement(session, model_number=unit_model, serial=serial)
        if unit_model and serial
        else None,
    )


def _pages() -> part_page.Pages:
    pages = current_app.extensions.get("part_pages")
    if pages is None:
        pages = current_app.extensions["part_pages"] = part_page.Pages(
            part_page.KEPT, part_page.weight
        )
    return pages


def _part_notices(session: Session, detail: services.PartDetail) -> list[Notice]:
    """Notices about the part's chain. Notices follow the newest release's chain: the page's
    own when it shows the newest, so it is not read a second time."""
    if request.args.get("as_of"):
        return notices.about_parts(session, [detail.part.number])
    edges = [*detail.replaced_by, *detail.replaces]
    return notices.about_chain(
        session, {detail.part.number_norm, *(n for e in edges for n in (e.old, e.new))}
    )


@bp.get("/models/<path:number>")
@signed_in
def model(number: str) -> ResponseReturnValue:
    session = get_session()
    release = _release()
    detail = services.model_parts(session, number, release=release)
    views, rest = exploded.model_views(session, detail, release=release)
    return render_template(
        "catalog/model.html",
        detail=detail,
        views=views,
        rest=rest,
        model=detail.model,
        releases=services.list_releases(session),
        release=release,
        report_form=FitmentReportForm(),
    )


#: A drawing opened on its own may run nothing and fetch nothing; inline styles are the SVG's.
DRAWING_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@bp.get("/drawings/<sha256>.<extension>")
@signed_in
def drawing(sha256: str, extension: str) -> ResponseReturnValue:
    """A drawing of an exploded view, by its hash: it never changes, so it is cached long."""
    stored = diagrams.drawing_file(get_session(), sha256) if _SHA256.fullmatch(sha256) else None
    if stored is None or exploded.EXTENSIONS.get(stored.media_type) != extension:
        abort(404)
    response = make_response(stored.data)
    response.headers["Content-Type"] = stored.media_type
    response.headers["Content-Security-Policy"] = DRAWING_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Private: drawings are for signed-in people, not for shared caches.
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.headers["ETag"] = f'"{sha256}"'
    return response


@bp.get("/releases")
@signed_in
def releases() -> ResponseReturnValue:
    return render_template("catalog/releases.html", releases=services.list_releases(get_session()))


@bp.get("/releases/<a>/diff/<b>")
@signed_in
def diff(a: str, b: str) -> ResponseReturnValue:
    session = get_session()
    old = services.release_for(session, a)
    new = services.release_for(session, b)
    return render_template(
        "catalog/diff.html",
        diff=services.diff_releases(session, old, new, limit=500),
        releases=services.list_releases(session),
    )


@bp.get("/releases/compare")
@signed_in
def compare() -> ResponseReturnValue:
    a, b = request.args.get("a", ""), request.args.get("b", "")
    if not a or not b:
        return redirect(url_for("catalog.releases"))
    return redirect(url_for("catalog.diff", a=a, b=b))


def _save_upload(form: ReleaseUploadForm, folder: Path) -> Path:
    """Put the uploaded files where the importer can read them: the .zip, or a folder of CSVs."""
    files = [f for f in form.files.data if f and f.filename]
    if len(files) == 1 and files[0].filename.lower().endswith(".zip"):
        # Problems name the archive as its sender called it.
        name = secure_filename(files[0].filename)
        target = folder / (name if name.lower().endswith(".zip") else "release.zip")
        files[0].save(target)
        return target
    for upload in files:
        upload.save(folder / secure_filename(upload.filename))
    return folder


@bp.route("/releases/upload", methods=["GET", "POST"])
@roles(*CATALOGUE_KEEPERS)
@form_page
def upload() -> ResponseReturnValue:
    form = ReleaseUploadForm()
    problems: list[str] = []
    report = None
    drops: TooManyDrops | None = None
    if form.validate_on_submit():
        upload_root = Path(current_app.config["UPLOAD_DIR"]) / "releases"
        upload_root.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=upload_root))
        session = get_session()
        try:
            report = import_release(
                session,
                path=_save_upload(form, folder),
                label=form.label.data or "",
                imported_by=current_user.email,
                kind=form.kind.data or SNAPSHOT,
                dry_run=bool(form.dry_run.data),
                allow_drops=form.allow_drops.data or False,
                max_drop_share=max_drop_share(),
                limits=archive_limits(),
                diagram_max_bytes=diagram_max_bytes(),
            )
        except TooManyDrops as exc:
            drops = exc
            problems = [str(p) for p in exc.problems]
        except InvalidRelease as exc:
            problems = [str(p) for p in exc.problems]
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if report is not None and not report.dry_run:
            flash(report.summary_line(), "success")
            after_commit(_search_follows)
            return redirect(url_for("catalog.releases"))
    status = 422 if problems or (form.is_submitted() and report is None) else 200
    return render_template(
        "catalog/upload.html",
        form=form,
        problems=problems,
        report=report,
        drops=drops,
        specs=SPECS,
        action=ACTION,
    ), status


def _search_follows() -> None:
    """Apply the imported release to this node's search index now, when that is quick."""
    if indexing.sync_after_request(session_factory(), indexing.parts_index()) is None:
        flash(
            "Search will show this release once the index writer has applied it "
            "(`flask --app wsgi search sync`, or the running `search worker`).",
            "info",
        )


@bp.post("/fitments/report")
@signed_in
@form_page
def report_fitment() -> ResponseReturnValue:
    form = FitmentReportForm()
    if not form.validate_on_submit():
        flash("The report could not be sent; please try again from the part's page.", "error")
        if form.part_number.data:
            return redirect(url_for("catalog.part", number=form.part_number.data))
        return redirect(url_for("catalog.index"))
    session = get_session()
    release = services.release_for(session)
    errata.report_wrong_fitment(
        session,
        part_number=form.part_number.data or "",
        model_number=form.model_number.data or "",
        ref_no=form.ref_no.data,
        release_label=release.label,
        note=form.note.data,
        reported_by=current_user.email,
    )
    flash(
        f"Thank you: engineers will check whether {form.part_number.data} fits "
        f"{form.model_number.data}. Until then, check the part against the unit before ordering.",
        "success",
    )
    return redirect(url_for("catalog.part", number=form.part_number.data))


@bp.get("/errata")
@roles(*CATALOGUE_KEEPERS)
def errata_queue() -> ResponseReturnValue:
    return render_template(
        "catalog/errata.html",
        errata=errata.open_errata(get_session()),
        kinds=errata.KINDS,
        form=ResolveErratumForm(),
    )


@bp.post("/errata/<int:erratum_id>/resolve")
@roles(*CATALOGUE_KEEPERS)
@form_page
def resolve_erratum(erratum_id: int) -> ResponseReturnValue:
    form = ResolveErratumForm()
    if not form.validate_on_submit():
        flash("Say what was done before closing the report.", "error")
        return redirect(url_for("catalog.errata_queue"))
    session = get_session()
    try:
        errata.resolve_erratum(
            session, erratum_id, by=current_user.email, resolution=form.resolution.data or ""
        )
    except errata.UnknownErratum:
        abort(404)
    flash("Report closed.", "success")
    return redirect(url_for("catalog.errata_queue"))
