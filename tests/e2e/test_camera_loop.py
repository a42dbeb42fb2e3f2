"""The loop prescription -> camera -> plan -> clinic through real workers, over HTTP.

A patient of a clinic gets an ACL plan; real squats (UTD-MHAD subjects 1 and 2, each subject's
four trials joined in 3-D and projected from the side with detector noise at 10 fps) are sent
as keypoints against the day-1 exercise of the squat family the plan prescribes (sit-to-stand
when the plan has it, else mini squats, which UTD-MHAD's squats stand in for); the repetitions
are counted against the prescription, the rest of the day is self-reported, the day is
completed and `plan.day.completed` reaches the clinic's receiver (verified with
`standardwebhooks`); the clinician sees the adherence; feedback builds next week's plan, whose
reasons quote the measurement. Then every bad input of the issue.
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest

from tests.e2e.test_jobs_and_plans import ACL_BEGINNER, make_plan
from tests.e2e.test_webhooks_clinics_ops import receiver, verify  # noqa: F401 - fixture
from tests.support.stack import BIN, ROOT, Client, wait_until

#: UTD-MHAD action standing in for a prescribed exercise of each movement family
UTD_ACTION = {"sit-to-stand": "sit_to_stand", "squat": "squat", "lunge": "lunge"}


@cache
def utd_keypoints(action: str, subject: int, yaw: float = 90.0) -> list:
    """A subject's trials of one action joined in 3-D and projected; a sit-to-stand is a
    stand-to-sit followed by a sit-to-stand (one full repetition)."""
    from domain.video.datasets import utd_mhad
    from domain.video.rep_eval import concat_utd

    trials = utd_mhad.load_trials()
    if action == "sit_to_stand":
        down = [t for t in trials if t.subject == subject and t.action == "stand_to_sit"]
        up = [t for t in trials if t.subject == subject and t.action == "sit_to_stand"]
        pick = [x for pair in zip(down, up, strict=False) for x in pair]
    else:
        pick = [t for t in trials if t.subject == subject and t.action == action]
    joined = utd_mhad.UtdTrial(action, subject, 0, concat_utd(pick))
    kp = utd_mhad.render(joined, yaw, 10.0, np.random.default_rng(subject), fps_out=10.0)
    return np.nan_to_num(kp, nan=0.0).round(2).tolist()


def body(frames: list, **fields) -> dict:
    return {"fps": 10.0, "width": 640, "height": 480, "layout": "coco17", "frames": frames,
            **fields}


def analyse(patient: Client, payload: dict) -> dict:
    response = patient.post("/api/v1/analyses", json=payload)
    assert response.status_code == 202, response.text
    job = patient.wait_job(response.json()["job_id"], timeout=180)
    assert job["status"] == "succeeded", job
    return patient.get(f"/api/v1/analyses/{response.json()['id']}").json()


def clinician_of_new_clinic(stack, anon: Client) -> tuple[Client, dict]:
    import subprocess
    import uuid

    email = f"clin-{uuid.uuid4().hex[:8]}@example.com"
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "users", "create", "--email", email,
                    "--password", "clinician-pass-1", "--role", "clinician"], cwd=ROOT,
                   env=stack.env, check=True, capture_output=True)
    clinician = anon.login(email, "clinician-pass-1")
    return clinician, clinician.post("/api/v1/clinics", json={"name": "Knee clinic"}).json()


def squat_family_item(plan: dict) -> tuple[dict, str]:
    """Day 1's camera-checkable exercise that UTD-MHAD has real people doing."""
    from domain.video.movement import load_camera_checks

    checks = load_camera_checks()
    items = plan["days"][0]["exercises"]
    by_id = {i["exercise_id"]: i for i in items}
    if "sit-to-stand" in by_id:
        return by_id["sit-to-stand"], "sit_to_stand"
    for item in items:
        family = (checks[item["exercise_id"]].form or {}).get("family")
        if item.get("reps") and family in UTD_ACTION:
            return item, UTD_ACTION[family]
    pytest.fail(f"day 1 has no exercise UTD-MHAD shows: {sorted(by_id)}")


def test_prescription_camera_plan_clinic(stack, anon: Client, receiver):  # noqa: F811
    clinician, clinic = clinician_of_new_clinic(stack, anon)
    hook = receiver()
    endpoint = clinician.post("/api/v1/webhooks", json={
        "url": hook.url, "events": ["plan.day.completed", "exercise.checked"],
        "scope": "clinic"}).json()
    patient = anon.register()
    assert patient.post("/api/v1/clinic/join",
                        json={"invite_code": clinic["invite_code"]}).status_code == 200
    patient_id = patient.get("/api/v1/me").json()["id"]
    plan = make_plan(patient, ACL_BEGINNER)
    item, action = squat_family_item(plan)
    target = item["sets"] * item["reps"]
    camera = patient.get(f"/api/v1/exercises/{item['exercise_id']}").json()["camera_check"]
    assert camera["supported"] and camera["view"] == "side"

    # Real movement against the prescription: counted, not yet the whole prescription.
    fields = {"plan_id": plan["id"], "day": 1, "exercise_id": item["exercise_id"]}
    first = analyse(patient, body(utd_keypoints(action, 1), **fields))
    result = first["result"]
    assert first["plan_id"] == plan["id"] and first["exercise_id"] == item["exercise_id"]
    assert result["prescribed"] == {"exercise_id": item["exercise_id"], "name": item["name"],
                                    "sets": item["sets"], "reps": item["reps"],
                                    "duration_s": item["duration_s"]}
    performed = result["performed"]
    assert performed["counted"] and performed["reps"] == 4 == result["rep_count"], result
    assert not performed["completed"] and f"4 of {target}" in performed["reasons"][0]
    assert performed["rom_deg"] and performed["rom_expected"]
    second = analyse(patient, body(utd_keypoints(action, 2), **fields))["result"]["performed"]
    assert second["counted"] and second["reps"] == 4

    day = patient.get(f"/api/v1/plans/{plan['id']}").json()["days"][0]
    checked = next(i for i in day["exercises"] if i["exercise_id"] == item["exercise_id"])
    assert checked["performed"]["reps"] == 8 and checked["performed"]["camera_checks"] == 2
    assert not checked["performed"]["completed"] and not day["completed"]

    # The rest of the day is self-reported (one with a pain rating below the threshold);
    # the remaining repetitions of the checked exercise too.
    for other in day["exercises"]:
        if other["exercise_id"] == item["exercise_id"]:
            continue
        answer = patient.post(f"/api/v1/plans/{plan['id']}/days/1/exercises/"
                              f"{other['exercise_id']}/performed", json={"pain": 2})
        assert answer.status_code == 201, answer.text
        assert not answer.json()["completed"]
    last = patient.post(f"/api/v1/plans/{plan['id']}/days/1/exercises/{item['exercise_id']}"
                        f"/performed", json={"sets": 1, "reps": target - 8})
    assert last.status_code == 201 and last.json()["completed"], last.text
    read = patient.get(f"/api/v1/plans/{plan['id']}").json()["days"][0]
    assert read["completed"] and all(i["performed"]["completed"] for i in read["exercises"])

    # The clinic's receiver gets the day, signed (Standard Webhooks).
    def day_delivery():
        for delivery in hook.received:
            payload = verify(endpoint["secret"], delivery)
            if payload["type"] == "plan.day.completed":
                return payload
        return None

    payload = wait_until(day_delivery, 60, message="plan.day.completed delivered")
    assert payload["data"]["plan_id"] == plan["id"] and payload["data"]["day"] == 1
    kinds = [json.loads(d["body"])["type"] for d in hook.received]
    assert kinds.count("exercise.checked") >= 2 + len(day["exercises"])

    # The clinician sees the adherence.
    (summary,) = clinician.get("/api/v1/clinic/patients").json()
    assert summary["id"] == patient_id
    assert summary["adherence"]["sessions"]["completed"] == 1
    assert summary["adherence"]["camera_checks"] == 2
    full = clinician.get(f"/api/v1/clinic/patients/{patient_id}/adherence").json()
    trend = full["rom_trend"][item["exercise_id"]]["points"]
    assert len(trend) == 2 and all(p["rom_deg"] > 0 for p in trend)
    assert full["last_pain"][0]["pain"] == 2
    assert full["repetitions"]["done"] >= target
    assert patient.get(f"/api/v1/clinic/patients/{patient_id}/adherence").status_code == 403

    # Next week follows what was measured: 4 of the prescribed repetitions per filmed set.
    feedback = patient.post(f"/api/v1/plans/{plan['id']}/feedback", json={"rating": "doable"})
    job = patient.wait_job(feedback.json()["job_id"], timeout=180)
    assert job["status"] == "succeeded", job
    nxt = patient.get(f"/api/v1/plans/{job['result']['plan_id']}").json()
    quoted = f"the camera counted 4 of {item['reps']} {item['name']} per set"
    again = [i for d in nxt["days"] for i in d["exercises"]
             if i["exercise_id"] == item["exercise_id"]]
    assert again, "the measured exercise continues next week"
    assert any(quoted in r for r in again[0]["reasons"]), again[0]["reasons"]
    assert again[0]["reps"] < item["reps"]
    assert any(quoted in n for n in nxt["notes"])


def test_bad_input_gets_a_clear_answer(stack, anon: Client, shared_data):
    patient = anon.register()
    plan = make_plan(patient, ACL_BEGINNER)
    item, action = squat_family_item(plan)
    fields = {"plan_id": plan["id"], "day": 1, "exercise_id": item["exercise_id"]}
    squats = utd_keypoints(action, 1)

    # Another patient's plan: as if absent.
    stranger = anon.register()
    assert stranger.post("/api/v1/analyses", json=body(squats, **fields)).status_code == 404
    # A day or exercise not in the plan, or the fields not all given.
    for bad, field in (({**fields, "day": 7}, "day"),
                       ({**fields, "exercise_id": "pistol-squat"}, "exercise_id"),
                       ({"plan_id": plan["id"], "day": 1}, "exercise_id")):
        response = patient.post("/api/v1/analyses", json=body(squats, **bad))
        assert response.status_code == 422, response.text
        assert field in response.json()["errors"], response.json()
    # An exercise without a camera check: self-report instead.
    from domain.video.movement import load_camera_checks

    checks = load_camera_checks()
    plain = next(((d["day"], i) for d in plan["days"] for i in d["exercises"]
                  if not checks[i["exercise_id"]].supported), None)
    if plain is not None:
        response = patient.post("/api/v1/analyses", json=body(squats, plan_id=plan["id"],
                                                              day=plain[0],
                                                              exercise_id=plain[1]["exercise_id"]))
        assert response.status_code == 422
        assert "cannot be checked by camera" in response.json()["errors"]["exercise_id"][0]
    # The same through the multipart video upload: refused before anything is stored.
    video = (shared_data / "pushfit_sample" / "correct1.mp4").read_bytes()
    response = patient.post("/api/v1/videos", files={"file": ("a.mp4", video, "video/mp4")},
                            data={"plan_id": plan["id"], "day": "9",
                                  "exercise_id": item["exercise_id"]})
    assert response.status_code == 422 and "day" in response.json()["errors"]

    # Nobody, too short, the wrong view, another exercise: a result saying what could not be
    # checked, never "completed".
    nobody = [[[0.0, 0.0, 0.0]] * 17] * 40
    result = analyse(patient, body(nobody, **fields))["result"]
    assert not result["performed"]["completed"] and not result["performed"]["counted"]
    assert "No person" in result["feedback"][0]
    result = analyse(patient, body(squats[:3], **fields))["result"]
    assert not result["performed"]["completed"]
    assert any("too short" in r for r in result["performed"]["reasons"])
    result = analyse(patient, body(utd_keypoints(action, 1, yaw=0.0), **fields))["result"]
    assert not result["performed"]["completed"]
    assert any("wrong side" in r for r in result["performed"]["reasons"]), result["performed"]
    frames = json.loads((shared_data / "pushfit_sample" / "correct3.json").read_text())
    pushups = {"fps": 25, "width": 640, "height": 360, "layout": "coco17",
               "frames": [[[k["x"], k["y"], k["score"]] for k in f["keypoints"]]
                          for f in frames], **fields}
    result = analyse(patient, pushups)["result"]
    assert not result["performed"]["completed"], result["performed"]
    if result["exercise"]["label"] == "pushup":
        assert "looks like pushup" in result["feedback"][0]
    # A real video (PushFit push-ups, 2.4 s) through the pose pipeline, against the squats.
    upload = patient.post("/api/v1/videos", files={"file": ("pushups.mp4", video, "video/mp4")},
                          data=fields)
    assert upload.status_code == 202, upload.text
    job = patient.wait_job(upload.json()["job_id"], timeout=240)
    assert job["status"] == "succeeded", job
    seen = patient.get(f"/api/v1/videos/{upload.json()['id']}").json()
    assert seen["exercise_id"] == item["exercise_id"]
    assert not seen["result"]["performed"]["completed"], seen["result"]["performed"]
    assert seen["result"]["performed"]["reasons"]
    day = patient.get(f"/api/v1/plans/{plan['id']}").json()["days"][0]
    checked = next(i for i in day["exercises"] if i["exercise_id"] == item["exercise_id"])
    assert checked["performed"]["reps"] == 0 and not day["completed"]
    assert checked["performed"]["camera_checks"] == 5
    # A self-report's pain must be 0-10; a day or exercise not in the plan is refused.
    url = f"/api/v1/plans/{plan['id']}/days/1/exercises/{item['exercise_id']}/performed"
    assert patient.post(url, json={"pain": 11}).status_code == 422
    assert patient.post(url.replace("/days/1/", "/days/9/"), json={}).status_code == 422
    assert stranger.post(url, json={}).status_code == 404
