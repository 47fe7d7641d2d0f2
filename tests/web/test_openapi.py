"""Every API body is in the OpenAPI document: a client is written from it."""

from __future__ import annotations

from flask.testing import FlaskClient

#: Operations that take no body at all.
BODILESS = {
    ("post", "/api/v1/diagnostics/sessions/{session_id}/back"),
    ("post", "/api/v1/diagnostics/trees/{tree_id}/publish"),
}


def test_every_operation_that_takes_a_body_documents_it(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    writing = {
        (method, path): operation
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "put", "patch")
    }
    assert len(writing) >= 8
    undocumented = {key for key, op in writing.items() if "requestBody" not in op} - BODILESS
    assert undocumented == set()
    body = writing[("post", "/api/v1/escalations")]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    assert {"subject", "description", "category", "model_number"} <= set(schema["required"])
