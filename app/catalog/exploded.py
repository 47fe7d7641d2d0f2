"""What the model and part pages show of exploded views: each drawing with its hotspots, the
parts list beside it, and for each reference number what to order today.

Presentation only: the catalogue answers (``parts_catalog.diagrams``, ``services``), the cart
says what would ship (``orders.check``); this module puts them side by side for a template.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from app.orders import services as orders
from parts_catalog import diagrams
from parts_catalog.drawings import PNG, SVG, element_outline
from parts_catalog.models import Release
from parts_catalog.numbers import normalise
from parts_catalog.services import Fitment, ModelDetail, get_models, ref_order

EXTENSIONS = {SVG: "svg", PNG: "png"}


@dataclass(frozen=True)
class Spot:
    """A hotspot as drawn: a box, or the outline of an SVG element (sanitised markup)."""

    ref_no: str
    x: float | None
    y: float | None
    w: float | None
    h: float | None
    outline: str | None
    label: str


@dataclass(frozen=True)
class Answer:
    """One part at a reference number, and what the cart would order for it today."""

    fitment: Fitment
    ordering: orders.Checked


@dataclass
class View:
    diagram: diagrams.Diagram
    extension: str
    spots: list[Spot]
    fitments: list[Fitment]
    #: By reference number: the parts there (usually one; several for serial ranges).
    answers: dict[str, list[Answer]] = field(default_factory=dict)

    @property
    def view_box(self) -> str:
        return str(self.diagram.box)


def _spots(session: Session, diagram: diagrams.Diagram, labels: dict[str, str]) -> list[Spot]:
    data: bytes | None = None
    spots = []
    for h in diagram.hotspots:
        outline = None
        if h.element_id is not None:
            if data is None:
                stored = diagrams.drawing_file(session, diagram.sha256)
                data = stored.data if stored is not None else b""
            outline = element_outline(data, h.element_id) if data else None
            if outline is None:
                continue  # checked at import; a drawing without it draws nothing here
        label = f"Ref. {h.ref_no}"
        if h.ref_no in labels:
            label += f": {labels[h.ref_no]}"
        spots.append(Spot(h.ref_no, h.x, h.y, h.w, h.h, outline, label))
    return spots


def model_views(
    session: Session, detail: ModelDetail, *, release: Release
) -> tuple[list[View], dict[str, list[Fitment]]]:
    """The model's drawn diagrams, and the fitment groups no drawing shows (as before)."""
    model = detail.model
    found = diagrams.model_diagrams(session, model.number_norm, model.chassis, release=release)
    every = sorted((f for group in detail.diagrams.values() for f in group), key=ref_order)
    shown: set[int] = set()
    views = []
    for diagram in found:
        fitments = [f for f in every if diagram.names(f.diagram)]
        shown.update(id(f) for f in fitments)
        labels: dict[str, str] = {}
        for f in fitments:
            if f.ref_no:
                labels.setdefault(f.ref_no, f.part_description or f.part_number)
        views.append(
            View(
                diagram,
                EXTENSIONS[diagram.media_type],
                _spots(session, diagram, labels),
                fitments,
            )
        )
    _answer(session, views)
    rest = {
        name: [f for f in group if id(f) not in shown]
        for name, group in detail.diagrams.items()
        if any(id(f) not in shown for f in group)
    }
    return views, rest


def _answer(session: Session, views: list[View]) -> None:
    """Fill each view's answers: one ``orders.check`` for every part on the drawings."""
    numbers = sorted({f.part_number for v in views for f in v.fitments if f.ref_no})
    if not numbers:
        return
    checked = orders.check(session, [orders.Asked(n, 1) for n in numbers])
    by_number = dict(zip(numbers, checked, strict=True))
    for view in views:
        answers: dict[str, list[Answer]] = defaultdict(list)
        for f in view.fitments:
            if f.ref_no:
                answers[f.ref_no].append(Answer(f, by_number[f.part_number]))
        view.answers = dict(answers)


@dataclass(frozen=True)
class Place:
    """Where a part is on one of its models' drawings: a thumbnail with its hotspots marked."""

    fitment: Fitment
    diagram: diagrams.Diagram
    extension: str
    spots: list[Spot]


def part_places(session: Session, fitments: list[Fitment], *, release: Release) -> list[Place]:
    """For each fitment with a reference number, the drawings of its model that place it."""
    with_refs = [f for f in fitments if f.ref_no]
    if not with_refs:
        return []
    # The models in one read: a page of a part fitted to many models read each on its own.
    models = get_models(session, {f.model_number for f in with_refs}, release=release)
    chassis = {norm: model.chassis for norm, model in models.items()}
    drawn = diagrams.diagrams_for_models(session, chassis, release=release)
    places = []
    for f in with_refs:
        for diagram in drawn.get(normalise(f.model_number), []):
            if not diagram.names(f.diagram):
                continue
            mine = [h for h in diagram.hotspots if h.ref_no == f.ref_no]
            if not mine:
                continue
            only = replace(diagram, hotspots=tuple(mine))
            label = f.part_description or f.part_number
            places.append(
                Place(
                    f,
                    diagram,
                    EXTENSIONS[diagram.media_type],
                    _spots(session, only, {f.ref_no or "": label}),
                )
            )
    return places
