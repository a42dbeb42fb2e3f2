from __future__ import annotations

import marshmallow as ma

from domain.jobs.kinds import KINDS
from models import JOB_STATUSES
from web.schemas.common import UtcDateTime
from web.schemas.plans import PAGE_ARGUMENTS


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
    """`?status=&kind=` (and `?limit=`, the older spelling of `page_size`); the page arguments
    are parsed by `@blp.paginate()`, any other argument is an error."""

    class Meta:
        unknown = ma.EXCLUDE

    status = ma.fields.String(validate=ma.validate.OneOf(JOB_STATUSES))
    kind = ma.fields.String(metadata={"description": f"one of: {', '.join(KINDS)}"})
    limit = ma.fields.Integer(validate=ma.validate.Range(min=1, max=200))

    @ma.validates_schema(pass_original=True)
    def _no_unknown(self, data, original, **_kwargs):
        unknown = set(original) - set(self.fields) - set(PAGE_ARGUMENTS)
        if unknown:
            raise ma.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
