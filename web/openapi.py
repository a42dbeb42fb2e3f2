"""What the OpenAPI document says for every operation, so that a generated client is usable.

An apispec plugin (flask-smorest calls it for each path) adds, where a view did not say:
- ``operationId`` from the method and the path (the contract), e.g. ``post_auth_token``,
  ``get_plans_plan_id``: client generators name their functions after it, and a name made
  from the path stays the same when a view function is renamed;
- the ``Idempotency-Key`` header on every POST that answers 202 (work enqueued), and the
  ``Location`` header of every 202 (the job to poll);
- ``If-None-Match``, the ``ETag`` header and the ``304`` answer on the reads that carry an ETag
  (web/http.py).

and, for every schema:
- a nullable nested object is ``{allOf: [{$ref}], nullable: true}`` (apispec writes an
  ``anyOf`` with an untyped object for OpenAPI 3.0, which generators turn into an extra empty
  model): the client gets ``JobError | None``;
- ``additionalProperties: false`` only on schemas that reject unknown fields on purpose (request
  bodies: ``Meta.unknown = RAISE`` written out, web/schemas/common.py ``StrictSchema``); a
  response schema gets marshmallow 4's default RAISE without asking for it, and a client must
  not break when a later version adds a field.
"""

from __future__ import annotations

import re

import marshmallow as ma
from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin

from web.http import CONDITIONAL_RULES, rule_pattern

API_PREFIX = "/api/v1"
METHODS = ("get", "put", "post", "patch", "delete")

IDEMPOTENCY_KEY = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "The same key from the same user returns the first answer and enqueues "
                   "nothing new; reused with a different body: 422 `idempotency_key_reused`.",
}
IF_NONE_MATCH = {
    "in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
    "description": "The ETag of the copy you hold: 304 (no body) while it is unchanged.",
}
NOT_MODIFIED = {"description": "Not modified since the ETag given in If-None-Match.",
                "headers": {"ETag": {"schema": {"type": "string"}}}}
ETAG = {"schema": {"type": "string"}, "description": "send it back in If-None-Match"}
LOCATION = {"schema": {"type": "string"}, "description": "the job to poll: /api/v1/jobs/{id}"}


def operation_id(method: str, rule: str) -> str:
    """`POST /api/v1/auth/token` -> `post_auth_token`; `{plan_id}`/`<plan_id>` -> `plan_id`."""
    path = rule.removeprefix(API_PREFIX)
    words = re.sub(r"[^0-9A-Za-z]+", "_", re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"\1", path))
    return f"{method}_{words.strip('_') or 'root'}".lower()


def nullable_ref(self, field, ret: dict, **_kwargs) -> dict:
    """apispec attribute function (runs after its own ``field2nullable``); also a nullable
    enum, whose ``null`` in ``enum`` generators turn into several enum classes, becomes
    ``{anyOf: [{type, enum}], nullable: true}`` (the client gets ``Enum | None``)."""
    enum = ret.get("enum")
    if ret.get("nullable") is True and isinstance(enum, list) and None in enum:
        choice = {"type": ret.pop("type", "string"), "enum": [e for e in enum if e is not None]}
        del ret["enum"]
        return {"anyOf": [choice]}
    any_of = ret.get("anyOf")
    if (isinstance(any_of, list) and len(any_of) == 2
            and {"type": "object", "nullable": True} in any_of):
        refs = [s for s in any_of if "$ref" in s]
        if len(refs) == 1:
            del ret["anyOf"]  # ret is merged into, not replaced: drop the key here
            return {"allOf": refs, "nullable": True}
    return {}


def rejects_unknown(schema) -> bool:
    """Whether a schema class (or instance) says ``Meta.unknown`` itself, as request bodies
    do; marshmallow's own default is not a statement about the API."""
    meta = getattr(schema, "Meta", None)
    return getattr(meta, "unknown", None) == ma.RAISE


class ClientFriendlyPlugin(BasePlugin):
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def init_spec(self, spec) -> None:
        super().init_spec(spec)
        # flask-smorest puts its MarshmallowPlugin before the extra plugins: its converter exists
        for plugin in spec.plugins:
            if isinstance(plugin, MarshmallowPlugin):
                plugin.converter.add_attribute_function(nullable_ref)

    def schema_helper(self, name, definition, schema=None, **_kwargs):
        if (schema is not None and isinstance(definition, dict)
                and definition.get("additionalProperties") is False
                and not rejects_unknown(schema)):
            del definition["additionalProperties"]  # the plugins share this dict
        return None

    def path_helper(self, rule=None, operations=None, parameters=None, **_kwargs):
        if rule is None or operations is None:
            return None
        conditional = rule_pattern(rule.rule) in CONDITIONAL_RULES
        for method in METHODS:
            op = operations.get(method)
            if op is None:
                continue
            if "operationId" not in op:
                name = operation_id(method, rule.rule)
                while name in self.seen:  # one document, one name per operation
                    name += "_"
                op["operationId"] = name
            self.seen.add(op["operationId"])
            responses = op.setdefault("responses", {})
            params = op.setdefault("parameters", [])
            named = {(p.get("in"), p.get("name")) for p in params if isinstance(p, dict)}
            accepted = responses.get("202", responses.get(202))
            if isinstance(accepted, dict):  # anything slow: a job to poll
                accepted.setdefault("headers", {}).setdefault("Location", dict(LOCATION))
                if method == "post" and ("header", "Idempotency-Key") not in named:
                    params.append(dict(IDEMPOTENCY_KEY))
            if method == "get" and conditional:
                if ("header", "If-None-Match") not in named:
                    params.append(dict(IF_NONE_MATCH))
                responses.setdefault("304", dict(NOT_MODIFIED))
                ok = responses.get("200", responses.get(200))
                if isinstance(ok, dict):
                    ok.setdefault("headers", {}).setdefault("ETag", dict(ETAG))
        return None
