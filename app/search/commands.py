"""``flask --app wsgi search ...``: rebuild, follow the change log, check, and the writer loop;
and pruning the counts of searches that found nothing.

Each command works on this node's indexes (parts and models; diagnostic trees; every one
unless ``--index`` names one). Every node runs its own ``search worker``.
"""

from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from app.db import session_factory
from app.models import utcnow
from app.search import indexing, misses
from parts_catalog.indexes import IndexStore, IndexUnavailable, WriterBusy

search_cli = AppGroup("search", help="The search indexes.")

index_option = click.option(
    "--index",
    "names",
    multiple=True,
    type=click.Choice(["parts", "trees"]),
    help="Only this index (repeatable; default: all).",
)


def _chosen(names: tuple[str, ...]) -> list[IndexStore]:
    return [s for s in indexing.stores() if not names or s.name in names]


def _reflects(store: IndexStore, release: str | None) -> str:
    return f"it reflects release {release}" if store.name == "parts" else "it is up to date"


def update_index(names: tuple[str, ...] = ()) -> None:
    """Apply what a command logged to this node's indexes, after its transaction committed;
    say so if it cannot (the worker of each node follows the log in any case)."""
    for store in _chosen(names):
        try:
            report = indexing.sync(session_factory(), store, timeout=120)
        except WriterBusy as exc:
            click.echo(
                f"Search index {store.name}: {exc} Run `flask --app wsgi search sync` later."
            )
            continue
        action = "rebuilt" if report.rebuilt else f"{report.applied:,} document(s) updated"
        label = "Search index" if store.name == "parts" else f"Search index ({store.name})"
        click.echo(f"{label} {action}; {_reflects(store, report.release)}.")


@search_cli.command("reindex")
@click.option(
    "--processes",
    type=click.IntRange(1, 8),
    default=2,
    show_default=True,
    help="Processes writing segments in parallel.",
)
@index_option
def reindex_command(processes: int, names: tuple[str, ...]) -> None:
    """Rebuild from the database into a new directory, which replaces the live index only when
    complete, so searches keep working meanwhile."""
    factory = session_factory()
    for store in _chosen(names):
        total = indexing.document_total(factory, store)
        started = time.monotonic()
        with click.progressbar(
            length=total, label=f"Indexing {store.name}", file=sys.stderr
        ) as bar:
            meta = indexing.rebuild(factory, store, progress=bar.update, processes=processes)
        source = f"release {meta.release_label}" if store.name == "parts" else "published"
        click.echo(
            f"Indexed {meta.documents:,} {store.name} documents ({source}) "
            f"in {time.monotonic() - started:.1f} s."
        )


@search_cli.command("sync")
@index_option
def sync_command(names: tuple[str, ...]) -> None:
    """Apply the logged changes now (rebuilding an index that is missing, damaged, or cannot
    follow the log)."""
    update_index(names)


@search_cli.command("check")
@click.option("--repair", is_flag=True, help="Re-index every document that differs.")
@index_option
def check_command(repair: bool, names: tuple[str, ...]) -> None:
    """Compare each index with the database: release, counts, every document's content."""
    factory = session_factory()
    drifted = False
    for store in _chosen(names):
        try:
            drift = indexing.check(factory, store)
        except IndexUnavailable as exc:
            click.echo(str(exc))
            if repair:
                update_index((store.name,))
            else:
                drifted = True
            continue
        click.echo(
            f"{store.name}: index {drift.index_release or '-'}, {drift.indexed:,} documents; "
            f"database {drift.database_release or '-'}, {drift.expected:,} documents."
        )
        for label, ids in (
            ("missing", drift.missing),
            ("extra", drift.extra),
            ("stale", drift.stale),
        ):
            if ids:
                shown = ", ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")
                click.echo(f"  {len(ids):,} {label}: {shown}")
        if drift.clean:
            click.echo(f"The {store.name} index matches the database.")
        elif repair:
            report = indexing.repair(factory, store, drift)
            click.echo(f"Repaired: {report.applied:,} document(s) re-indexed.")
        else:
            drifted = True
    if drifted:
        click.echo("An index has drifted or cannot be read: run with --repair.")
        sys.exit(1)


@search_cli.command("prune")
@click.option(
    "--days",
    type=click.IntRange(1),
    help="Keep this many days of changes (default: SEARCH_CHANGES_KEEP_DAYS, 14).",
)
def prune_command(days: int | None) -> None:
    """Forget logged index changes older than the given days (the worker does it hourly); a
    node that had not applied them rebuilds its indexes."""
    days = days or indexing.keep_days()
    gone = indexing.prune(session_factory(), days=days)
    click.echo(f"Pruned {gone:,} change(s) older than {days} day(s) from the search log.")


# The worker prunes the log this often (every node's worker does; it is idempotent).
PRUNE_EVERY = 3600.0


@search_cli.command("worker")
@click.option(
    "--interval", type=float, default=2.0, show_default=True, help="Seconds between polls."
)
def worker_command(interval: float) -> None:
    """Keep this node's indexes following the database's change log (one worker per node, for
    production); rebuild an index that cannot follow it; prune old changes hourly."""
    factory = session_factory()
    days = indexing.keep_days()
    click.echo(f"Search index writer polling every {interval:g} s (Ctrl+C stops).")
    pruned_at = float("-inf")
    while True:
        try:
            for store in indexing.stores():
                try:
                    report = indexing.sync(factory, store)
                    if report.rebuilt:
                        click.echo(f"{store.name}: rebuilt ({report.reason}).")
                    if report.applied:
                        click.echo(f"{store.name}: applied {report.applied:,}.")
                except WriterBusy:
                    pass
            if time.monotonic() - pruned_at >= PRUNE_EVERY:
                pruned_at = time.monotonic()
                if gone := indexing.prune(factory, days=days):
                    click.echo(f"Pruned {gone:,} change(s) older than {days} day(s).")
        except (SQLAlchemyError, OSError) as exc:
            # The database restarting or failing over, a full disk: say so and try again, rather
            # than leave this node's index silently behind.
            click.echo(f"Search worker: {type(exc).__name__}: {exc}; retrying.", err=True)
            time.sleep(max(interval, 10.0))
        time.sleep(interval)


@search_cli.command("prune-misses")
@click.option(
    "--keep-weeks",
    type=click.IntRange(1, 520),
    default=misses.KEEP_WEEKS,
    show_default=True,
    help="Weeks of search misses to keep, this one included.",
)
def prune_misses(keep_weeks: int) -> None:
    """Delete the counts of searches that found nothing from weeks older than --keep-weeks."""
    with session_factory().begin() as session:
        removed = misses.prune(session, today=utcnow().date(), keep_weeks=keep_weeks)
    click.echo(f"Removed {removed:,} count(s) of search misses older than {keep_weeks} week(s).")
