"""The plan service: every rule of the plan path, between the HTTP/worker layers and the tables.

Workers call `generate_for_job`, `record_feedback` and `regenerate_after_feedback`; views call
`check_feedback`, `new_feedback`, `complete_day`, `record_readiness` and the readers. Queries are
the repository functions in `models.plans`; settings (the plan model version) and the event
sink arrive as arguments, so this module imports no Flask, Celery or global settings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.errors import DomainError
from models import plans as repo
from models.plans import Plan, PlanFeedback, Profile, ReadinessEntry

from .adaptation import compute_adjustment, with_performance
from .builder import build_week
from .library import Exercise, parse_exercise
from .network import PlanScorer
from .performance import performance_changes
from .profile import Profile as ProfileData
from .readiness import compute_readiness, lighten_day
from .tracking import performance_entries

DISCLAIMER = ("Use this plan only with medical advice; stop any exercise that causes pain "
              "above 3/10 and report it as discomfort.")

#: parts of a generated plan fed back into the next week's generation
PLAN_STATE_KEYS = ("set_delta", "excluded_ids", "readiness_score", "adjustment")
PROFILE_FIELDS = ("sex", "age", "height_cm", "weight_kg", "fitness_level", "injury", "equipment",
                  "workouts_per_week")
#: readiness of the days before this many days does not count towards the personal baseline
BASELINE_DAYS = 28
#: attempts at a free version number when plan jobs of one user race (SQLite)
VERSION_ATTEMPTS = 5

#: records a domain event in the session (tasks.events.emit): (session, type, user, data, key)
Emit = Callable[..., object]


class InvalidFields(DomainError):
    """Input the schema could not judge (it depends on stored rows): 422 with field errors."""

    code = "validation_error"
    http_status = 422

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("the request has invalid fields")
        self.errors = errors


@dataclass(frozen=True)
class PlanGeneration:
    """What building a plan needs from outside the database."""

    scorer: PlanScorer
    model_version: str
    emit: Emit


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def generate_plan(
    profile: ProfileData,
    scorer: PlanScorer,
    library: list[Exercise],
    *,
    week: int,
    previous_plan: dict | None = None,
    feedback: dict | None = None,
    rating_history: list[str] | None = None,
    readiness_score: float | None = None,
    performance: list[dict] | None = None,
) -> dict:
    """Generate the plan for ``week`` (no I/O).

    - ``previous_plan``: last week's plan dict (as returned by this function) or None.
    - ``feedback``: ``{rating, exercise_ids?, note?}`` given on ``previous_plan`` or None.
    - ``rating_history``: ratings of the weeks before that feedback, oldest first (excluding
      ``feedback['rating']``).
    - ``readiness_score``: today's readiness 0-100 or None.
    - ``performance``: what was performed of ``previous_plan`` (camera checks and
      self-reports, ``performance.entry_dict``): measured shortfalls, ranges and pain change
      next week's load per exercise (``performance.performance_changes``).

    Returns the ``PlanDraft`` dict plus ``model_version`` and ``adjustment``.  If the returned
    ``fitness_level`` differs from ``profile.fitness_level`` the caller should store it in the
    user's profile (the feedback loop moved the level).
    """
    adjustment = compute_adjustment(feedback, rating_history or [], previous_plan, library,
                                    profile)
    if previous_plan and performance:
        changes = performance_changes(previous_plan.get("days", []), performance,
                                      previous_plan.get("fitness_level") or profile.fitness_level)
        adjustment = with_performance(adjustment, changes, library, profile)
    effective = replace(profile, fitness_level=adjustment.fitness_level)
    scores = scorer.score(effective, library)
    draft = build_week(
        effective, library, scores, week=week, adjustment=adjustment,
        readiness_score=readiness_score,
        explain_fn=lambda exs: scorer.explain(effective, exs, level=adjustment.fitness_level),
    )
    out = draft.to_dict()
    out["notes"].append(DISCLAIMER)
    out["model_version"] = scorer.version
    out["adjustment"] = adjustment.to_dict()
    return out


# -- reading what a plan is built from ------------------------------------------------------------

def load_library(session: Session) -> list[Exercise]:
    rows = repo.library_rows(session)
    if not rows:
        raise DomainError("the exercise library is empty; run `flask exercises load`",
                          code="library_empty")
    return [parse_exercise(row.data, index) for index, row in enumerate(rows)]


def require_profile(session: Session, user_id: str) -> Profile:
    profile = session.get(Profile, user_id)
    if profile is None:
        raise DomainError("create a profile (PUT /api/v1/profile) first",
                          code="profile_required", http_status=409)
    return profile


def profile_data(profile: Profile, fitness_level: str | None = None) -> ProfileData:
    values = {name: getattr(profile, name) for name in PROFILE_FIELDS}
    if fitness_level:
        values["fitness_level"] = fitness_level
    return ProfileData(**values)


def recent_readiness(session: Session, user_id: str, today: dt.date | None = None) -> float | None:
    """Today's readiness score (or yesterday's), which makes today's session lighter if low."""
    today = today or utc_today()
    entry = repo.latest_readiness(session, user_id, since=today - dt.timedelta(days=1))
    return entry.score if entry else None


def plan_basis(session: Session, user_id: str, week: int) -> tuple[dict | None, dict | None,
                                                                   list[str]]:
    """What week `week` is built from: last week's plan and the feedback given on it, and the
    ratings of the weeks before that (oldest first)."""
    rated = repo.rated_plan_of_week(session, user_id, week - 1)
    if rated is None:
        return None, None, repo.rating_history(session, user_id, before_week=week - 1)
    previous = {**(rated.state or {}), "id": rated.id, "week": rated.week,
                "fitness_level": rated.fitness_level, "rep_factor": rated.rep_factor,
                "days": rated.days}
    feedback = {"rating": rated.feedback.rating, "exercise_ids": rated.feedback.exercise_ids,
                "pain": rated.feedback.pain}
    return previous, feedback, repo.rating_history(session, user_id, before_week=rated.week)


def next_week(session: Session, user_id: str) -> int:
    """The week a new plan is for: the latest week again (a new version), or the week after it
    once that week has feedback."""
    latest = repo.latest_plan(session, user_id)
    if latest is None:
        return 1
    return latest.week + (1 if repo.feedback_of_plan(session, latest.id) is not None else 0)


# -- writing plans --------------------------------------------------------------------------------

def plan_from_draft(draft: dict, *, user_id: str, week: int, version: int, job_id: str,
                    profile: Profile, previous_plan_id: str | None, model_version: str) -> Plan:
    return Plan(user_id=user_id, week=week, version=version, status="active",
                model_version=model_version,
                fitness_level=draft.get("fitness_level", profile.fitness_level),
                rep_factor=float(draft.get("rep_factor", 1.0)), days=draft["days"],
                notes=draft.get("notes", []),
                state={key: draft.get(key) for key in PLAN_STATE_KEYS if key in draft},
                profile_snapshot={name: getattr(profile, name) for name in PROFILE_FIELDS},
                previous_plan_id=previous_plan_id, job_id=job_id)


def _insert_next_version(session: Session, draft: dict, **fields) -> Plan:
    """Add the plan under the next free version number of its week.

    Two plan jobs of one user may finish at the same moment: the user's row is locked
    (PostgreSQL) and a lost race on the version number (SQLite) takes the next number."""
    repo.lock_user(session, fields["user_id"])
    for _attempt in range(VERSION_ATTEMPTS):
        version = repo.newest_version(session, fields["user_id"], fields["week"]) + 1
        plan = plan_from_draft(draft, version=version, **fields)
        try:
            with session.begin_nested():
                session.add(plan)
        except IntegrityError:
            continue
        return plan
    raise DomainError("another plan of this week was being written; try again",
                      code="plan_conflict")


def store_plan(session: Session, draft: dict, *, user_id: str, week: int, job_id: str,
               profile: Profile, previous_plan_id: str | None, model_version: str,
               emit: Emit) -> Plan:
    """Write the week's plan as its newest version; earlier versions become superseded."""
    plan = _insert_next_version(session, draft, user_id=user_id, week=week, job_id=job_id,
                                profile=profile, previous_plan_id=previous_plan_id,
                                model_version=model_version)
    for old in repo.other_active_versions(session, plan):
        old.status = "superseded"
    session.flush()
    if plan.fitness_level != profile.fitness_level:
        # Feedback in the same direction two weeks running moved the level: the profile follows.
        profile.fitness_level = plan.fitness_level
    emit(session, "plan.generated", user_id,
         {"plan_id": plan.id, "week": week, "version": plan.version, "job_id": job_id,
          "links": {"plan": f"/api/v1/plans/{plan.id}"}}, key=job_id)
    return plan


def build(session: Session, gen: PlanGeneration, *, job_id: str, user_id: str,
          week: int) -> dict:
    """Score the library with the plan network and build week `week` for the user."""
    done = repo.plan_of_job(session, job_id)
    if done is not None:  # redelivered after the plan was written: never a second plan
        return {"plan_id": done.id, "week": done.week, "version": done.version}
    profile = require_profile(session, user_id)
    previous, feedback, history = plan_basis(session, user_id, week)
    draft = generate_plan(
        profile_data(profile), gen.scorer, load_library(session), week=week,
        previous_plan=previous, feedback=feedback, rating_history=history,
        readiness_score=recent_readiness(session, user_id),
        performance=performance_entries(session, previous["id"]) if previous else None)
    plan = store_plan(session, draft, user_id=user_id, week=week, job_id=job_id,
                      profile=profile, previous_plan_id=previous["id"] if previous else None,
                      model_version=gen.model_version, emit=gen.emit)
    return {"plan_id": plan.id, "week": plan.week, "version": plan.version}


def generate_for_job(session: Session, gen: PlanGeneration, *, job_id: str,
                     user_id: str) -> dict:
    """POST /plans: this week's plan, or a new version of it (e.g. after a profile change)."""
    return build(session, gen, job_id=job_id, user_id=user_id, week=next_week(session, user_id))


# -- feedback -------------------------------------------------------------------------------------

def feedback_of_job(session: Session, job_id: str) -> PlanFeedback:
    feedback = repo.feedback_of_job(session, job_id)
    if feedback is None:
        raise DomainError("the feedback of this job is missing", code="feedback_missing")
    return feedback


def check_feedback(plan: Plan, exercise_ids: list[str]) -> None:
    """Feedback is taken once per week, on the week's current version, about its exercises."""
    if plan.feedback is not None:
        raise DomainError(f"this week already has feedback (job {plan.feedback.job_id})",
                          code="feedback_exists", http_status=409)
    if plan.status == "superseded":
        raise DomainError("give feedback on the current version of the week",
                          code="plan_superseded", http_status=409)
    planned = {item["exercise_id"] for day in plan.days for item in day["exercises"]}
    unknown = [e for e in exercise_ids if e not in planned]
    if unknown:
        raise InvalidFields({"exercise_ids": [f"not in this plan: {', '.join(unknown)}"]})


def new_feedback(plan: Plan, *, rating: str, exercise_ids: list[str], note: str | None,
                 job_id: str, pain: int | None = None) -> PlanFeedback:
    """The feedback row a feedback job works on (added in the job's own transaction)."""
    return PlanFeedback(plan_id=plan.id, user_id=plan.user_id, rating=rating,
                        exercise_ids=exercise_ids, note=note, pain=pain, job_id=job_id)


def record_feedback(session: Session, *, job_id: str, emit: Emit) -> dict:
    """First step of a feedback job: the answer is kept as training signal and announced."""
    feedback = feedback_of_job(session, job_id)
    plan = session.get(Plan, feedback.plan_id)
    require_profile(session, feedback.user_id)
    emit(session, "feedback.received", feedback.user_id,
         {"plan_id": plan.id, "week": plan.week, "rating": feedback.rating,
          "pain": feedback.pain, "job_id": job_id},
         key=job_id)
    return {"plan_id": plan.id, "rating": feedback.rating}


def regenerate_after_feedback(session: Session, gen: PlanGeneration, *, job_id: str) -> dict:
    """Second step of a feedback job: the rated week is completed and next week's plan built
    through the network, adjusted the way the feedback asked."""
    feedback = feedback_of_job(session, job_id)
    rated = session.get(Plan, feedback.plan_id)
    rated.status = "completed"
    result = build(session, gen, job_id=job_id, user_id=feedback.user_id, week=rated.week + 1)
    feedback.next_plan_id = result["plan_id"]
    return {**result, "previous_plan_id": rated.id, "rating": feedback.rating}


def feedback_examples(session: Session) -> list[dict]:
    """Every stored answer as (profile at the time, exercise, rating) training examples."""
    examples = []
    for feedback, plan in repo.rated_plans(session):
        planned = {item["exercise_id"] for day in plan.days for item in day["exercises"]}
        # Named exercises carry the rating; with none named, the whole week does.
        for exercise_id in feedback.exercise_ids or sorted(planned):
            examples.append({**plan.profile_snapshot, "fitness_level": plan.fitness_level,
                             "exercise_id": exercise_id, "rating": feedback.rating})
    return examples


# -- reading and following plans ------------------------------------------------------------

def current_plan(session: Session, user_id: str) -> Plan:
    plan = repo.active_plan(session, user_id)
    if plan is None:
        raise DomainError("no plan yet; POST /api/v1/plans", code="no_plan", http_status=404)
    return plan


def complete_day(plan: Plan, day: int, now: dt.datetime) -> bool:
    """Mark one training day done; False when it already was."""
    days = [dict(d) for d in plan.days]
    matching = [d for d in days if d["day"] == day]
    if not matching:
        raise DomainError(f"the plan has no day {day}", code="not_found", http_status=404)
    if matching[0]["completed"]:
        return False
    matching[0]["completed"] = True
    matching[0]["completed_at"] = now.isoformat()
    plan.days = days  # reassign: JSON columns change only on assignment
    return True


def lighten_todays_session(session: Session, user_id: str, day: dt.date, score: float,
                           today: dt.date | None = None) -> dict | None:
    """A low score today makes the next training day of the current plan lighter."""
    if day != (today or utc_today()):
        return None
    plan = repo.active_plan(session, user_id)
    if plan is None:
        return None
    days = [dict(d) for d in plan.days]
    upcoming = next((i for i, d in enumerate(days) if not d["completed"]), None)
    if upcoming is None:
        return None
    lighter = lighten_day(days[upcoming], score)
    if lighter is None:
        return None
    days[upcoming] = lighter
    plan.days = days  # JSON columns change only on assignment
    return {"plan_id": plan.id, "day": lighter["day"], "weekday": lighter["weekday"]}


@dataclass(frozen=True)
class RecordedReadiness:
    """A stored readiness entry and the plan day it made lighter (None if none); reads through
    to the entry's attributes, so it serializes like one."""

    entry: ReadinessEntry
    session_adjusted: dict | None

    def __getattr__(self, name: str):
        return getattr(self.entry, name)


def record_readiness(session: Session, user_id: str, readings: dict,
                     day: dt.date | None = None) -> RecordedReadiness:
    """Score the day's readings against the user's own baseline, replacing that day's entry."""
    day = day or utc_today()
    baseline = [{"sleep_hours": e.sleep_hours, "resting_hr": e.resting_hr, "hrv_ms": e.hrv_ms}
                for e in repo.readiness_before(session, user_id, day, BASELINE_DAYS)]
    result = compute_readiness(readings["sleep_hours"], readings["resting_hr"],
                               readings["hrv_ms"], baseline).to_dict()
    entry = repo.readiness_of_day(session, user_id, day)
    if entry is None:
        entry = ReadinessEntry(user_id=user_id, date=day)
        session.add(entry)
    entry.sleep_hours, entry.resting_hr, entry.hrv_ms = (
        readings["sleep_hours"], readings["resting_hr"], readings["hrv_ms"])
    entry.score, entry.band = result["score"], result["band"]
    entry.details = {k: v for k, v in result.items() if k not in ("score", "band")}
    return RecordedReadiness(entry, lighten_todays_session(session, user_id, day, entry.score))
