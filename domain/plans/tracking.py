"""The performed side of a plan: camera checks and self-reports of prescribed exercises.

Views call `check_prescription` (before an analysis is accepted against a plan day) and
`self_report`; the video service calls `record_camera_check` when a checked analysis
succeeds; the plan service reads `performance_entries` for next week. Each record is a
`PlanPerformance` row; the plan item's ``performed`` and the day's ``completed`` are kept in the
plan's days (one read, no join), recomputed from the rows on every record. Events
``exercise.checked`` and ``plan.day.completed`` go through the event sink (`emit`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session

from domain.errors import DomainError
from domain.webhooks.events import EXERCISE_CHECKED, PLAN_DAY_COMPLETED
from models import performance as repo
from models.analyses import Analysis
from models.performance import PlanPerformance
from models.plans import Plan

from .performance import day_completed, entry_dict, self_report_volume, summarize

Emit = Callable[..., object]
PRESCRIPTION_FIELDS = ("plan_id", "day", "exercise_id")


class InvalidPrescription(DomainError):
    """422 with field errors: the day or exercise is not in that plan, or cannot be checked."""

    code = "validation_error"
    http_status = 422

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("the request has invalid fields")
        self.errors = errors


def _plan_not_found() -> DomainError:
    return DomainError("plan not found", code="not_found", http_status=404)


def plan_item(plan: Plan, day: int, exercise_id: str) -> tuple[dict, dict]:
    """(day, item) of a plan; 422 naming the field when the day or exercise is not there."""
    found = next((d for d in plan.days if d["day"] == day), None)
    if found is None:
        days = ", ".join(str(d["day"]) for d in plan.days)
        raise InvalidPrescription({"day": [f"this plan has no day {day} (days: {days})"]})
    item = next((i for i in found["exercises"] if i["exercise_id"] == exercise_id), None)
    if item is None:
        names = ", ".join(i["exercise_id"] for i in found["exercises"])
        raise InvalidPrescription({"exercise_id": [
            f"{exercise_id} is not prescribed on day {day} of this plan ({names})"]})
    return found, item


def check_prescription(session: Session, user_id: str, fields: dict,
                       checks: dict) -> dict | None:
    """The prescription an upload is checked against (None when none is named).

    ``fields``: the request's ``plan_id``, ``day``, ``exercise_id`` (all three or none);
    ``checks``: the camera checks by exercise id. The plan must be the caller's own (another
    patient's answers 404, as if absent)."""
    given = {k: fields.get(k) for k in PRESCRIPTION_FIELDS if fields.get(k) not in (None, "")}
    if not given:
        return None
    missing = [k for k in PRESCRIPTION_FIELDS if k not in given]
    if missing:
        raise InvalidPrescription({k: ["plan_id, day and exercise_id go together"]
                                   for k in missing})
    plan = session.get(Plan, str(given["plan_id"]))
    if plan is None or plan.user_id != user_id:
        raise _plan_not_found()
    _day, item = plan_item(plan, int(given["day"]), str(given["exercise_id"]))
    check = checks.get(item["exercise_id"])
    if check is None or not check.supported:
        why = f" ({check.reason})" if check is not None and check.reason else ""
        raise InvalidPrescription({"exercise_id": [
            f"{item['name']} cannot be checked by camera{why}; self-report it with POST "
            f"/api/v1/plans/{plan.id}/days/{given['day']}/exercises/{item['exercise_id']}"
            f"/performed"]})
    return {"plan_id": plan.id, "day": int(given["day"]), "exercise_id": item["exercise_id"]}


def _refresh(session: Session, plan: Plan, day: int, exercise_id: str,
             now: dt.datetime) -> tuple[dict | None, bool]:
    """Recompute the item's ``performed`` and the day's ``completed``; returns the item's
    ``performed`` and whether the day has just been completed."""
    session.flush()
    entries = [entry_dict(r) for r in repo.of_plan_exercise(session, plan.id, day, exercise_id)]
    days = [dict(d) for d in plan.days]
    target = next(d for d in days if d["day"] == day)
    target["exercises"] = [dict(i) for i in target["exercises"]]
    performed = None
    for item in target["exercises"]:
        if item["exercise_id"] == exercise_id:
            performed = summarize(item, entries)
            item["performed"] = performed
    newly = not target.get("completed") and day_completed(target)
    if newly:
        target["completed"] = True
        target["completed_at"] = now.isoformat()
    plan.days = days  # JSON columns change only on assignment
    return performed, newly


def _day_completed_event(session: Session, plan: Plan, day: int, emit: Emit) -> None:
    target = next(d for d in plan.days if d["day"] == day)
    emit(session, PLAN_DAY_COMPLETED, plan.user_id,
         {"plan_id": plan.id, "week": plan.week, "day": day,
          "completed_at": target.get("completed_at"),
          "exercises": [{"exercise_id": i["exercise_id"], "performed": i.get("performed")}
                        for i in target["exercises"]],
          "links": {"plan": f"/api/v1/plans/{plan.id}"}},
         key=f"{plan.id}:{plan.version}:{day}")


def _checked_event(session: Session, plan: Plan, row: PlanPerformance, performed: dict | None,
                   emit: Emit, key: str, extra: dict | None = None) -> None:
    emit(session, EXERCISE_CHECKED, plan.user_id,
         {"plan_id": plan.id, "week": plan.week, "day": row.day, "exercise_id": row.exercise_id,
          "source": row.source, "analysis_id": row.analysis_id, "counted": row.valid,
          "reps": row.reps, "hold_s": row.hold_s, "rom_deg": row.rom_deg, "pain": row.pain,
          "day_performed": performed, **(extra or {}),
          "links": {"plan": f"/api/v1/plans/{plan.id}"}}, key=key)


def record_camera_check(session: Session, analysis: Analysis, job_id: str, emit: Emit,
                        now: dt.datetime) -> PlanPerformance | None:
    """A checked analysis succeeded: its measurement becomes the plan's record (a reprocessed
    analysis updates its record instead of adding one)."""
    result = analysis.result or {}
    performed = result.get("performed")
    if not analysis.plan_id or performed is None:
        return None
    plan = session.get(Plan, analysis.plan_id)
    if plan is None or plan.user_id != analysis.user_id:
        return None  # the plan was deleted meanwhile: nothing to record
    row = repo.of_analysis(session, analysis.id)
    if row is None:
        row = PlanPerformance(plan_id=plan.id, user_id=plan.user_id, day=analysis.plan_day,
                              exercise_id=analysis.plan_exercise_id, source="camera",
                              analysis_id=analysis.id, created_at=now)
        session.add(row)
    row.valid = bool(performed.get("counted"))
    row.reps, row.sets = performed.get("reps"), performed.get("sets")
    row.duration_s, row.hold_s = performed.get("duration_s"), performed.get("hold_s")
    row.rom_deg, row.rom_ratio = performed.get("rom_deg"), performed.get("rom_ratio")
    row.form_verdict = performed.get("form_verdict")
    row.details = {"reasons": performed.get("reasons", []),
                   "not_measured": result.get("not_measured", []), "job_id": job_id}
    day_performed, newly = _refresh(session, plan, row.day, row.exercise_id, now)
    _checked_event(session, plan, row, day_performed, emit, key=f"{analysis.id}:{job_id}",
                   extra={"completed": performed.get("completed"),
                          "reasons": performed.get("reasons", [])})
    if newly:
        _day_completed_event(session, plan, row.day, emit)
    return row


def forget_camera_check(session: Session, analysis: Analysis, now: dt.datetime) -> None:
    """A checked analysis is deleted: its record goes and the item's ``performed`` is
    recomputed (a day already completed stays completed: it was done)."""
    row = repo.of_analysis(session, analysis.id)
    plan = session.get(Plan, analysis.plan_id) if analysis.plan_id else None
    if row is None or plan is None:
        return
    session.delete(row)
    _refresh(session, plan, row.day, row.exercise_id, now)


def self_report(session: Session, plan: Plan, day: int, exercise_id: str, body: dict,
                emit: Emit, now: dt.datetime) -> dict:
    """A self-reported performance (any exercise; the only way for one without a camera
    check). Returns the day as it now stands."""
    if plan.status == "superseded":
        raise DomainError("report on the current version of the week", code="plan_superseded",
                          http_status=409)
    _day, item = plan_item(plan, day, exercise_id)
    volume = self_report_volume(item, reps=body.get("reps"), sets=body.get("sets"),
                                duration_s=body.get("duration_s"))
    row = PlanPerformance(plan_id=plan.id, user_id=plan.user_id, day=day,
                          exercise_id=exercise_id, source="self", valid=True,
                          reps=volume["reps"], sets=volume["sets"],
                          duration_s=volume["duration_s"], pain=body.get("pain"),
                          details={"note": body.get("note")} if body.get("note") else None,
                          created_at=now)
    session.add(row)
    performed, newly = _refresh(session, plan, day, exercise_id, now)
    _checked_event(session, plan, row, performed, emit, key=f"self:{row.id}")
    if newly:
        _day_completed_event(session, plan, day, emit)
    return next(d for d in plan.days if d["day"] == day)


def performance_entries(session: Session, plan_id: str) -> list[dict]:
    """Every record of a plan as entry dicts (what next week's rules read)."""
    return [entry_dict(r) for r in repo.of_plan(session, plan_id)]
