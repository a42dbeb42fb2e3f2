from __future__ import annotations

from collections.abc import Mapping

import marshmallow as ma

from models.jobs import JOB_STATUSES


class StrictSchema(ma.Schema):
    """Request bodies: unknown fields are an error, not silently dropped."""

    class Meta:
        unknown = ma.RAISE


class StoredSchema(ma.Schema):
    """Dump-only description of a stored dict: it is answered as it is, keys not declared here
    included (a later version's keys reach old clients; numbers keep their type)."""

    class Meta:
        unknown = ma.INCLUDE  # documents additionalProperties: true

    @ma.post_dump(pass_original=True)
    def _as_stored(self, data: dict, original, **_kwargs):
        return dict(original) if isinstance(original, Mapping) else data


class JobAcceptedSchema(ma.Schema):
    job_id = ma.fields.String(required=True)
    id = ma.fields.String(metadata={"description": "the object the job works on, if any"})
    status = ma.fields.String(validate=ma.validate.OneOf(JOB_STATUSES))


class UserIdQuerySchema(StrictSchema):
    user_id = ma.fields.String(metadata={"description": "clinicians: one of their patients"})


class UtcDateTime(ma.fields.DateTime):
    """ISO 8601 in UTC; SQLite hands back naive datetimes, which are UTC by construction."""

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "iso")
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        from models.base import as_utc

        return super()._serialize(as_utc(value), attr, obj, **kwargs)
