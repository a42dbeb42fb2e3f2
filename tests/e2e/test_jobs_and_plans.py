"""Jobs and the plan feedback loop through real workers, over HTTP."""

from __future__ import annotations

import uuid

from tests.support.stack import Client

ACL_BEGINNER = {"sex": "female", "age": 24, "height_cm": 168, "weight_kg": 62,
                "fitness_level": "beginner", "injury": "acl", "equipment": [],
                "workouts_per_week": 3}


def make_plan(client: Client, profile: dict = ACL_BEGINNER) -> dict:
    assert client.put("/api/v1/profile", json=profile).status_code == 200
    response = client.post("/api/v1/plans")
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/api/v1/jobs/{response.json()['job_id']}"
    job = client.wait_job(response.json()["job_id"])
    assert job["status"] == "succeeded", job
    plan = client.get(f"/api/v1/plans/{job['result']['plan_id']}")
    assert plan.status_code == 200
    return plan.json()


def test_profile_validation(patient: Client):
    bad = dict(ACL_BEGINNER, age=130, height_cm=20, weight_kg=5, workouts_per_week=9,
               injury="elbow", equipment=["rocket"])
    response = patient.put("/api/v1/profile", json=bad)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {"age", "height_cm", "weight_kg", "workouts_per_week", "injury", "equipment"} <= set(
        errors)
    assert patient.put("/api/v1/profile", json=dict(ACL_BEGINNER, age=0)).status_code == 422
    assert patient.get("/api/v1/profile").status_code == 404  # nothing was written

    ok = patient.put("/api/v1/profile", json=ACL_BEGINNER)
    assert ok.status_code == 200
    assert ok.json()["bmi"] == round(62 / 1.68 ** 2, 1)


def test_plan_without_profile_is_409(patient: Client):
    response = patient.post("/api/v1/plans")
    assert response.status_code == 409 and response.json()["code"] == "profile_required"


def test_job_runs_to_succeeded_and_plan_is_readable(patient: Client):
    plan = make_plan(patient)
    assert plan["week"] == 1 and plan["status"] == "active"
    assert len(plan["days"]) == 3
    for day in plan["days"]:
        assert 4 <= len(day["exercises"]) <= 8
        for item in day["exercises"]:
            assert item["score"] >= 0.5 and item["reasons"]
    current = patient.get("/api/v1/plans/current").json()
    assert current["id"] == plan["id"]


def test_idempotency_key_returns_first_answer(patient: Client):
    patient.put("/api/v1/profile", json=ACL_BEGINNER)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = patient.post("/api/v1/plans", headers=key)
    second = patient.post("/api/v1/plans", headers=key)
    assert first.status_code == second.status_code == 202
    assert first.json()["job_id"] == second.json()["job_id"]
    patient.wait_job(first.json()["job_id"])
    jobs = patient.get("/api/v1/jobs", params={"kind": "plan.generate"}).json()
    assert len(jobs) == 1


def test_users_cannot_see_each_others_objects(anon: Client):
    alice, bob = anon.register(), anon.register()
    plan = make_plan(alice)
    job_id = alice.get("/api/v1/jobs").json()[0]["id"]
    for path in (f"/api/v1/jobs/{job_id}", f"/api/v1/plans/{plan['id']}"):
        response = bob.get(path)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert bob.post(f"/api/v1/plans/{plan['id']}/feedback",
                    json={"rating": "easy"}).status_code == 404
    assert bob.get("/api/v1/plans", params={"user_id": alice.get("/api/v1/me").json()["id"]}
                   ).status_code == 404


def test_refused_feedback_enqueues_nothing(patient: Client):
    plan = make_plan(patient)
    response = patient.post(f"/api/v1/plans/{plan['id']}/feedback",
                            json={"rating": "easy", "exercise_ids": ["no-such-exercise"]})
    assert response.status_code == 422  # refused before anything is enqueued
    assert patient.get(f"/api/v1/plans/{plan['id']}").json()["feedback"] is None
    assert patient.get("/api/v1/jobs", params={"kind": "feedback.process"}).json() == []


def test_failing_task_ends_failed_with_code(stack, patient: Client):
    """A job whose analysis vanished before a worker took it: the real worker fails it with a
    code, and keeps serving other jobs."""
    user_id = patient.get("/api/v1/me").json()["id"]
    job_id = stack.insert_job(user_id, "video.analyze", {"analysis_id": "gone"})
    stack.send_task("video.start", job_id, queue="video")
    job = patient.wait_job(job_id)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "analysis_missing" and job["error"]["message"]
    assert make_plan(patient)["week"] >= 1  # the workers still serve other jobs


def test_feedback_loop_changes_next_week(patient: Client):
    plan = make_plan(patient)
    for day in plan["days"]:
        done = patient.post(f"/api/v1/plans/{plan['id']}/days/{day['day']}/complete")
        assert done.status_code == 200
    assert all(d["completed"] for d in patient.get(f"/api/v1/plans/{plan['id']}").json()["days"])

    response = patient.post(f"/api/v1/plans/{plan['id']}/feedback", json={"rating": "easy"})
    assert response.status_code == 202
    job = patient.wait_job(response.json()["job_id"])
    assert job["status"] == "succeeded", job
    week2 = patient.get(f"/api/v1/plans/{job['result']['plan_id']}").json()
    assert week2["week"] == 2 and week2["rep_factor"] > plan["rep_factor"]

    again = patient.post(f"/api/v1/plans/{plan['id']}/feedback", json={"rating": "easy"})
    assert again.status_code == 409 and again.json()["code"] == "feedback_exists"
    assert len(patient.get("/api/v1/plans").json()) == 2  # never a second plan

    hardest = max((item for d in week2["days"] for item in d["exercises"]),
                  key=lambda item: item.get("difficulty", 0))
    response = patient.post(f"/api/v1/plans/{week2['id']}/feedback",
                            json={"rating": "discomfort", "exercise_ids": [hardest["exercise_id"]]})
    job = patient.wait_job(response.json()["job_id"])
    assert job["status"] == "succeeded", job
    week3 = patient.get("/api/v1/plans/current").json()
    assert week3["week"] == 3
    planned = {item["exercise_id"] for d in week3["days"] for item in d["exercises"]}
    assert hardest["exercise_id"] not in planned


def test_readiness(patient: Client):
    plan = make_plan(patient)
    before = plan["days"][0]
    response = patient.post("/api/v1/readiness",
                            json={"sleep_hours": 4.0, "resting_hr": 80, "hrv_ms": 25})
    assert response.status_code == 201
    low = response.json()
    assert 0 <= low["score"] <= 100 and low["band"] == "low"
    # Today's session of the current plan is lighter.
    assert low["session_adjusted"] == {"plan_id": plan["id"], "day": 1,
                                       "weekday": before["weekday"]}
    after = patient.get("/api/v1/plans/current").json()["days"][0]
    assert after["lighter"] is True
    assert sum(e["sets"] for e in after["exercises"]) < sum(e["sets"] for e in before["exercises"])
    assert all(e["category"] != "plyometrics" for e in after["exercises"])
    bad = patient.post("/api/v1/readiness", json={"sleep_hours": 30, "resting_hr": 5,
                                                  "hrv_ms": -1})
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"sleep_hours", "resting_hr",
                                                                    "hrv_ms"}


def test_exercise_library_filters(patient: Client):
    everything = patient.get("/api/v1/exercises").json()
    assert len(everything) >= 80
    achilles_none = patient.get("/api/v1/exercises", params={"injury": "achilles",
                                                             "equipment": "none",
                                                             "level": "beginner"}).json()
    assert achilles_none and all(not e["equipment"] and e["difficulty"] <= 2
                                 and "achilles" not in e["contraindicated_for"]
                                 for e in achilles_none)
    one = patient.get(f"/api/v1/exercises/{everything[0]['id']}").json()
    assert one["description"] and one["muscle_groups"]
    assert patient.get("/api/v1/exercises", params={"category": "nope"}).status_code == 422


def test_train_plans_with_feedback_makes_a_new_version(stack, patient: Client, tmp_path):
    import json
    import subprocess

    from tests.support.stack import BIN, ROOT

    plan = make_plan(patient)
    job = patient.wait_job(patient.post(f"/api/v1/plans/{plan['id']}/feedback",
                                        json={"rating": "too_difficult"}).json()["job_id"])
    assert job["status"] == "succeeded"
    env = dict(stack.env, ARTIFACTS_DIR=str(tmp_path))
    run = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "ml", "train-plans",
                          "--with-feedback", "--samples", "3000", "--epochs", "2",
                          "--cv-folds", "2"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    metrics = json.loads((tmp_path / "plans" / "plans-v1" / "metrics.json").read_text())
    assert metrics["n_feedback_examples"] > 0
    assert (tmp_path / "plans" / "plans-v1" / "model.keras").exists()


def test_two_weeks_too_difficult_lowers_the_level(patient: Client):
    plan = make_plan(patient, dict(ACL_BEGINNER, fitness_level="intermediate"))
    levels = [plan["fitness_level"]]
    for _ in range(2):
        job = patient.wait_job(patient.post(f"/api/v1/plans/{plan['id']}/feedback",
                                            json={"rating": "too_difficult"}).json()["job_id"])
        assert job["status"] == "succeeded", job
        plan = patient.get(f"/api/v1/plans/{job['result']['plan_id']}").json()
        levels.append(plan["fitness_level"])
    assert levels == ["intermediate", "intermediate", "beginner"]
    assert patient.get("/api/v1/profile").json()["fitness_level"] == "beginner"


def test_worker_logs_are_json_and_carry_the_job_id(stack, patient: Client):
    import json

    make_plan(patient)
    job_id = patient.get("/api/v1/jobs").json()[0]["id"]
    lines = [line for line in stack.logs("worker0").splitlines() if job_id in line]
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(e.get("job_id") == job_id and e["msg"] == "task finished" for e in entries)
