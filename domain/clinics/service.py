"""The clinic service: creating, joining and leaving a clinic, and the patients overview.

Queries are the repository functions in `models.clinics`; leaving a clinic cancels its pending
webhook deliveries through the webhook service. No Flask, Celery or global settings here."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from domain.errors import DomainError
from domain.webhooks.service import cancel_departed_patient_deliveries
from models import clinics as repo
from models.accounts import Clinic, User
from models.base import as_utc

#: random bytes of an invite code (12 URL-safe characters)
INVITE_CODE_BYTES = 9


@dataclass(frozen=True)
class ClinicView:
    """A clinic as one member sees it: the invite code only for its clinicians."""

    clinic: Clinic
    show_code: bool

    def __getattr__(self, name: str):
        return getattr(self.clinic, name)

    @property
    def invite_code(self) -> str | None:
        return self.clinic.invite_code if self.show_code else None


def no_clinic() -> DomainError:
    return DomainError("you do not belong to a clinic", code="no_clinic", http_status=404)


def create_clinic(session: Session, user: User, name: str) -> ClinicView:
    """Create a clinic; a clinician without one becomes its member (ops only create it)."""
    if user.role == "clinician" and user.clinic_id:
        raise DomainError("you already belong to a clinic", code="already_in_clinic",
                          http_status=409)
    clinic = Clinic(name=name, invite_code=secrets.token_urlsafe(INVITE_CODE_BYTES))
    session.add(clinic)
    session.flush()
    if user.role == "clinician":
        user.clinic_id = clinic.id
    return ClinicView(clinic, show_code=True)


def clinic_of(session: Session, user: User) -> ClinicView:
    clinic = session.get(Clinic, user.clinic_id) if user.clinic_id else None
    if clinic is None:
        raise no_clinic()
    return ClinicView(clinic, show_code=user.role == "clinician")


def join_clinic(session: Session, user: User, invite_code: str) -> ClinicView:
    clinic = repo.clinic_by_invite_code(session, invite_code)
    if clinic is None:
        raise DomainError("no clinic has this invite code", code="invalid_invite_code",
                          http_status=404)
    user.clinic_id = clinic.id
    return ClinicView(clinic, show_code=False)


def leave_clinic(session: Session, user: User) -> None:
    """The clinic's clinicians and webhooks stop seeing the patient's data (pending deliveries
    of their events to the clinic are canceled now)."""
    if user.clinic_id:
        cancel_departed_patient_deliveries(session, user.id, user.clinic_id)
    user.clinic_id = None


@dataclass(frozen=True)
class PatientSummary:
    """One patient in the clinic overview."""

    id: str
    email: str
    profile: dict | None
    current_plan: dict | None
    last_feedback: dict | None
    last_analysis: dict | None
    last_activity_at: datetime | None
    joined_at: datetime | None = None  # not recorded


def _summary(user: User, last_at: datetime | None, latest: dict) -> PatientSummary:
    profile, plan = latest["profile"], latest["plan"]
    feedback, analysis = latest["feedback"], latest["analysis"]
    result = (analysis.result or {}) if analysis else {}
    return PatientSummary(
        id=user.id, email=user.email, last_activity_at=as_utc(last_at),
        profile={"injury": profile.injury, "fitness_level": profile.fitness_level,
                 "workouts_per_week": profile.workouts_per_week} if profile else None,
        current_plan={"id": plan.id, "week": plan.week, "status": plan.status,
                      "days_completed": sum(d["completed"] for d in plan.days),
                      "days": len(plan.days)} if plan else None,
        last_feedback={"plan_id": feedback.plan_id, "rating": feedback.rating,
                       "created_at": as_utc(feedback.created_at).isoformat()}
        if feedback else None,
        last_analysis={"id": analysis.id, "status": analysis.status,
                       "label": (result.get("exercise") or {}).get("label"),
                       "rep_count": result.get("rep_count")} if analysis else None)


def patients(session: Session, clinician: User, *, offset: int = 0,
             limit: int | None = None) -> tuple[list[PatientSummary], int]:
    """One page of the clinic's patients with their recent activity, most recently active
    first; and how many patients the clinic has."""
    if not clinician.clinic_id:
        raise no_clinic()
    page, total = repo.patients_page(session, clinician.clinic_id, offset=offset, limit=limit)
    latest = repo.latest_activity_of(session, [user.id for user, _ in page])
    return [_summary(user, last_at, latest[user.id]) for user, last_at in page], total
