from __future__ import annotations

import marshmallow as ma

from models import JOB_STATUSES
from web.schemas.common import UtcDateTime


class JobErrorSchema(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)


class JobSchema(ma.Schema):
    id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(JOB_STATUSES))
    progress = ma.fields.Integer(required=True)
    stage = ma.fields.String(allow_none=True)
    created_at = UtcDateTime(required=True)
    started_at = UtcDateTime(allow_none=True)
    finished_at = UtcDateTime(allow_none=True)
    error = ma.fields.Nested(JobErrorSchema, allow_none=True)
    result = ma.fields.Dict(allow_none=True)


class JobListQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    status = ma.fields.String(validate=ma.validate.OneOf(JOB_STATUSES))
    kind = ma.fields.String()
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))
