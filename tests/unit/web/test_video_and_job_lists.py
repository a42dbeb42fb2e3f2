"""The video, job and reference lists through the real app on a migrated SQLite database:
paginated (X-Pagination), the video list's result histories in one query (no N+1), the jobs'
`?limit=` kept as the page size, and a bad exercise hint refused by the video service."""

from __future__ import annotations

import json

from sqlalchemy import Engine, event

from models import Analysis, AnalysisResult, Job, Reference


def _analyses(db, user_id: str, count: int) -> None:
    with db.session_scope() as session:
        for i in range(count):
            analysis = Analysis(user_id=user_id, source="keypoints", status="succeeded",
                                result={"rep_count": i})
            session.add(analysis)
            session.flush()
            session.add_all([AnalysisResult(analysis_id=analysis.id, models_key=f"k{j}",
                                            result={"rep_count": i, "exercise": {"label": "x"}},
                                            models={}) for j in range(2)])
            session.add(Job(user_id=user_id, kind="keypoints.analyze", status="succeeded",
                            params={"analysis_id": analysis.id}))


def test_video_list_pages_with_histories_in_one_query(client, db):
    _analyses(db, client.user_id, 5)
    statements: list[str] = []
    engine = Engine  # every engine (the app's sessions may use their own)

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get("/api/v1/videos?page_size=4")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert page.status_code == 200 and len(page.json) == 4
    assert all(len(a["history"]) == 2 for a in page.json)
    assert json.loads(page.headers["X-Pagination"])["total"] == 5
    assert sum("analysis_results" in s for s in statements) == 1  # not one per analysis
    assert len(client.get("/api/v1/videos?page=2&page_size=4").json) == 1


def test_job_list_pages_and_keeps_limit(client, db):
    _analyses(db, client.user_id, 3)
    assert len(client.get("/api/v1/jobs?limit=2").json) == 2
    page = client.get("/api/v1/jobs?page_size=2&page=2&kind=keypoints.analyze")
    assert len(page.json) == 1 and json.loads(page.headers["X-Pagination"])["total"] == 3
    assert client.get("/api/v1/jobs?bogus=1").status_code == 422


def test_references_list_and_a_bad_hint(client, db):
    with db.session_scope() as session:
        session.add(Reference(exercise="squat", name="a", source="s", fps=10.0,
                              keypoints=[[[0, 0, 0]] * 17] * 3))
    refs = client.get("/api/v1/references?exercise=squat").json
    assert [(r["exercise"], r["frames"], r["clinic_id"]) for r in refs] == [("squat", 3, None)]
    bad = client.post("/api/v1/analyses", json={
        "exercise": "juggling", "fps": 10, "width": 640, "height": 360, "layout": "coco17",
        "frames": [[[1.0, 1.0, 0.9]] * 17] * 4})
    assert bad.status_code == 422 and "exercise" in bad.json["errors"]
