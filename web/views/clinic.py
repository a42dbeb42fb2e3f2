"""Clinics: clinicians and their patients (who join with an invite code and can leave)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from models import Analysis, Clinic, Plan, PlanFeedback, Profile, User
from models.base import as_utc
from web.auth import current_user, login_required
from web.db import db_session
from web.errors import ApiError
from web.schemas.clinics import (
    ClinicCreateSchema,
    ClinicSchema,
    JoinClinicSchema,
    PatientSummarySchema,
)

blp = Blueprint("clinic", __name__, url_prefix="/api/v1", description="Clinics")


def clinic_to_dict(clinic: Clinic, show_code: bool) -> dict:
    body = {"id": clinic.id, "name": clinic.name, "created_at": clinic.created_at}
    if show_code:
        body["invite_code"] = clinic.invite_code
    return body


@blp.route("/clinics", methods=["POST"])
@login_required(roles=("clinician", "ops"))
@blp.arguments(ClinicCreateSchema)
@blp.response(201, ClinicSchema)
def create_clinic(body: dict):
    """Create a clinic; a clinician without one becomes its member."""
    user = current_user()
    if user.role == "clinician" and user.clinic_id:
        raise ApiError(409, "already_in_clinic", "you already belong to a clinic")
    clinic = Clinic(name=body["name"], invite_code=secrets.token_urlsafe(9))
    db_session().add(clinic)
    db_session().flush()
    if user.role == "clinician":
        user.clinic_id = clinic.id
    db_session().commit()
    return clinic_to_dict(clinic, show_code=True)


@blp.route("/clinic")
class MyClinic(MethodView):
    @login_required()
    @blp.response(200, ClinicSchema)
    def get(self):
        """The caller's clinic (the invite code is shown to its clinicians)."""
        user = current_user()
        clinic = db_session().get(Clinic, user.clinic_id) if user.clinic_id else None
        if clinic is None:
            raise ApiError(404, "no_clinic", "you do not belong to a clinic")
        return clinic_to_dict(clinic, show_code=user.role == "clinician")

    @login_required(roles=("patient",))
    @blp.response(204)
    def delete(self):
        """Leave the clinic: its clinicians and webhooks stop seeing your data."""
        from tasks.webhooks import cancel_departed_patient_deliveries

        user = current_user()
        if user.clinic_id:
            cancel_departed_patient_deliveries(db_session(), user.id, user.clinic_id)
        user.clinic_id = None
        db_session().commit()
        return None


@blp.route("/clinic/join", methods=["POST"])
@login_required(roles=("patient",))
@blp.arguments(JoinClinicSchema)
@blp.response(200, ClinicSchema)
def join_clinic(body: dict):
    clinic = db_session().scalar(select(Clinic).where(Clinic.invite_code == body["invite_code"]))
    if clinic is None:
        raise ApiError(404, "invalid_invite_code", "no clinic has this invite code")
    current_user().clinic_id = clinic.id
    db_session().commit()
    return clinic_to_dict(clinic, show_code=False)


def _latest(model, user_id: str, order):
    return db_session().scalar(select(model).where(model.user_id == user_id)
                               .order_by(order.desc()).limit(1))


@blp.route("/clinic/patients")
@login_required(roles=("clinician",))
@blp.response(200, PatientSummarySchema(many=True))
def list_patients():
    """The clinic's patients with their recent activity, most recently active first."""
    user = current_user()
    if not user.clinic_id:
        raise ApiError(404, "no_clinic", "you do not belong to a clinic")
    patients = db_session().scalars(select(User).where(User.clinic_id == user.clinic_id,
                                                       User.role == "patient")).all()
    out = []
    for patient in patients:
        profile = db_session().get(Profile, patient.id)
        plan = _latest(Plan, patient.id, Plan.created_at)
        feedback = _latest(PlanFeedback, patient.id, PlanFeedback.created_at)
        analysis = _latest(Analysis, patient.id, Analysis.created_at)
        times = [as_utc(x.created_at) for x in (plan, feedback, analysis) if x is not None]
        out.append({
            "id": patient.id, "email": patient.email, "joined_at": None,
            "profile": {"injury": profile.injury, "fitness_level": profile.fitness_level,
                        "workouts_per_week": profile.workouts_per_week} if profile else None,
            "current_plan": {"id": plan.id, "week": plan.week, "status": plan.status,
                             "days_completed": sum(d["completed"] for d in plan.days),
                             "days": len(plan.days)} if plan else None,
            "last_feedback": {"plan_id": feedback.plan_id, "rating": feedback.rating,
                              "created_at": as_utc(feedback.created_at).isoformat()}
            if feedback else None,
            "last_analysis": {"id": analysis.id, "status": analysis.status,
                              "label": ((analysis.result or {}).get("exercise") or {}).get("label"),
                              "rep_count": (analysis.result or {}).get("rep_count")}
            if analysis else None,
            "last_activity_at": max(times) if times else None,
        })
    out.sort(key=lambda p: p["last_activity_at"] or datetime.min.replace(tzinfo=UTC),
             reverse=True)
    return out
