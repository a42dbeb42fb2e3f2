"""Synthetic rehabilitation movements with known truth, for what no real data here shows.

A 3-D stick figure (the body proportions of :mod:`domain.video.synthetic`) performs one of a few
movement templates driven by a phase track (0 = rest, 1 = the movement extreme; the same
:func:`~domain.video.synthetic.phase_track` timing), is turned to a camera view and rendered with
the YOLO-like detector model of :func:`domain.video.datasets.utd_mhad.yolo_like` (confidence by
visibility, correlated jitter, outliers, lost frames). Truth comes from the 3-D points: the
repetition count, and per frame the specification's quantity measured in 3-D (so a range of
motion can be compared with what the 2-D projection gives).

Templates: ``knee_bend`` (squat-like, both legs), ``heel_raise`` (the whole body rises; the true
plantar flexion follows from the forefoot lever), ``bridge`` (supine hip lift),
``seated_knee_ext``, ``hamstring_curl``, ``side_lying_abduction``, and holds ``wall_sit``,
``plank``, ``single_leg_stance``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..datasets.utd_mhad import _rot_x, _rot_y, yolo_like
from ..synthetic import Body, _assemble, _ik, phase_track

Y = np.array([0.0, 1.0, 0.0])
Z = np.array([0.0, 0.0, 1.0])
X = np.array([1.0, 0.0, 0.0])


def _dir(phi_deg: float) -> np.ndarray:
    """Sagittal direction at ``phi`` degrees forward of straight down."""
    a = np.radians(phi_deg)
    return np.array([0.0, -np.cos(a), np.sin(a)])


def _arms_down(body: Body, ms, left, u, f):
    arms = {}
    for s in (1, -1):
        sh = ms + s * body.shoulder_half * left
        el = sh - body.upper_arm * u + 0.03 * f
        arms[s] = (el, el - body.forearm * u + 0.08 * f)
    return arms


def _standing(body: Body, leg_phis: dict, lean_deg: float = 2.0) -> np.ndarray:
    """Upright figure, legs by (thigh, shin) sagittal angles per side; ankles of the lower leg
    on the floor."""
    mid_hip = np.zeros(3)
    u = np.array([0.0, np.cos(np.radians(lean_deg)), np.sin(np.radians(lean_deg))])
    left = X.copy()
    legs = {}
    for s in (1, -1):
        th, sh = leg_phis[s]
        hip = mid_hip + s * body.hip_half * left
        knee = hip + body.thigh * _dir(th)
        legs[s] = (knee, knee + body.shin * _dir(sh))
    ms = mid_hip + body.torso * u
    P = _assemble(body, mid_hip, u, Z, _arms_down(body, ms, left, u, Z), legs, lat=left)
    return P - np.array([0.0, min(P[15, 1], P[16, 1]), 0.0])


def pose(template: str, p: float, body: Body, amount: float, side: int = 1) -> np.ndarray:
    """(17, 3) world pose (x left of the subject, y up, z the way they face)."""
    if template in ("knee_bend", "wall_sit"):
        k = p * amount
        s = 0.35 * k
        P = _standing(body, {1: (k - s, -s), -1: (k - s, -s)}, lean_deg=2 + 0.45 * (k - s))
        return P
    if template == "heel_raise":
        P = _standing(body, {1: (0.0, 0.0), -1: (0.0, 0.0)})
        return P + np.array([0.0, p * amount, 0.0])
    if template == "hamstring_curl":
        phis = {1: (0.0, 0.0), -1: (0.0, 0.0)}
        phis[side] = (5.0, 5.0 - p * amount)
        return _standing(body, phis)
    if template == "single_leg_stance":
        phis = {1: (0.0, 0.0), -1: (0.0, 0.0)}
        phis[side] = (p * 15.0, p * (15.0 - amount))
        return _standing(body, phis)
    if template == "seated_knee_ext":
        mid_hip = np.array([0.0, 0.47, 0.0])
        left = X.copy()
        legs = {}
        for s in (1, -1):
            hip = mid_hip + s * body.hip_half * left
            knee = hip + body.thigh * _dir(90.0)
            flex = 90.0 - (p * amount if s == side else 0.0)
            legs[s] = (knee, knee + body.shin * _dir(90.0 - flex))
        ms = mid_hip + body.torso * Y
        return _assemble(body, mid_hip, Y, Z, _arms_down(body, ms, left, Y, Z), legs, lat=left)
    if template == "bridge":
        # supine along +z (head at z<0), knees bent, feet flat; hips lift by the phase
        left = X.copy()
        sh_mid = np.array([0.0, 0.06, -body.torso])
        foot_z = 0.75 * (body.thigh + body.shin) * 0.8
        hip_top = np.array([0.0, 0.06, 0.0])
        # at the top the shoulder-hip-knee line is straight: hip height from the knee height
        knee_h = body.shin * 0.95
        top_h = 0.06 + (knee_h - 0.06) * body.torso / (body.torso + body.thigh * 0.9)
        h = 0.09 + p * amount * (top_h - 0.09)
        mid_hip = hip_top + np.array([0.0, h - 0.06, 0.0])
        u = sh_mid - mid_hip
        legs = {}
        for s in (1, -1):
            hip = mid_hip + s * body.hip_half * left
            ankle = np.array([hip[0], 0.06, foot_z])
            legs[s] = (_ik(hip, ankle, body.thigh, body.shin, Y), ankle)
        f = Y.copy()  # facing the ceiling
        un = u / np.linalg.norm(u)
        ms = mid_hip + body.torso * un
        arms = {}
        for s in (1, -1):
            shp = ms + s * body.shoulder_half * left
            el = shp - body.upper_arm * un
            arms[s] = (el, el - body.forearm * un)
        return _assemble(body, mid_hip, un, f, arms, legs, lat=left)
    if template == "side_lying_abduction":
        phis = {1: (0.0, 0.0), -1: (0.0, 0.0)}
        P = _standing(body, phis) - np.array([0.0, 0.0, 0.0])
        # the top (right, -x) leg abducts about the hip's forward axis
        a = np.radians(p * amount)
        hip = P[12]
        rot = np.array([[np.cos(a), np.sin(a), 0.0], [-np.sin(a), np.cos(a), 0.0],
                        [0.0, 0.0, 1.0]])
        for j in (14, 16):
            P[j] = hip + (P[j] - hip) @ rot.T
        # lie on the left side: turn the figure about z so its up axis points to image side
        turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        return P @ turn.T
    if template == "plank":
        # face down along +z; p = 1 plank on forearms and toes, p = 0 kneeling on all fours
        left = X.copy()
        L = body.thigh + body.shin
        ankle_mid = np.array([0.0, 0.05, 0.0])
        knee_mid = ankle_mid + body.shin * np.array([0.0, 0.0 + 0.12 * p, 1.0]) / np.hypot(
            1.0, 0.12 * p)
        knee_mid[1] = 0.05 + p * body.shin * 0.12
        sh = np.array([0.0, 0.30, L + body.torso])
        hip_line = knee_mid + (sh - knee_mid) * (body.thigh / (body.thigh + body.torso))
        hip_kneel = knee_mid + np.array([0.0, body.thigh, 0.0])
        mid_hip = hip_kneel + p * (hip_line - hip_kneel) + np.array([0.0, -amount * p, 0.0])
        u = sh - mid_hip
        un = u / np.linalg.norm(u)
        f = -Y
        ms = mid_hip + body.torso * un
        legs, arms = {}, {}
        for s in (1, -1):
            hip = mid_hip + s * body.hip_half * left
            ank = np.array([hip[0], 0.05, 0.0])
            legs[s] = (_ik(hip, ank, body.thigh, body.shin, -Y), ank)
            shp = ms + s * body.shoulder_half * left
            el = np.array([shp[0], 0.03, shp[2]])
            arms[s] = (el, el + np.array([0.0, 0.0, body.forearm]))
        return _assemble(body, mid_hip, un, f, arms, legs, lat=left)
    if template in ("straight_leg_raise", "heel_slide"):
        # supine along +z (head at z<0), facing the ceiling; the working leg moves
        left = X.copy()
        mid_hip = np.array([0.0, 0.10, 0.0])
        un = np.array([0.0, 0.0, -1.0])
        ms = mid_hip + body.torso * un
        legs = {}
        for s in (1, -1):
            hip = mid_hip + s * body.hip_half * left
            straight = hip + np.array([0.0, -0.04, body.thigh + body.shin])
            if s != side:
                legs[s] = (hip + (straight - hip) * body.thigh / (body.thigh + body.shin),
                           straight)
                continue
            if template == "straight_leg_raise":  # hip flexion with a straight knee
                a = np.radians(p * amount)
                d = np.array([0.0, np.sin(a), np.cos(a)])
                legs[s] = (hip + body.thigh * d, hip + (body.thigh + body.shin) * d)
            else:  # heel slides toward the buttock on the floor: knee flexion by IK
                k = np.radians(p * amount)
                reach = np.sqrt(body.thigh**2 + body.shin**2
                                - 2 * body.thigh * body.shin * np.cos(np.pi - k))
                ankle = np.array([hip[0], 0.06, np.sqrt(max(reach**2 - 0.04**2, 1e-4))])
                legs[s] = (_ik(hip, ankle, body.thigh, body.shin, Y), ankle)
        arms = {}
        for s in (1, -1):
            shp = ms + s * body.shoulder_half * left
            el = shp - body.upper_arm * un
            arms[s] = (el, el - body.forearm * un)
        return _assemble(body, mid_hip, un, Y, arms, legs, lat=left)
    if template == "clamshell":
        # side-lying, hips 45 and knees 90 degrees bent, feet together; the top knee opens by
        # turning the top leg about the hip-ankle axis
        phis = {1: (45.0, -45.0), -1: (45.0, -45.0)}
        P = _standing(body, phis)
        hip, ankle = P[12], P[16]
        axis = (ankle - hip) / np.linalg.norm(ankle - hip)
        a = -np.radians(p * amount * 1.6)  # the knee travels on a circle about that axis
        v = P[14] - hip
        v = (v * np.cos(a) + np.cross(axis, v) * np.sin(a)
             + axis * np.dot(axis, v) * (1 - np.cos(a)))
        P[14] = hip + v
        turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        return P @ turn.T
    if template == "step_up":
        # lead foot on a step ``amount`` metres high; the body rises onto it
        step = amount
        leg = body.thigh + body.shin
        left = X.copy()
        lead_ankle = np.array([side * body.hip_half, step, 0.28])
        hip_lo = np.array([0.0, 0.93 * leg, 0.0])
        hip_hi = np.array([0.0, step + 0.985 * leg, 0.26])
        mid_hip = hip_lo + p * (hip_hi - hip_lo)
        legs = {}
        for s in (1, -1):
            hip = mid_hip + s * body.hip_half * left
            if s == side:
                ankle = lead_ankle
            else:
                lift = np.clip((p - 0.5) * 2, 0, 1)
                ankle = np.array([hip[0], lift * step + 0.08 * np.sin(np.pi * lift),
                                  0.28 * lift - 0.05 * (1 - lift)])
            legs[s] = (_ik(hip, ankle, body.thigh, body.shin, Z), ankle)
        u = np.array([0.0, np.cos(np.radians(8 * (1 - p))), np.sin(np.radians(8 * (1 - p)))])
        ms = mid_hip + body.torso * u
        P = _assemble(body, mid_hip, u, Z, _arms_down(body, ms, left, u, Z), legs, lat=left)
        return P
    raise ValueError(f"unknown template {template!r}")


@dataclass
class SynthMovement:
    keypoints: np.ndarray  # (T, 17, 3) pixels (NaN + conf 0 where masked)
    points3d: np.ndarray  # (T, 17, 3) world, metres
    fps: float
    rep_count: int
    phases: np.ndarray
    meta: dict


def hold_track(fps: float, hold_s: float, rng, ramp_s: float = 1.0) -> np.ndarray:
    lead = rng.uniform(0.8, 1.5)
    up = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, int(ramp_s * fps)))
    return np.concatenate([np.zeros(int(lead * fps)), up, np.ones(int(round(hold_s * fps))),
                           up[::-1], np.zeros(int(rng.uniform(0.5, 1.2) * fps))])


def render(P3: np.ndarray, yaw_deg: float, elevation_deg: float, rng, noise: bool = True
           ) -> np.ndarray:
    """World (x left, y up, z facing) -> camera points -> YOLO-like pixels."""
    w = P3.copy()
    w[..., 2] = -w[..., 2]  # facing the camera at yaw 0 (camera z points away from it)
    c = np.nanmean(w.reshape(-1, 3), axis=0)
    p = (w - c) @ _rot_y(yaw_deg).T
    p = p @ _rot_x(-elevation_deg).T
    p[..., 2] += rng.uniform(2.5, 4.0)
    if noise:
        return yolo_like(p, rng)
    from ..datasets.utd_mhad import pinhole

    uv = pinhole(p)
    return np.concatenate([uv, np.ones(uv.shape[:2] + (1,))], axis=-1).astype(np.float32)


def generate(template: str, amount: float, *, n_reps: int = 3, hold_s: float | None = None,
             fps: float = 10.0, yaw: float = 90.0, elevation: float = 10.0, seed: int = 0,
             side: int = 1, noise: bool = True, invert: bool = False) -> SynthMovement:
    """``n_reps`` repetitions (or, with ``hold_s``, one hold) of ``template`` at ``amount``
    (degrees, or metres for a heel raise), seen from ``yaw`` (90 = the subject's left side).
    ``invert``: the rest pose is the template's extreme and the movement goes to its start
    (a terminal knee extension is a hamstring curl's pose track run backwards)."""
    rng = np.random.default_rng(seed)
    body = Body.random(rng)
    if hold_s is not None:
        ph = hold_track(fps, hold_s, rng)
        reps = 0
    else:
        ph, _ = phase_track(n_reps, fps, rng.uniform(1.8, 3.0), rng, rng.uniform(0.3, 0.8),
                            rng.uniform(0.3, 0.8), rng.uniform(0.2, 0.8))
        reps = n_reps
    track = 1.0 - ph if invert else ph
    P3 = np.stack([pose(template, float(p), body, amount, side) for p in track])
    kp = render(P3, yaw, elevation, rng, noise)
    return SynthMovement(kp, P3, fps, reps, ph, {"template": template, "amount": amount,
                                                 "yaw": yaw, "body": body})


# ------------------------------------------------------------------ truth in 3-D

_J = {"shoulder": (5, 6), "elbow": (7, 8), "wrist": (9, 10), "hip": (11, 12), "knee": (13, 14),
      "ankle": (15, 16)}
_FLEX = {"knee": ("hip", "knee", "ankle"), "hip": ("shoulder", "hip", "knee"),
         "elbow": ("shoulder", "elbow", "wrist")}


def _ang3(a, b, c):
    ba, bc = a - b, c - b
    cos = np.sum(ba * bc, -1) / (np.linalg.norm(ba, axis=-1) * np.linalg.norm(bc, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def true_signal(P3: np.ndarray, signal: dict) -> np.ndarray | None:
    """The specification's joint-angle quantity measured on the 3-D points (None for
    quantities without a 3-D truth here)."""
    m, side = signal["measure"], signal.get("side")
    if m == "flexion" and signal["joint"] == "hip":
        # anatomical hip flexion: the thigh against the trunk's axis (mid-hip to mid-shoulder),
        # not against the same side's shoulder, which sits further out than the hip
        trunk = P3[:, [5, 6]].mean(axis=1) - P3[:, [11, 12]].mean(axis=1)
        per = [180.0 - _ang3(P3[:, _J["hip"][s]] + trunk, P3[:, _J["hip"][s]],
                             P3[:, _J["knee"][s]]) for s in (0, 1)]
    elif m == "flexion":
        a, b, c = _FLEX[signal["joint"]]
        per = [180.0 - _ang3(P3[:, _J[a][s]], P3[:, _J[b][s]], P3[:, _J[c][s]]) for s in (0, 1)]
    elif m == "separation" and signal["parts"] == "thighs":
        vl, vr = P3[:, 13] - P3[:, 11], P3[:, 14] - P3[:, 12]
        return _ang3(vl, np.zeros_like(vl), vr)
    else:
        return None
    L, R = per
    if side == "left":
        return L
    if side == "right":
        return R
    if side == "max":
        return np.maximum(L, R)
    if side == "min":
        return np.minimum(L, R)
    if side == "moving":
        return L if np.ptp(L) >= np.ptp(R) else R
    return 0.5 * (L + R)
