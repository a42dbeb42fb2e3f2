"""Clinics: clinicians and their patients (who join with an invite code and can leave).

Each route authorizes by role, calls the clinic service (domain/clinics/service.py) and returns
objects the clinic schemas serialize."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from domain.clinics import service
from web.auth import current_user, login_required
from web.db import db_session
from web.pages import page_slice, paginated
from web.schemas.clinics import (
    AdherenceSchema,
    ClinicCreateSchema,
    ClinicSchema,
    JoinClinicSchema,
    PatientSummarySchema,
)
from web.service_errors import answered_as_api_errors

blp = Blueprint("clinic", __name__, url_prefix="/api/v1", description="Clinics")


@blp.route("/clinics", methods=["POST"])
@login_required(roles=("clinician", "ops"))
@blp.arguments(ClinicCreateSchema)
@blp.response(201, ClinicSchema)
def create_clinic(body: dict):
    """Create a clinic; a clinician without one becomes its member."""
    with answered_as_api_errors():
        clinic = service.create_clinic(db_session(), current_user(), body["name"])
    db_session().commit()
    return clinic


@blp.route("/clinic")
class MyClinic(MethodView):
    @login_required()
    @blp.response(200, ClinicSchema)
    def get(self):
        """The caller's clinic (the invite code is shown to its clinicians)."""
        with answered_as_api_errors():
            return service.clinic_of(db_session(), current_user())

    @login_required(roles=("patient",))
    @blp.response(204)
    def delete(self):
        """Leave the clinic: its clinicians and webhooks stop seeing your data."""
        service.leave_clinic(db_session(), current_user())
        db_session().commit()
        return None


@blp.route("/clinic/join", methods=["POST"])
@login_required(roles=("patient",))
@blp.arguments(JoinClinicSchema)
@blp.response(200, ClinicSchema)
def join_clinic(body: dict):
    with answered_as_api_errors():
        clinic = service.join_clinic(db_session(), current_user(), body["invite_code"])
    db_session().commit()
    return clinic


@blp.route("/clinic/patients/<user_id>")
@login_required(roles=("clinician",))
@blp.response(200, PatientSummarySchema)
def get_patient(user_id: str):
    """One patient of the clinic, as in the list: profile, current plan, last feedback and
    analysis, adherence. Anyone not a patient of this clinic answers 404."""
    with answered_as_api_errors():
        return service.patient_summary(db_session(), current_user(), user_id)


@blp.route("/clinic/patients/<user_id>/adherence")
@login_required(roles=("clinician",))
@blp.response(200, AdherenceSchema)
def patient_adherence(user_id: str):
    """One patient's adherence: share of prescribed sessions and repetitions done (overall and
    per week), range-of-motion trend per camera-checked exercise, last pain ratings."""
    with answered_as_api_errors():
        return service.patient_adherence(db_session(), current_user(), user_id)


@blp.route("/clinic/patients")
@login_required(roles=("clinician",))
@blp.response(200, PatientSummarySchema(many=True))
@paginated(blp)
def list_patients(pagination_parameters):
    """The clinic's patients with their recent activity, most recently active first."""
    with answered_as_api_errors():
        patients, total = service.patients(db_session(), current_user(),
                                           **page_slice(pagination_parameters))
    pagination_parameters.item_count = total
    return patients
