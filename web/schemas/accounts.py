from __future__ import annotations

import marshmallow as ma

from domain.accounts import MIN_PASSWORD_LENGTH
from models.accounts import ROLES
from web.schemas.common import StrictSchema, UtcDateTime

_password = ma.fields.String(
    required=True, load_only=True, validate=ma.validate.Length(min=MIN_PASSWORD_LENGTH, max=256)
)


class RegisterSchema(StrictSchema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=320))
    password = _password


class TokenRequestSchema(StrictSchema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=320))
    password = ma.fields.String(required=True, load_only=True,
                                validate=ma.validate.Length(min=1, max=256))


class TokenSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True, metadata={"description": "always `bearer`"})
    expires_in = ma.fields.Integer(required=True,
                                   metadata={"description": "seconds the access token lasts"})
    refresh_token = ma.fields.String(required=True, metadata={
        "description": "use once with POST /api/v1/auth/refresh for a new pair"})
    refresh_expires_in = ma.fields.Integer(required=True, metadata={
        "description": "seconds the refresh token lasts unused"})


class RefreshRequestSchema(StrictSchema):
    refresh_token = ma.fields.String(required=True, load_only=True,
                                     validate=ma.validate.Length(min=1, max=256))


class UserSchema(ma.Schema):
    id = ma.fields.String(required=True)
    email = ma.fields.String(required=True)
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROLES))
    clinic_id = ma.fields.String(allow_none=True)
    created_at = UtcDateTime()


class UpdateMeSchema(StrictSchema):
    email = ma.fields.Email(validate=ma.validate.Length(max=320))
    password = ma.fields.String(load_only=True,
                                validate=ma.validate.Length(min=MIN_PASSWORD_LENGTH, max=256))
    current_password = ma.fields.String(required=True, load_only=True,
                                        validate=ma.validate.Length(min=1, max=256))

    @ma.validates_schema
    def _something_to_change(self, data, **_kwargs):
        if "email" not in data and "password" not in data:
            raise ma.ValidationError("give email or password to change", "_schema")
