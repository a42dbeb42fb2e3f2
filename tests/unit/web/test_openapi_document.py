"""The served OpenAPI document is one a client can be generated from (web/openapi.py)."""

from __future__ import annotations

import pytest

from web.openapi import operation_id


@pytest.fixture(scope="module")
def spec():
    from web import create_app

    return create_app({"RATELIMIT_ENABLED": False}).test_client().get(
        "/api/v1/openapi.json").json


def _operations(spec):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method in ("get", "put", "post", "patch", "delete"):
                yield method, path, op


@pytest.mark.parametrize(("method", "rule", "expected"), [
    ("post", "/api/v1/auth/token", "post_auth_token"),
    ("get", "/api/v1/plans/<plan_id>", "get_plans_plan_id"),
    ("get", "/api/v1/plans/<int:day>", "get_plans_day"),
    ("get", "/api/v1/me/export/<job_id>.zip", "get_me_export_job_id_zip"),
    ("post", "/api/v1/webhooks/<endpoint_id>/rotate-secret",
     "post_webhooks_endpoint_id_rotate_secret"),
])
def test_operation_id_from_the_path(method, rule, expected):
    assert operation_id(method, rule) == expected


def test_every_operation_has_a_unique_id(spec):
    ids = [op["operationId"] for _m, _p, op in _operations(spec)]
    assert len(ids) == len(set(ids)) and all(ids)


def test_enqueueing_posts_take_an_idempotency_key_and_answer_a_location(spec):
    for method, path, op in _operations(spec):
        if "202" in op["responses"]:
            assert "Location" in op["responses"]["202"]["headers"], path
        if method == "post" and "202" in op["responses"]:
            headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
            assert "Idempotency-Key" in headers, path


def test_polled_reads_document_if_none_match_and_304(spec):
    for path in ("/api/v1/plans/current", "/api/v1/plans/{plan_id}", "/api/v1/jobs/{job_id}",
                 "/api/v1/videos/{analysis_id}", "/api/v1/analyses/{analysis_id}"):
        op = spec["paths"][path]["get"]
        assert "304" in op["responses"], path
        assert "ETag" in op["responses"]["200"]["headers"], path
        assert any(p["name"] == "If-None-Match" for p in op["parameters"]), path


def test_auth_and_export_operations_are_documented(spec):
    token = spec["paths"]["/api/v1/auth/token"]["post"]["responses"]["200"]
    schema = token["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "refresh_token" in spec["components"]["schemas"][schema]["required"]
    assert "post" in spec["paths"]["/api/v1/auth/refresh"]
    assert "post" in spec["paths"]["/api/v1/auth/logout"]
    csv_op = spec["paths"]["/api/v1/videos/{analysis_id}/reps.csv"]["get"]
    assert "text/csv" in csv_op["responses"]["200"]["content"]
    html_op = spec["paths"]["/api/v1/plans/{plan_id}/report.html"]["get"]
    assert "text/html" in html_op["responses"]["200"]["content"]
    assert "request_id" in spec["components"]["schemas"]["Error"]["properties"]


def test_roles_are_an_enum(spec):
    assert spec["components"]["schemas"]["User"]["properties"]["role"]["enum"] == [
        "patient", "clinician", "ops"]
