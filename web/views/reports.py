"""Exports: per-repetition CSV of an analysis result, printable HTML report of a plan's week.

Read-only. Whoever may read the analysis (or plan) may export it: its owner, and the owner's
clinicians; anyone else gets 404, as for the reads themselves.
"""

from __future__ import annotations

from flask import Response, render_template
from flask_smorest import Blueprint

from domain import reports
from models import Analysis, Plan
from web.auth import load_owned, login_required
from web.db import db_session
from web.errors import ApiError, ErrorSchema

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Exports and reports")

#: the report is self-contained: no script, nothing fetched, styles inline
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; " \
             "form-action 'none'; frame-ancestors 'none'"


def _reps_csv(analysis_id: str) -> Response:
    analysis = load_owned(Analysis, analysis_id, "analysis")
    if analysis.result is None:
        raise ApiError(409, "result_not_ready",
                       f"the analysis is {analysis.status}; export it once it succeeded")
    body = reports.reps_csv(analysis.id, analysis.result)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="reps-{analysis.id}.csv"'})


def _content(content_type: str, description: str) -> dict:
    """A 200 answer that is a document (not JSON), for the OpenAPI document."""
    return {"responses": {"200": {"description": description, "content": {
        content_type: {"schema": {"type": "string"}}}}}}


_CSV_DOC = _content("text/csv", "One row per repetition: timing, range of motion, each "
                    "compared joint's angle / reference / difference (degrees), issues.")
_HTML_DOC = _content("text/html", "A printable page: the week's days, exercises and completion, "
                     "the patient's feedback and the analyses made that week.")


@blp.route("/videos/<analysis_id>/reps.csv")
@login_required()
@blp.doc(**_CSV_DOC)
@blp.alt_response(404, schema=ErrorSchema, description="no such analysis")
@blp.alt_response(409, schema=ErrorSchema, description="the result is not ready")
def video_reps_csv(analysis_id: str):
    """Per-repetition angles and findings of a video's result, as CSV."""
    return _reps_csv(analysis_id)


@blp.route("/analyses/<analysis_id>/reps.csv")
@login_required()
@blp.doc(**_CSV_DOC)
@blp.alt_response(404, schema=ErrorSchema, description="no such analysis")
@blp.alt_response(409, schema=ErrorSchema, description="the result is not ready")
def analysis_reps_csv(analysis_id: str):
    """Per-repetition angles and findings of a keypoint (or video) analysis, as CSV."""
    return _reps_csv(analysis_id)


@blp.route("/plans/<plan_id>/report.html")
@login_required()
@blp.doc(**_HTML_DOC)
@blp.alt_response(404, schema=ErrorSchema, description="no such plan")
def plan_week_report(plan_id: str):
    """Printable report of a plan's week, for the patient and their clinicians."""
    plan = load_owned(Plan, plan_id, "plan")
    report = reports.week_report(db_session(), plan)
    html = render_template("reports/plan_week.html", r=report)
    return Response(html, mimetype="text/html", headers={
        "Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store"})
