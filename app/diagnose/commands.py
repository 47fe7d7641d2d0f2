"""``flask --app wsgi diagnostics ...``: import, export and validate trees."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from app.db import session_factory
from app.diagnose.documents import tree_limits
from app.search.commands import update_index
from diagnostics import services, trees
from diagnostics.errors import DiagnosticsError, InvalidTree

diagnostics_cli = AppGroup("diagnostics", help="Diagnostic decision trees.")


def _read_file(path: Path, *, storing: bool = True) -> str:
    """The file's text; one over TREE_MAX_BYTES is refused before it is read."""
    try:
        size = path.stat().st_size
        refused = trees.too_big(size, tree_limits(), name=path.name)
        if refused is not None:
            _refuse(InvalidTree([refused]), path, storing=storing, named=True)
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"Cannot read {path}: {exc}") from None


def _refuse(exc: InvalidTree, path: Path, *, storing: bool = True, named: bool = False) -> None:
    for problem in exc.problems:
        click.echo(str(problem) if named else f"{path.name}: {problem}")
    click.echo(f"Refused: {exc} Nothing was stored." if storing else f"Not valid: {exc}")
    sys.exit(1)


@diagnostics_cli.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--publish", is_flag=True, help="Publish it (else it is stored as a draft).")
def import_command(path: Path, publish: bool) -> None:
    """Import the tree in FILE (YAML or JSON) as its next revision."""
    text = _read_file(path)
    try:
        with session_factory().begin() as session:
            revision = services.import_tree(
                session, text, by="cli", publish=publish, limits=tree_limits()
            )
            tree_id, number, status = revision.tree_id, revision.number, revision.status
    except InvalidTree as exc:
        _refuse(exc, path)
        return
    click.echo(f"Imported {tree_id} revision {number} ({status}).")
    if publish:
        update_index(("trees",))


@diagnostics_cli.command("validate")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
def validate_command(path: Path) -> None:
    """Check FILE against the format and the catalogue; store nothing."""
    text = _read_file(path, storing=False)
    with session_factory()() as session:
        tree, problems = services.examine(
            text, session=session, publishing=True, limits=tree_limits()
        )
    if tree is None or problems:
        _refuse(InvalidTree(problems), path, storing=False)
        return
    click.echo(f"{tree.id}: valid ({len(tree.nodes)} nodes).")


@diagnostics_cli.command("export")
@click.argument("tree_id")
@click.option(
    "--revision", "number", type=int, help="Revision number (default: the published one)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
def export_command(tree_id: str, number: int | None, fmt: str) -> None:
    """Print a tree revision in the import format."""
    try:
        with session_factory()() as session:
            revision = services.get_revision(session, tree_id, number)
            click.echo(trees.dump(revision.document, fmt=fmt), nl=False)
    except DiagnosticsError as exc:
        raise click.ClickException(str(exc)) from None
