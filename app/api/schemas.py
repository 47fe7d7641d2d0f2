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
        validate=validate.OneOf(["parts", "models", "trees"]),
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
        required=True, metadata={"description": "number, replaces, number prefix, words"}
    )
    status = fields.String(required=True)
    replacement = fields.Nested(ReplacementSchema, allow_none=True)


class SearchSchema(Schema):
    query = fields.String(required=True)
    results = fields.List(fields.Nested(SearchResultSchema), required=True)
    did_you_mean = fields.String(allow_none=True, required=True)
    total = fields.Integer(required=True)
    total_is_estimate = fields.Boolean(required=True)
    ignored = fields.List(fields.String(), required=True)
    model = fields.String(
        allow_none=True, metadata={"description": "A model number in q, used as a filter."}
    )
    index_available = fields.Boolean(required=True)
