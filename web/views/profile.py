"""The patient's profile: what the plan network reads."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from models import Profile
from web.auth import current_user, login_required, subject_user_id
from web.db import db_session
from web.errors import ApiError
from web.schemas.common import UserIdQuerySchema
from web.schemas.plans import ProfileSchema

blp = Blueprint("profile", __name__, url_prefix="/api/v1/profile", description="Patient profile")

FIELDS = ("sex", "age", "height_cm", "weight_kg", "fitness_level", "injury", "equipment",
          "workouts_per_week")


def profile_to_dict(profile: Profile) -> dict:
    body = {name: getattr(profile, name) for name in FIELDS}
    body["bmi"] = round(profile.weight_kg / (profile.height_cm / 100.0) ** 2, 1)
    body["updated_at"] = profile.updated_at
    return body


@blp.route("")
class ProfileView(MethodView):
    @login_required()
    @blp.arguments(UserIdQuerySchema, location="query")
    @blp.response(200, ProfileSchema)
    def get(self, query: dict):
        """The caller's profile (clinicians: `?user_id=` of one of their patients)."""
        profile = db_session().get(Profile, subject_user_id(query.get("user_id")))
        if profile is None:
            raise ApiError(404, "profile_not_found", "no profile yet; PUT /api/v1/profile first")
        return profile_to_dict(profile)

    @login_required()
    @blp.arguments(ProfileSchema)
    @blp.response(200, ProfileSchema)
    def put(self, body: dict):
        """Create or replace the caller's profile; `bmi` is computed."""
        session = db_session()
        profile = session.get(Profile, current_user().id)
        if profile is None:
            profile = Profile(user_id=current_user().id)
            session.add(profile)
        body["equipment"] = sorted(set(body["equipment"]))
        for name in FIELDS:
            setattr(profile, name, body[name])
        session.commit()
        return profile_to_dict(profile)
