"""Exports: the rules of what a per-repetition CSV and a weekly report hold. No Flask here.

- Repetitions CSV: one row per repetition of an analysis result, spreadsheet-friendly (wide):
  timing, range of motion, for every compared joint its angle, the reference's and the
  difference (degrees, at the bottom of the repetition), then the repetition's issues (form
  findings and angle deviations). Text cells that a spreadsheet would run as a formula are
  neutralized (OWASP "CSV injection").
- Weekly report: a plan's days and exercises, how many days were completed, the patient's
  feedback, and the analyses made during that week (from the plan's creation, seven days).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Analysis, Plan, PlanFeedback, User

#: a plan's week: the analyses in this window after its creation belong to its report
WEEK = dt.timedelta(days=7)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BASE_COLUMNS = ("analysis_id", "exercise", "rep_index", "start_s", "bottom_s", "end_s",
                "rom_joint", "rom_deg")
ISSUE_COLUMNS = ("form_verdict", "issue_count", "criteria", "issues")


def _cell(value) -> object:
    """A value as a CSV cell: None empty, text that could run as a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def angle_joints(reps: Iterable[dict]) -> list[str]:
    """Every joint compared in any repetition, in a stable (sorted) order."""
    return sorted({joint for rep in reps for joint in (rep.get("angles") or {})})


def rep_columns(joints: list[str]) -> list[str]:
    angle_cols = [f"{joint}_{part}_deg" for joint in joints
                  for part in ("user", "reference", "diff")]
    return [*BASE_COLUMNS, *angle_cols, *ISSUE_COLUMNS]


def _issue_text(issue: dict) -> str:
    return str(issue.get("message") or issue.get("criterion") or issue.get("joint") or "")


def rep_rows(analysis_id: str, result: dict) -> tuple[list[str], list[list]]:
    """(header, rows) of an analysis result's repetitions."""
    reps = list(result.get("reps") or [])
    joints = angle_joints(reps)
    label = (result.get("exercise") or {}).get("label")
    verdict = (result.get("form") or {}).get("verdict")
    rows = []
    for rep in reps:
        angles = rep.get("angles") or {}
        issues = rep.get("issues") or []
        row = [analysis_id, label, rep.get("index"), rep.get("start_s"), rep.get("bottom_s"),
               rep.get("end_s"), rep.get("rom_joint"), rep.get("rom_deg")]
        for joint in joints:
            values = angles.get(joint) or {}
            row += [values.get("user"), values.get("reference"), values.get("diff")]
        criteria = sorted({i["criterion"] for i in issues if i.get("criterion")}
                          | {i["joint"] for i in issues if i.get("joint")})
        row += [verdict, len(issues), "; ".join(criteria),
                " | ".join(_issue_text(i) for i in issues)]
        rows.append(row)
    return rep_columns(joints), rows


def to_csv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def reps_csv(analysis_id: str, result: dict) -> str:
    return to_csv(*rep_rows(analysis_id, result))


# ---- the weekly report ------------------------------------------------------------------------


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def week_window(plan_created_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = _aware(plan_created_at)
    return start, start + WEEK


@dataclass(frozen=True)
class AnalysisLine:
    id: str
    created_at: dt.datetime
    source: str
    status: str
    exercise: str | None
    rep_count: int | None
    verdict: str | None
    score: float | None
    feedback: list[str]


@dataclass(frozen=True)
class WeekReport:
    plan: Plan
    patient_email: str
    start: dt.datetime
    end: dt.datetime
    days: list[dict]
    days_completed: int
    feedback: PlanFeedback | None
    analyses: list[AnalysisLine] = field(default_factory=list)

    @property
    def completion_pct(self) -> int:
        return round(100 * self.days_completed / len(self.days)) if self.days else 0


def analysis_line(analysis: Analysis) -> AnalysisLine:
    result = analysis.result or {}
    form = result.get("form") or {}
    return AnalysisLine(
        id=analysis.id, created_at=_aware(analysis.created_at), source=analysis.source,
        status=analysis.status, exercise=(result.get("exercise") or {}).get("label"),
        rep_count=result.get("rep_count"), verdict=form.get("verdict"), score=form.get("score"),
        feedback=[str(s) for s in result.get("feedback") or []])


def week_report(session: Session, plan: Plan) -> WeekReport:
    """Everything the printable report of a plan's week shows (read-only)."""
    start, end = week_window(plan.created_at)
    analyses = session.scalars(select(Analysis).where(
        Analysis.user_id == plan.user_id, Analysis.created_at >= start, Analysis.created_at < end,
        Analysis.is_reference.is_(False)).order_by(Analysis.created_at)).all()
    feedback = session.scalar(select(PlanFeedback).where(PlanFeedback.plan_id == plan.id))
    owner = session.get(User, plan.user_id)
    days = list(plan.days or [])
    return WeekReport(
        plan=plan, patient_email=owner.email if owner else "", start=start, end=end, days=days,
        days_completed=sum(1 for d in days if d.get("completed")), feedback=feedback,
        analyses=[analysis_line(a) for a in analyses])
