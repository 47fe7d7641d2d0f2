"""``flask --app wsgi search ...``: rebuild, apply queued changes, check, and the writer loop."""

from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup

from app.db import session_factory
from app.search import indexing
from parts_catalog.indexes import IndexUnavailable, WriterBusy

search_cli = AppGroup("search", help="The search index.")


def update_index() -> None:
    """Apply what a command queued, after its transaction committed; say so if it cannot."""
    try:
        report = indexing.sync(session_factory(), indexing.parts_index(), timeout=120)
    except WriterBusy as exc:
        click.echo(f"Search index: {exc} Run `flask --app wsgi search sync` later.")
        return
    action = "rebuilt" if report.rebuilt else f"{report.applied:,} document(s) updated"
    click.echo(f"Search index {action}; it reflects release {report.release}.")


@search_cli.command("reindex")
@click.option(
    "--processes",
    type=click.IntRange(1, 8),
    default=2,
    show_default=True,
    help="Processes writing segments in parallel.",
)
def reindex_command(processes: int) -> None:
    """Rebuild the index from the database into a new directory; it replaces the live index
    only when complete, so searches keep working meanwhile."""
    factory = session_factory()
    store = indexing.parts_index()
    with factory() as session:
        total = indexing.document_total(session, indexing.latest_release(session))
    started = time.monotonic()
    with click.progressbar(length=total, label="Indexing", file=sys.stderr) as bar:
        meta = indexing.rebuild(factory, store, progress=bar.update, processes=processes)
    click.echo(
        f"Indexed {meta.documents:,} documents (release {meta.release_label}) "
        f"in {time.monotonic() - started:.1f} s."
    )


@search_cli.command("sync")
def sync_command() -> None:
    """Apply queued changes now (rebuilding if the index is missing or damaged)."""
    update_index()


@search_cli.command("check")
@click.option("--repair", is_flag=True, help="Re-index every document that differs.")
def check_command(repair: bool) -> None:
    """Compare the index with the database: release, counts, every document's content."""
    factory = session_factory()
    store = indexing.parts_index()
    try:
        drift = indexing.check(factory, store)
    except IndexUnavailable as exc:
        click.echo(str(exc))
        if repair:
            update_index()
            return
        sys.exit(1)
    if drift is None:
        click.echo("No release has been imported: nothing to compare.")
        return
    click.echo(
        f"Index: release {drift.index_release}, {drift.indexed:,} documents. "
        f"Database: release {drift.database_release}, {drift.expected:,} documents."
    )
    for label, ids in (("missing", drift.missing), ("extra", drift.extra), ("stale", drift.stale)):
        if ids:
            shown = ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
            click.echo(f"  {len(ids):,} {label}: {shown}")
    if drift.clean:
        click.echo("The index matches the database.")
        return
    if not repair:
        click.echo("The index has drifted: run with --repair.")
        sys.exit(1)
    report = indexing.repair(factory, store, drift)
    click.echo(f"Repaired: {report.applied:,} document(s) re-indexed; release {report.release}.")


@search_cli.command("worker")
@click.option(
    "--interval", type=float, default=2.0, show_default=True, help="Seconds between polls."
)
def worker_command(interval: float) -> None:
    """Be the index's one writer: apply queued changes as they come (for production)."""
    factory = session_factory()
    store = indexing.parts_index()
    click.echo(f"Search index writer polling every {interval:g} s (Ctrl+C stops).")
    while True:
        try:
            report = indexing.sync(factory, store)
            if report.applied or report.rebuilt:
                click.echo(f"Applied {report.applied:,}; release {report.release}.")
        except WriterBusy:
            pass
        time.sleep(interval)
