"""The clinic service: creating, joining and leaving a clinic, and the patients overview.

Queries are the repository functions in `models.clinics`; leaving a clinic cancels its pending
webhook deliveries through the webhook service. No Flask, Celery or global settings here."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from domain.errors import DomainError
from domain.plans.performance import adherence, entry_dict
from domain.webhooks.service import cancel_departed_patient_deliveries
from models import clinics as repo
from models import performance as performance_repo
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
    adherence: dict | None = None


def _adherence(plans: list, entries: list) -> dict:
    """Adherence over the patient's plans (every week's current version)."""
    plan_dicts = [{"id": p.id, "week": p.week, "days": p.days} for p in plans]
    out = adherence(plan_dicts, [entry_dict(e) for e in entries])
    for points in out["rom_trend"].values():
        for point in points["points"]:
            point["at"] = as_utc(point["at"]).isoformat() if point["at"] else None
    for pain in out["last_pain"]:
        pain["at"] = as_utc(pain["at"]).isoformat() if pain["at"] else None
    return out


def _adherence_summary(full: dict) -> dict:
    """The overview's share: sessions, repetitions, the range trend's change, last pain."""
    return {"sessions": full["sessions"], "repetitions": full["repetitions"],
            "camera_checks": full["camera_checks"], "self_reports": full["self_reports"],
            "rom_change_deg": {k: v["change_deg"] for k, v in full["rom_trend"].items()},
            "last_pain": full["last_pain"][0] if full["last_pain"] else None}


def _summary(user: User, last_at: datetime | None, latest: dict,
             adherence_now: dict | None = None) -> PatientSummary:
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
                       "pain": feedback.pain,
                       "created_at": as_utc(feedback.created_at).isoformat()}
        if feedback else None,
        last_analysis={"id": analysis.id, "status": analysis.status,
                       "label": (result.get("exercise") or {}).get("label"),
                       "rep_count": result.get("rep_count")} if analysis else None,
        adherence=_adherence_summary(adherence_now) if adherence_now else None)


def patients(session: Session, clinician: User, *, offset: int = 0,
             limit: int | None = None) -> tuple[list[PatientSummary], int]:
    """One page of the clinic's patients with their recent activity, most recently active
    first; and how many patients the clinic has."""
    if not clinician.clinic_id:
        raise no_clinic()
    page, total = repo.patients_page(session, clinician.clinic_id, offset=offset, limit=limit)
    ids = [user.id for user, _ in page]
    latest = repo.latest_activity_of(session, ids)
    # Two queries for the whole page: every plan and every performed record of its patients.
    plans = performance_repo.plans_of_users(session, ids)
    entries = performance_repo.of_users(session, ids)
    return [_summary(user, last_at, latest[user.id], _adherence(plans[user.id],
                                                                entries[user.id]))
            for user, last_at in page], total


def _patient_of(session: Session, clinician: User, user_id: str) -> User:
    """A patient of the clinician's clinic; anyone else answers 404 (as if absent)."""
    if not clinician.clinic_id:
        raise no_clinic()
    patient = session.get(User, user_id)
    if (patient is None or patient.clinic_id != clinician.clinic_id
            or patient.role != "patient"):
        raise DomainError("no such patient", code="not_found", http_status=404)
    return patient


def patient_summary(session: Session, clinician: User, user_id: str) -> PatientSummary:
    """One patient of the clinic as in the list (GET /clinic/patients): profile, current plan,
    last feedback and analysis, adherence."""
    patient = _patient_of(session, clinician, user_id)
    latest = repo.latest_activity_of(session, [user_id])[user_id]
    # the list's last activity: the newest plan, feedback or analysis
    times = [row.created_at for key in ("plan", "feedback", "analysis")
             if (row := latest[key]) is not None and row.created_at is not None]
    plans = performance_repo.plans_of_users(session, [user_id])[user_id]
    entries = performance_repo.of_users(session, [user_id])[user_id]
    return _summary(patient, max(times, key=as_utc) if times else None, latest,
                    _adherence(plans, entries))


def patient_adherence(session: Session, clinician: User, user_id: str) -> dict:
    """One patient's adherence in full: sessions and repetitions done of those prescribed,
    per week too, the range-of-motion trend per checked exercise, the last pain ratings.
    Another clinic's patient (or anyone who is not a patient of this clinic) answers 404."""
    _patient_of(session, clinician, user_id)
    plans = performance_repo.plans_of_users(session, [user_id])[user_id]
    entries = performance_repo.of_users(session, [user_id])[user_id]
    out = _adherence(plans, entries)
    out["weeks"] = []
    for plan in plans:
        week = _adherence([plan], [e for e in entries if e.plan_id == plan.id])
        out["weeks"].append({"plan_id": plan.id, "week": plan.week, "status": plan.status,
                             "sessions": week["sessions"],
                             "repetitions": week["repetitions"]})
    out["user_id"] = user_id
    return out
