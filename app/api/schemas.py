"""The API's documents, as marshmallow schemas: they serialise answers and describe them in the
OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class AsOfArgs(Schema):
    as_of = fields.String(
        load_default=None, metadata={"description": "Release label; the newest by default."}
    )


class ResolutionArgs(AsOfArgs):
    serial = fields.String(
        load_default=None,
        validate=validate.Length(max=40),
        metadata={"description": "The unit's serial number; serial-dependent rows follow it."},
    )


class DiffArgs(Schema):
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=100_000))


class EdgeSchema(Schema):
    old = fields.String(required=True)
    new = fields.String(required=True)
    quantity = fields.Integer(required=True)
    interchangeability = fields.String(
        required=True, validate=validate.OneOf(["one_way", "two_way", "conditional"])
    )
    effective_on = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    serial_from = fields.String(allow_none=True)
    serial_to = fields.String(allow_none=True)


class ResultItemSchema(Schema):
    part_number = fields.String(required=True)
    quantity = fields.Integer(required=True)
    status = fields.String(required=True)
    condition = fields.String(allow_none=True)
    safety_critical = fields.Boolean(required=True)


class ResolutionSchema(Schema):
    requested = fields.String(required=True)
    known = fields.Boolean(required=True)
    outcome = fields.String(
        required=True,
        validate=validate.OneOf(["current", "superseded", "kit", "no_longer_available", "unknown"]),
    )
    release = fields.String(required=True)
    chain = fields.List(fields.Nested(EdgeSchema), required=True)
    result = fields.List(fields.Nested(ResultItemSchema), required=True)
    notes = fields.List(fields.String(), required=True)
    requires_confirmation = fields.Boolean(required=True)


class PartSchema(Schema):
    part_number = fields.String(required=True)
    normalised = fields.String(required=True)
    description = fields.String(required=True)
    category = fields.String(allow_none=True)
    unit_price = fields.String(allow_none=True, metadata={"description": "Decimal, as text"})
    currency = fields.String(allow_none=True)
    status = fields.String(required=True)
    safety_critical = fields.Boolean(required=True)
    listed = fields.Boolean(required=True)


class FitmentSchema(Schema):
    model_number = fields.String(required=True)
    model_name = fields.String(allow_none=True)
    product_line = fields.String(allow_none=True)
    part_number = fields.String(required=True)
    description = fields.String(allow_none=True)
    ref_no = fields.String(allow_none=True)
    diagram = fields.String(allow_none=True)
    quantity = fields.Integer(required=True)
    serial_from = fields.String(allow_none=True)
    serial_to = fields.String(allow_none=True)
    safety_critical = fields.Boolean(required=True)


class PartDetailSchema(PartSchema):
    release = fields.String(required=True)
    stock = fields.Integer(allow_none=True)
    fitments = fields.List(fields.Nested(FitmentSchema), required=True)
    replaced_by = fields.List(fields.Nested(EdgeSchema), required=True)
    replaces = fields.List(fields.Nested(EdgeSchema), required=True)
    resolution = fields.Nested(ResolutionSchema, required=True)


class WhereUsedSchema(Schema):
    part_number = fields.String(required=True)
    release = fields.String(required=True)
    fitments = fields.List(fields.Nested(FitmentSchema), required=True)


class ModelSchema(Schema):
    model_number = fields.String(required=True)
    name = fields.String(allow_none=True)
    product_line = fields.String(allow_none=True)
    chassis = fields.String(allow_none=True)
    released_on = fields.String(allow_none=True)
    support_ends_on = fields.String(allow_none=True)
    exchange_value = fields.String(allow_none=True)


class ModelPartsSchema(Schema):
    model = fields.Nested(ModelSchema, required=True)
    release = fields.String(required=True)
    parts = fields.List(fields.Nested(FitmentSchema), required=True)


class HotspotSchema(Schema):
    ref_no = fields.String(required=True)
    x = fields.Float(allow_none=True, metadata={"description": "In the drawing's own units"})
    y = fields.Float(allow_none=True)
    w = fields.Float(allow_none=True)
    h = fields.Float(allow_none=True)
    element_id = fields.String(
        allow_none=True, metadata={"description": "The SVG element placed, where no box is"}
    )
    part_number = fields.String(
        allow_none=True, metadata={"description": "The part fitted at this ref (null: none listed)"}
    )
    description = fields.String(allow_none=True)
    quantity = fields.Integer(allow_none=True)
    serial_from = fields.String(allow_none=True)
    serial_to = fields.String(allow_none=True)
    resolution = fields.Nested(ResolutionSchema, allow_none=True)


class DiagramSchema(Schema):
    id = fields.String(required=True, metadata={"description": "diagram_id of the release"})
    title = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "The drawing (SVG or PNG)"})
    media_type = fields.String(required=True)
    view_box = fields.List(
        fields.Float(),
        required=True,
        metadata={"description": "x, y, width, height: the drawing's extent in its own units"},
    )
    release = fields.String(required=True)
    hotspots = fields.List(
        fields.Nested(HotspotSchema),
        required=True,
        metadata={"description": "One entry per hotspot and part fitted at its ref"},
    )


class ReleaseSchema(Schema):
    label = fields.String(required=True)
    imported_at = fields.DateTime(required=True)
    imported_by = fields.String(allow_none=True)
    kind = fields.String(
        required=True,
        metadata={"description": "snapshot (lists every part) or delta (changed only its rows)"},
    )
    summary = fields.Dict(keys=fields.String(), values=fields.Integer())


class ReleasesSchema(Schema):
    releases = fields.List(fields.Nested(ReleaseSchema), required=True)


class PartChangeSchema(Schema):
    part_number = fields.String(required=True)
    fields_ = fields.Dict(
        attribute="fields",
        data_key="fields",
        keys=fields.String(),
        values=fields.Dict(),
        metadata={"description": "Changed fields: {name: {from, to}}"},
    )


class DiffSchema(Schema):
    from_ = fields.String(attribute="from", data_key="from", required=True)
    to = fields.String(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    added = fields.List(fields.Nested(PartSchema), required=True)
    removed = fields.List(fields.Nested(PartSchema), required=True)
    changed = fields.List(fields.Nested(PartChangeSchema), required=True)
    newly_superseded = fields.List(fields.Nested(EdgeSchema), required=True)


class MeSchema(Schema):
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    centre = fields.String(allow_none=True)


class SearchArgs(Schema):
    q = fields.String(required=True, validate=validate.Length(max=200))
    kind = fields.String(
        load_default=None,
        validate=validate.OneOf(["parts", "models", "trees", "notices"]),
        metadata={"description": "Search only this kind; everything by default."},
    )
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))
    category = fields.String(load_default=None, validate=validate.Length(max=80))
    status = fields.String(load_default=None, validate=validate.Length(max=16))
    product_line = fields.String(load_default=None, validate=validate.Length(max=40))
    model = fields.String(load_default=None, validate=validate.Length(max=40))


class HighlightSchema(Schema):
    field = fields.String(required=True, metadata={"description": "title, number, fits, replaces"})
    text = fields.String(required=True)
    spans = fields.List(
        fields.List(fields.Integer()),
        required=True,
        metadata={"description": "[start, end) character ranges of text that matched"},
    )


class ReplacementSchema(Schema):
    requested = fields.String(required=True)
    outcome = fields.String(required=True)
    chain = fields.List(fields.String(), required=True)
    order = fields.List(
        fields.String(), required=True, metadata={"description": "What to order today instead."}
    )


class SearchResultSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["part", "model", "tree"]))
    key = fields.String(
        required=True, metadata={"description": "The number as the catalogue spells it."}
    )
    title = fields.String(required=True)
    score = fields.Float(required=True, metadata={"description": "Higher is better."})
    highlights = fields.List(fields.Nested(HighlightSchema), required=True)
    why = fields.String(
        required=True,
        metadata={
            "description": "number, replaces, number prefix, words, or ref (the part at a "
            "model's reference number: '<model> ref <n>')"
        },
    )
    status = fields.String(required=True)
    replacement = fields.Nested(ReplacementSchema, allow_none=True)


class CorrectionSchema(Schema):
    query = fields.String(required=True, metadata={"description": "What to search instead."})
    reason = fields.String(
        required=True,
        validate=validate.OneOf(
            [
                *("digit", "letter", "swap", "missing", "extra"),
                *("spelling", "model", "spelling_and_model"),
            ]
        ),
        metadata={
            "description": "How it differs from q: a number one digit or letter different, two "
            "characters swapped, a character missing or one too many; or q with its words "
            "(spelling), its model number (model) or both corrected"
        },
    )
    kind = fields.String(
        required=True,
        metadata={"description": "part or model: the number suggested or corrected; or empty"},
    )
    key = fields.String(required=True, metadata={"description": "That number as spelled."})
    title = fields.String(
        required=True, metadata={"description": "The part's description or the model's name."}
    )
    status = fields.String(
        required=True,
        metadata={"description": "active, discontinued, nla, superseded, model; or empty"},
    )
    found = fields.Integer(required=True, metadata={"description": "Results it finds."})


class SearchSchema(Schema):
    query = fields.String(required=True)
    results = fields.List(fields.Nested(SearchResultSchema), required=True)
    did_you_mean = fields.String(
        allow_none=True, required=True, metadata={"description": "The first of corrections."}
    )
    corrections = fields.List(
        fields.Nested(CorrectionSchema),
        required=True,
        metadata={
            "description": "Did you mean: when q found nothing or left words out, queries that "
            "find something, best first (at most 5)"
        },
    )
    total = fields.Integer(required=True)
    total_is_estimate = fields.Boolean(required=True)
    ignored = fields.List(fields.String(), required=True)
    model = fields.String(
        allow_none=True, metadata={"description": "A model number in q, used as a filter."}
    )
    index_available = fields.Boolean(required=True)
    notices = fields.List(
        fields.Dict(),
        metadata={
            "description": "Published notices saying the words or about the part (its whole "
            "chain) or model asked: {id, reference, title, kind, safety, url}"
        },
    )


# --- repairs and the exchange programme ----------------------------------------------------------

#: Where marshmallow would say "Missing data for required field." or "Not a valid string.", the
#: words of the repairs' own checks (one message per field, from the pages and the API alike).
_REPAIR_TEXT: dict[str, str | list[object] | dict[object, object]] = {
    "required": "Required.",
    "null": "Required.",
    "invalid": "Must be text.",
    "invalid_utf8": "Must be text.",
}


def _repair_text(description: str, limit: int, *, required: bool = False) -> fields.String:
    metadata = {"description": description, "maxLength": limit}
    if required:
        return fields.String(required=True, error_messages=_REPAIR_TEXT, metadata=metadata)
    return fields.String(
        load_default=None,
        allow_none=True,
        error_messages={**_REPAIR_TEXT, "null": "Must be text."},
        metadata=metadata,
    )


class RepairArgs(Schema):
    """A repair to open. Unknown fields are refused by name (``purchase_on`` is not
    ``purchase_date``)."""

    model_number = _repair_text("The model from the rating plate.", 40, required=True)
    serial = _repair_text("The unit's serial number.", 40, required=True)
    complaint = _repair_text("What the customer reports.", 4000, required=True)
    purchase_date = _repair_text("When the unit was bought (ISO date, 2026-03-14).", 10)
    symptom_code = _repair_text("One of the symptom codes engineers maintain.", 20)
    customer_name = _repair_text("Seen by your centre only.", 120)
    customer_contact = _repair_text("Seen by your centre only.", 200)


class RepairStatusArgs(Schema):
    status = fields.String(
        required=True,
        metadata={
            "description": "open, waiting_parts, waiting_support, repaired, "
            "returned_unrepaired or closed (exchanged comes from an approved exchange)"
        },
    )
    seen = fields.String(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The status you read: if it changed meanwhile, 409 and nothing changes."
        },
    )
    note = fields.String(load_default="", validate=validate.Length(max=4000))


class RepairLinkArgs(Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(["walk", "order", "ticket"], error="One of: {choices}."),
    )
    ref = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "A walk's id, an order's id, or an escalation's reference."},
    )


class ExchangeRequestArgs(Schema):
    walk = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={
            "description": "The walk whose fix the decision reads (one of the repair's); by "
            "default its latest walk that reached a fix."
        },
    )


class ExchangeDecisionArgs(Schema):
    approve = fields.Boolean(required=True, truthy={True}, falsy={False})
    note = fields.String(
        load_default="",
        validate=validate.Length(max=4000),
        metadata={"description": "Required to refuse: the centre reads it."},
    )


class RepairWalkArgs(Schema):
    tree = fields.String(
        required=True,
        validate=validate.Length(min=1, max=80),
        metadata={"description": "A published tree's id."},
    )
    code = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "The self-diagnosis code that answers its first question."},
    )
