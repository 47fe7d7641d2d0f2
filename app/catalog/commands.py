"""``flask --app wsgi catalog ...``: import a release, resolve a number, compare releases."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from app.catalog.importing import archive_limits, diagram_max_bytes, max_drop_share
from app.db import session_factory
from app.search.commands import update_index
from parts_catalog import documents, services
from parts_catalog.errors import CatalogError, InvalidRelease, TooManyDrops
from parts_catalog.importer import import_release
from parts_catalog.models import DELTA, SNAPSHOT
from parts_catalog.release_export import export_release

catalog_cli = AppGroup("catalog", help="The versioned parts catalogue.")


@catalog_cli.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--release", "label", required=True, help="Label of the new release, e.g. 2026.11.")
@click.option("--dry-run", is_flag=True, help="Validate only; store nothing.")
@click.option(
    "--delta",
    is_flag=True,
    help="The release names only what changes (rows to add or change; action=drop delists "
    "a row). Without it the release is a full snapshot: parts it leaves out are delisted.",
)
@click.option(
    "--allow-drops",
    is_flag=True,
    help="Confirm that a snapshot delists more than RELEASE_MAX_DROP_SHARE of the listed parts.",
)
@click.option(
    "--skip-index",
    is_flag=True,
    help="Leave the search index's queued changes to `search sync` or the `search worker`.",
)
def import_command(
    path: Path, label: str, dry_run: bool, delta: bool, allow_drops: bool, skip_index: bool
) -> None:
    """Import the release at PATH (a directory or .zip of CSV files)."""

    def progress(message: str) -> None:
        click.echo(f"  {message}", err=True)

    try:
        with session_factory().begin() as session:
            report = import_release(
                session,
                path=path,
                label=label,
                kind=DELTA if delta else SNAPSHOT,
                dry_run=dry_run,
                allow_drops=allow_drops,
                max_drop_share=max_drop_share(),
                limits=archive_limits(),
                diagram_max_bytes=diagram_max_bytes(),
                progress=progress,
            )
    except InvalidRelease as exc:
        for problem in exc.problems:
            click.echo(str(problem))
        if isinstance(exc, TooManyDrops):
            click.echo(
                "If that is meant, confirm it with --allow-drops; if the release names only "
                "what changes, import it with --delta."
            )
        click.echo(f"Refused: {exc} Nothing was imported.")
        sys.exit(1)
    for name in report.carried_over:
        click.echo(f"{name} is absent: its rows carry over from the previous release.")
    click.echo(report.summary_line())
    if skip_index and not dry_run:
        click.echo("Search index changes queued for `flask --app wsgi search sync`.")
    elif not dry_run:
        update_index()


@catalog_cli.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--release", "label", required=True, help="Label of the release to export.")
def export_command(folder: Path, label: str) -> None:
    """Write release LABEL into FOLDER as a full snapshot, in the import format."""
    try:
        with session_factory()() as session:
            release = services.release_for(session, label)
            written = export_release(session, release=release, folder=folder)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from None
    counts = ", ".join(f"{n:,} {name.removesuffix('.csv')}" for name, n in written.items())
    click.echo(f"Exported release {release.label} to {folder}: {counts}.")


@catalog_cli.command("resolve")
@click.argument("number")
@click.option("--as-of", "as_of", help="Release label (default: the newest).")
@click.option("--serial", help="The unit's serial number, to pick serial-dependent answers.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's resolution object.")
def resolve_command(number: str, as_of: str | None, serial: str | None, as_json: bool) -> None:
    """What to order today for NUMBER."""
    try:
        with session_factory()() as session:
            release = services.release_for(session, as_of)
            resolution = services.resolve_number(session, number, release=release, serial=serial)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from None
    document = documents.resolution_document(resolution, release=release.label)
    if as_json:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    if not resolution.known:
        click.echo(f"{number}: not in the catalogue (as of {release.label}).")
        return
    click.echo(f"{number}: {resolution.outcome.replace('_', ' ')} (as of {release.label})")
    for item in resolution.result:
        condition = f"  [{item.condition}]" if item.condition else ""
        click.echo(f"  order {item.part_number} × {item.quantity} ({item.status}){condition}")
    for note in resolution.notes:
        click.echo(f"  - {note}")


@catalog_cli.command("diff")
@click.argument("label_a")
@click.argument("label_b")
@click.option("--json", "as_json", is_flag=True, help="Print the API's diff object.")
@click.option("--limit", default=1000, show_default=True, help="Most entries listed per kind.")
def diff_command(label_a: str, label_b: str, as_json: bool, limit: int) -> None:
    """What changed from release LABEL_A to release LABEL_B."""
    try:
        with session_factory()() as session:
            old = services.release_for(session, label_a)
            new = services.release_for(session, label_b)
            diff = services.diff_releases(session, old, new, limit=limit)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(documents.diff_document(diff), indent=2, ensure_ascii=False))
        return
    counts = diff.counts
    click.echo(
        f"{label_a} → {label_b}: {counts['added']} added, {counts['removed']} removed, "
        f"{counts['changed']} changed, {counts['newly_superseded']} newly superseded"
    )
    for part in diff.added:
        click.echo(f"  + {part.number}  {part.description}")
    for part in diff.removed:
        click.echo(f"  - {part.number}  {part.description}")
    for change in diff.changed:
        fields = ", ".join(f"{k}: {a} → {b}" for k, (a, b) in change.fields.items())
        click.echo(f"  ~ {change.number}  {fields}")
    for edge in diff.newly_superseded:
        click.echo(f"  > {edge.old_number} → {edge.new_number} ({edge.interchangeability})")
