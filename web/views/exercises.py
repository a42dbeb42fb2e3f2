"""The exercise library, with filters."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import select

from domain.plans.library import (
    UNCHECKED,
    camera_check_summaries,
    filter_exercises,
    parse_exercise,
)
from models import Exercise
from web.auth import login_required
from web.db import db_session
from web.errors import ApiError
from web.schemas.exercises import ExerciseWithCheckSchema
from web.schemas.plans import ExerciseQuerySchema

blp = Blueprint("exercises", __name__, url_prefix="/api/v1", description="Exercise library")


def library() -> list:
    rows = db_session().scalars(select(Exercise).order_by(Exercise.id)).all()
    return [parse_exercise(row.data, index) for index, row in enumerate(rows)]


@blp.route("/exercises")
@login_required()
@blp.arguments(ExerciseQuerySchema, location="query")
@blp.response(200, ExerciseWithCheckSchema(many=True))
def list_exercises(query: dict):
    """Filter by injury, equipment (what the user has), category, muscle, level and text."""
    equipment = query.get("equipment")
    if equipment is not None:
        equipment = [item for item in equipment if item != "none"]
    found = filter_exercises(library(), injury=query.get("injury"), equipment=equipment,
                             category=query.get("category"), muscle=query.get("muscle"),
                             level=query.get("level"), q=query.get("q"))
    checks = camera_check_summaries()
    return [{**exercise.to_dict(), "camera_check": checks.get(exercise.id, UNCHECKED)}
            for exercise in found]


@blp.route("/exercises/<exercise_id>")
@login_required()
@blp.response(200, ExerciseWithCheckSchema)
def get_exercise(exercise_id: str):
    """One exercise, with whether (and how) a video of it can be checked: ``camera_check``."""
    row = db_session().get(Exercise, exercise_id)
    if row is None:
        raise ApiError(404, "not_found", "no such exercise")
    return {**row.data, "camera_check": camera_check_summaries().get(exercise_id, UNCHECKED)}


@blp.route("/equipment")
@login_required()
@blp.response(200)
def list_equipment():
    """Equipment values a profile may list."""
    from domain.plans.profile import EQUIPMENT

    return {"equipment": list(EQUIPMENT)}
