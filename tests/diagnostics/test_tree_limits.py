"""A tree document too big to be a tree is refused before it is parsed: by its size in bytes
and by its number of nodes, in YAML and JSON, with the limits named."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from diagnostics import authoring, services, trees
from diagnostics.errors import InvalidTree
from diagnostics.models import TreeRevision
from diagnostics.trees import Limits
from tests.diagnostics.test_trees import TREE

LIMITS = Limits(max_bytes=1024 * 1024, max_nodes=500)


def many_nodes(count: int) -> dict[str, Any]:
    """TREE with ``count`` nodes in all: the extra ones escalations hanging off a choice."""
    document = copy.deepcopy(TREE)
    extra = count - len(document["nodes"])
    document["nodes"]["count"]["options"] += [
        {"label": f"{i}", "next": f"n{i}"} for i in range(100, 100 + extra)
    ]
    for i in range(100, 100 + extra):
        document["nodes"][f"n{i}"] = {"kind": "escalate", "text": "Ask engineering"}
    return document


def five_megabytes(fmt: str) -> str:
    """TREE with one text of five megabytes (made by hand: dumping it takes seconds)."""
    text = trees.dump(TREE, fmt=fmt)
    said = TREE["nodes"]["escalate"]["text"]
    assert text.count(said) == 1
    return text.replace(said, "x" * (5 * 1024 * 1024))


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_a_five_megabyte_document_is_refused_by_its_size(fmt: str) -> None:
    document, problems = trees.load_text(five_megabytes(fmt), name="big: ", limits=LIMITS)
    assert document is None
    assert [str(p) for p in problems] == [
        f"big: {len(five_megabytes(fmt).encode()):,} bytes; a tree may have at most "
        "1,048,576 bytes (TREE_MAX_BYTES)"
    ]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_a_document_with_too_many_nodes_is_refused_before_parsing(fmt: str) -> None:
    text = trees.dump(many_nodes(501), fmt=fmt)
    assert len(text.encode()) < LIMITS.max_bytes  # small enough: the count refuses it
    document, problems = trees.load_text(text, limits=LIMITS)
    assert document is None
    assert [str(p) for p in problems] == [
        "nodes: more than 500 nodes; a tree may have at most 500 (TREE_MAX_NODES)"
    ]
    smaller = Limits(max_bytes=LIMITS.max_bytes, max_nodes=20)
    _document, problems = trees.load_text(trees.dump(many_nodes(21), fmt=fmt), limits=smaller)
    assert [str(p) for p in problems] == [
        "nodes: more than 20 nodes; a tree may have at most 20 (TREE_MAX_NODES)"
    ]
    # At the limit, a tree is read.
    document, problems = trees.load_text(trees.dump(many_nodes(500), fmt=fmt), limits=LIMITS)
    assert problems == []
    assert document is not None


def test_text_that_merely_mentions_kind_is_not_counted_as_a_node() -> None:
    document = many_nodes(500)
    document["nodes"]["escalate"]["text"] = "kind: escalate\n" * 50  # a text, not a node
    text = trees.dump(document)
    loaded, problems = trees.load_text(text, limits=LIMITS)
    assert problems == []
    assert loaded is not None


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_an_import_of_a_document_too_big_stores_nothing(session: Session, fmt: str) -> None:
    before = session.scalar(select(func.count()).select_from(TreeRevision))
    for text in (five_megabytes(fmt), trees.dump(many_nodes(501), fmt=fmt)):
        with pytest.raises(InvalidTree) as caught:
            services.import_tree(session, text, by="eng", publish=True, limits=LIMITS)
        assert "TREE_MAX_" in str(caught.value.problems[0])
    assert session.scalar(select(func.count()).select_from(TreeRevision)) == before


def test_a_draft_with_too_many_nodes_is_refused_before_parsing(session: Session) -> None:
    document = json.loads(json.dumps(many_nodes(501)))
    with pytest.raises(InvalidTree) as caught:
        authoring.save_draft(session, TREE["id"], document, based_on=None, by="eng", limits=LIMITS)
    assert [str(p) for p in caught.value.problems] == [
        "nodes: more than 500 nodes; a tree may have at most 500 (TREE_MAX_NODES)"
    ]
    assert authoring.draft_of(session, TREE["id"]) is None
