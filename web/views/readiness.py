"""Readiness (sleep, resting heart rate, HRV) scored against the user's own baseline.

The plan service scores the readings and lightens today's plan day when readiness is low."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from domain.plans import service
from models import plans as repo
from web.auth import current_user, login_required, subject_user_id
from web.db import db_session
from web.pages import page_slice, paginated
from web.schemas.plans import PagedUserIdQuerySchema, ReadinessOutSchema, ReadinessSchema

blp = Blueprint("readiness", __name__, url_prefix="/api/v1/readiness",
                description="Daily readiness")


@blp.route("")
class ReadinessView(MethodView):
    @login_required()
    @blp.arguments(ReadinessSchema)
    @blp.response(201, ReadinessOutSchema)
    def post(self, body: dict):
        """Record today's (or a given day's) readings and score them; replaces that day's entry."""
        recorded = service.record_readiness(db_session(), current_user().id, body,
                                            day=body.get("date"))
        db_session().commit()
        return recorded

    @login_required()
    @blp.arguments(PagedUserIdQuerySchema, location="query")
    @blp.response(200, ReadinessOutSchema(many=True))
    @paginated(blp)
    def get(self, query: dict, pagination_parameters):
        """Readiness history, newest first."""
        user_id = subject_user_id(query.get("user_id"))
        entries, total = repo.readiness_history(db_session(), user_id,
                                                **page_slice(pagination_parameters))
        pagination_parameters.item_count = total
        return entries
