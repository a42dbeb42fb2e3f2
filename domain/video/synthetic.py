"""Parameterized synthetic keypoint sequences and augmentation of real ones.

A 3-D stick figure (body proportions jittered per sample) performs an exercise: for each
frame a phase ``p`` in 0..1 (0 = rest/start position, 1 = the movement extreme, e.g. the
bottom of a squat) drives forward kinematics / two-link IK; the figure is rotated to a camera
view (front, left, right, 3/4, back), projected with a mild perspective and fitted into a
``width x height`` frame in **pixels**. Noise, joint dropout, limb occlusion and lower
confidence of far-side joints imitate a pose estimator. Each sample carries its label,
its exact repetition count and the frames of the movement extremes, which the tests use.

Deliberate form faults (``FAULTS``) change the kinematics, e.g. squat ``insufficient_depth``
or ``knees_caving``, pushup ``sagging_hips`` or ``partial_range``, curl ``elbow_drift``,
lunge ``knee_past_toes``.

All ten classes are generated; barbell_biceps_curl, triceps_pushdown, lat_pulldown and lunge
exist *only* as synthetic data (no real data for them is available).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .keypoints import FLIP_INDEX, as_sequence
from .vocabulary import (  # noqa: F401 - re-exported: the generator's classes and their names
    EXERCISES,
    LABEL_ALIASES,
    REAL_ONLY_EXERCISES,
    VOCABULARY,
    canonical_label,
)

FAULTS: dict[str, tuple[str, ...]] = {
    "squat": ("insufficient_depth", "knees_caving", "forward_lean"),
    "lunge": ("knee_past_toes", "insufficient_depth", "forward_lean"),
    "pushup": ("sagging_hips", "partial_range", "piking_hips"),
    "bench_press": ("partial_range",),
    "barbell_biceps_curl": ("elbow_drift", "partial_range", "body_swing"),
    "triceps_pushdown": ("elbow_drift", "partial_range"),
    "lat_pulldown": ("partial_range", "leaning_back"),
    "pullup": ("partial_range",),
    "situp": ("partial_range",),
    "jumping_jacks": ("partial_range",),
}

VIEWS: dict[str, float] = {  # camera yaw in degrees
    "front": 0.0,
    "left": -90.0,
    "right": 90.0,
    "front_left": -45.0,
    "front_right": 45.0,
    "back": 180.0,
}

# typical duration of one repetition (s)
TEMPO: dict[str, tuple[float, float]] = {
    "jumping_jacks": (0.6, 1.1),
    "situp": (1.2, 2.4),
    "pullup": (1.4, 2.8),
}
DEFAULT_TEMPO = (1.4, 3.0)


@dataclass
class SyntheticSample:
    keypoints: np.ndarray  # (T, 17, 3) pixels + confidence
    label: str
    rep_count: int
    fps: float
    width: int
    height: int
    view: str
    fault: str | None
    bottom_frames: list[int] = field(default_factory=list)  # frame of each movement extreme
    params: dict = field(default_factory=dict)


# ------------------------------------------------------------------ geometry helpers

X = np.array([1.0, 0.0, 0.0])
Y = np.array([0.0, 1.0, 0.0])
Z = np.array([0.0, 0.0, 1.0])


def _unit(v):
    n = np.linalg.norm(v)
    return v / n if n > 1e-9 else v


def _ik(a, b, la, lb, hint):
    """Middle joint of a two-link chain a->m->b with lengths la, lb, bending toward ``hint``."""
    d_vec = b - a
    d = np.linalg.norm(d_vec)
    d = min(max(d, abs(la - lb) + 1e-4), la + lb - 1e-4)
    n = _unit(d_vec)
    along = (la * la - lb * lb + d * d) / (2 * d)
    perp = np.sqrt(max(la * la - along * along, 0.0))
    h = hint - np.dot(hint, n) * n
    h = _unit(h) if np.linalg.norm(h) > 1e-6 else _unit(np.cross(n, X + 0.1 * Y))
    return a + along * n + perp * h


def _rad(deg):
    return np.deg2rad(deg)


def _lerp(a, b, p):
    return a + (b - a) * p


@dataclass
class Body:
    torso: float = 0.50
    shoulder_half: float = 0.19
    hip_half: float = 0.10
    upper_arm: float = 0.30
    forearm: float = 0.26
    thigh: float = 0.43
    shin: float = 0.43

    @staticmethod
    def random(rng) -> Body:
        s = rng.uniform(0.9, 1.1)

        def j():
            return s * rng.uniform(0.93, 1.07)

        return Body(
            0.50 * j(), 0.19 * j(), 0.10 * j(), 0.30 * j(), 0.26 * j(), 0.43 * j(), 0.43 * j()
        )


def _assemble(body: Body, mid_hip, u, f, arms, legs, lat=None):
    """Build the (17, 3) 3-D pose. u: torso up (hip->shoulder), f: facing direction.

    arms/legs: dict side(+1 left, -1 right) -> (elbow, wrist) / (knee, ankle)."""
    u = _unit(u)
    f = _unit(f - np.dot(f, u) * u)
    left = _unit(np.cross(u, f)) if lat is None else lat
    ms = mid_hip + body.torso * u
    P = np.zeros((17, 3))
    nose = ms + 0.20 * u + 0.09 * f
    P[0] = nose
    P[1] = nose + 0.035 * u + 0.032 * left - 0.015 * f
    P[2] = nose + 0.035 * u - 0.032 * left - 0.015 * f
    P[3] = nose + 0.02 * u + 0.075 * left - 0.09 * f
    P[4] = nose + 0.02 * u - 0.075 * left - 0.09 * f
    for s, (ish, iel, iwr, ihp, ikn, ian) in (
        (1, (5, 7, 9, 11, 13, 15)),
        (-1, (6, 8, 10, 12, 14, 16)),
    ):
        P[ish] = ms + s * body.shoulder_half * left
        P[ihp] = mid_hip + s * body.hip_half * left
        P[iel], P[iwr] = arms[s]
        P[ikn], P[ian] = legs[s]
    return P


def _standing_legs(body: Body, mid_hip, left, stance=0.0):
    legs = {}
    for s in (1, -1):
        hip = mid_hip + s * body.hip_half * left
        ankle = np.array([hip[0] + s * stance, 0.0, hip[2]])
        knee = _ik(hip, ankle, body.thigh, body.shin, Z)
        legs[s] = (knee, ankle)
    return legs


def _hanging_arms(body, ms, left, u, f, forward_deg=5.0, elbow_deg=8.0):
    arms = {}
    for s in (1, -1):
        sh = ms + s * body.shoulder_half * left
        a = _rad(forward_deg)
        el = sh + body.upper_arm * (-np.cos(a) * u + np.sin(a) * f)
        b = a + _rad(elbow_deg)
        wr = el + body.forearm * (-np.cos(b) * u + np.sin(b) * f)
        arms[s] = (el, wr)
    return arms


# ------------------------------------------------------------------ exercises


def _pose_squat(p, body, fault, style):
    thigh_deg = p * (45.0 if fault == "insufficient_depth" else 100.0)
    shin_deg = p * (18.0 if fault == "insufficient_depth" else 35.0)
    lean = p * (75.0 if fault == "forward_lean" else 38.0) + 4.0
    stance = body.hip_half + 0.06
    legs, hips = {}, []
    for s in (1, -1):
        ankle = np.array([s * stance, 0.0, 0.0])
        knee_x = s * (stance + 0.03 * p) if fault != "knees_caving" else s * (stance - 0.24 * p)
        knee = np.array(
            [knee_x, body.shin * np.cos(_rad(shin_deg)), body.shin * np.sin(_rad(shin_deg))]
        )
        hip = knee + body.thigh * np.array([0.0, np.cos(_rad(thigh_deg)), -np.sin(_rad(thigh_deg))])
        hips.append(hip)
        legs[s] = (knee, ankle)
    mid_hip = np.array([0.0, 0.5 * (hips[0][1] + hips[1][1]), 0.5 * (hips[0][2] + hips[1][2])])
    u = np.array([0.0, np.cos(_rad(lean)), np.sin(_rad(lean))])
    f = Z.copy()
    left = _unit(np.cross(u, _unit(f - np.dot(f, u) * u)))
    ms = mid_hip + body.torso * u
    arms = {}
    for s in (1, -1):
        sh = ms + s * body.shoulder_half * left
        if style == 0:  # arms straight forward
            el = sh + body.upper_arm * Z
            wr = el + body.forearm * Z
        else:  # barbell on the back
            wr = sh + s * 0.20 * left + 0.03 * u - 0.10 * _unit(np.cross(left, u))
            el = _ik(sh, wr, body.upper_arm, body.forearm, -u + s * 0.3 * left)
        arms[s] = (el, wr)
    return _assemble(body, mid_hip, u, f, arms, legs)


def _pose_lunge(p, body, fault, style):
    front = 1 if style == 0 else -1  # which leg is in front
    leg_len = body.thigh + body.shin
    dz = 0.30 * leg_len
    h0 = np.sqrt((0.97 * leg_len) ** 2 - dz**2)
    h1 = body.shin * (1.05 if fault != "insufficient_depth" else 1.55)
    h = _lerp(h0, h1, p)
    shift = p * (0.30 if fault == "knee_past_toes" else 0.04)
    mid_hip = np.array([0.0, h, shift])
    lean = 5.0 + p * (40.0 if fault == "forward_lean" else 3.0)
    u = np.array([0.0, np.cos(_rad(lean)), np.sin(_rad(lean))])
    f = Z.copy()
    left = X.copy()
    legs = {}
    for s in (1, -1):
        hip = mid_hip + s * body.hip_half * left
        if s == front:
            ankle = np.array([hip[0], 0.0, dz + 0.04])
        else:
            ankle = np.array([hip[0], 0.08, -dz - 0.08 * p])
        knee = _ik(hip, ankle, body.thigh, body.shin, Z)
        legs[s] = (knee, ankle)
    ms = mid_hip + body.torso * u
    arms = _hanging_arms(body, ms, left, u, f, forward_deg=4.0, elbow_deg=10.0)
    return _assemble(body, mid_hip, u, f, arms, legs)


def _pose_pushup(p, body, fault, style):
    reach = body.upper_arm + body.forearm
    h_top = 0.93 * reach
    h_bot = 0.38 if fault == "partial_range" else 0.12
    h = _lerp(h_top, h_bot, p)
    L = body.shin + body.thigh + body.torso
    ankle_mid = np.array([0.0, 0.06, 0.0])
    zs = np.sqrt(max(L * L - (h - 0.06) ** 2, 0.01))
    ms = np.array([0.0, h, zs])
    d = _unit(ms - ankle_mid)
    knee_mid = ankle_mid + body.shin * d
    hip_mid = ankle_mid + (body.shin + body.thigh) * d
    if fault == "sagging_hips":
        hip_mid = hip_mid - np.array([0.0, 0.20, 0.0])
        knee_mid = knee_mid - np.array([0.0, 0.08, 0.0])
    elif fault == "piking_hips":
        hip_mid = hip_mid + np.array([0.0, 0.22, 0.0])
        knee_mid = knee_mid + np.array([0.0, 0.09, 0.0])
    u = _unit(ms - hip_mid)
    left = X.copy()
    f = _unit(np.cross(left, u))  # face towards the floor
    z_hand = np.sqrt(max(L * L - (h_top - 0.06) ** 2, 0.01)) + 0.02
    arms, legs = {}, {}
    for s in (1, -1):
        sh = ms + s * body.shoulder_half * left
        hand = np.array([s * (body.shoulder_half + 0.07), 0.0, z_hand])
        el = _ik(sh, hand, body.upper_arm, body.forearm, np.array([s * 0.5, 0.6, -0.6]))
        arms[s] = (el, hand)
        legs[s] = (knee_mid + s * 0.08 * left, ankle_mid + s * 0.07 * left)
    P = _assemble(body, hip_mid, u, f, arms, legs, lat=left)
    # _assemble places shoulders from the hip along u with torso length: re-anchor them
    P[5], P[6] = ms + body.shoulder_half * left, ms - body.shoulder_half * left
    return P


def _pose_bench(p, body, fault, style):
    bench = 0.45
    mid_hip = np.array([0.0, bench + 0.08, 0.0])
    u = _unit(np.array([0.0, 0.06, 1.0]))
    f = Y.copy()
    left = _unit(np.cross(u, _unit(f - np.dot(f, u) * u)))
    ms = mid_hip + body.torso * u
    reach = body.upper_arm + body.forearm
    grip = 0.20
    top = np.sqrt(max((0.95 * reach) ** 2 - grip**2, 0.01))
    bot = 0.35 if fault == "partial_range" else 0.10
    dy = _lerp(top, bot, p)
    arms, legs = {}, {}
    for s in (1, -1):
        sh = ms + s * body.shoulder_half * left
        wr = sh + s * grip * left + np.array([0.0, dy, -0.04])
        el = _ik(sh, wr, body.upper_arm, body.forearm, s * 0.75 * left - 0.65 * Y)
        arms[s] = (el, wr)
        hip = mid_hip + s * body.hip_half * left
        knee = hip + body.thigh * _unit(np.array([0.0, -0.15, -1.0])) + s * 0.10 * left
        drop = min(knee[1], 0.97 * body.shin)
        ankle = knee + np.array([0.0, -drop, -np.sqrt(max(body.shin**2 - drop**2, 0.0))])
        ankle[1] = max(ankle[1], 0.0)
        legs[s] = (knee, ankle)
    return _assemble(body, mid_hip, u, f, arms, legs)


def _pose_curl(p, body, fault, style):
    lean = -p * 22.0 if fault == "body_swing" else 0.0
    mid_hip = np.array([0.0, body.thigh + body.shin, 0.0])
    u = np.array([0.0, np.cos(_rad(lean)), np.sin(_rad(lean))])
    f = Z.copy()
    left = X.copy()
    legs = _standing_legs(body, mid_hip, left, 0.03)
    ms = mid_hip + body.torso * u
    f_t = _unit(f - np.dot(f, u) * u)
    upper = 5.0 + (p * 45.0 if fault == "elbow_drift" else 0.0)
    flex = _lerp(10.0, 80.0 if fault == "partial_range" else 140.0, p)
    arms = _hanging_arms(body, ms, left, u, f_t, forward_deg=upper, elbow_deg=flex)
    return _assemble(body, mid_hip, u, f, arms, legs)


def _pose_pushdown(p, body, fault, style):
    lean = 14.0
    mid_hip = np.array([0.0, body.thigh + body.shin - 0.02, 0.0])
    u = np.array([0.0, np.cos(_rad(lean)), np.sin(_rad(lean))])
    f = Z.copy()
    left = X.copy()
    legs = _standing_legs(body, mid_hip, left, 0.05)
    ms = mid_hip + body.torso * u
    upper = 8.0 + (40.0 * (1.0 - 0.3 * p) if fault == "elbow_drift" else 0.0)
    # forearm angle relative to the upper arm: 100 deg (hands at chest) -> ~5 deg (locked out)
    flex = _lerp(105.0, 50.0 if fault == "partial_range" else 4.0, p)
    # arms are described relative to world vertical, not the leaning torso
    arms = {}
    for s in (1, -1):
        sh = ms + s * body.shoulder_half * left
        a = _rad(upper)
        el = sh + body.upper_arm * np.array([0.0, -np.cos(a), np.sin(a)])
        b = a + _rad(flex)
        wr = el + body.forearm * np.array([0.0, -np.cos(b), np.sin(b)])
        arms[s] = (el, wr)
    return _assemble(body, mid_hip, u, f, arms, legs)


def _seated(body, mid_hip, left):
    legs = {}
    for s in (1, -1):
        hip = mid_hip + s * (body.hip_half + 0.03) * left
        knee = hip + body.thigh * Z + s * 0.04 * left
        ankle = knee + body.shin * _unit(np.array([0.0, -1.0, 0.12]))
        legs[s] = (knee, ankle)
    return legs


def _pose_pulldown(p, body, fault, style):
    mid_hip = np.array([0.0, 0.50, 0.0])
    lean = -(10.0 + (p * 30.0 if fault == "leaning_back" else 0.0))
    u = np.array([0.0, np.cos(_rad(lean)), np.sin(_rad(lean))])
    f = Z.copy()
    left = X.copy()
    legs = _seated(body, mid_hip, left)
    ms = mid_hip + body.torso * u
    reach = body.upper_arm + body.forearm
    grip = 0.28
    up = np.sqrt(max((0.96 * reach) ** 2 - grip**2, 0.01))
    end = 0.35 if fault == "partial_range" else 0.04
    arms = {}
    for s in (1, -1):
        sh = ms + s * body.shoulder_half * left
        w0 = sh + np.array([s * grip, up, 0.08])
        w1 = sh + np.array([s * grip, end, 0.12])
        wr = _lerp(w0, w1, p)
        el = _ik(sh, wr, body.upper_arm, body.forearm, np.array([s * 0.8, -0.6, -0.1]))
        arms[s] = (el, wr)
    return _assemble(body, mid_hip, u, f, arms, legs)


def _pose_pullup(p, body, fault, style):
    bar = 2.3
    reach = body.upper_arm + body.forearm
    grip = 0.22
    hang = bar - np.sqrt(max((0.97 * reach) ** 2 - grip**2, 0.01))
    top = bar - (0.30 if fault == "partial_range" else 0.13)
    msy = _lerp(hang, top, p)
    lean = -8.0
    u = np.array([0.0, np.cos(_rad(lean)), np.sin(_rad(lean))])
    f = Z.copy()
    left = X.copy()
    ms = np.array([0.0, msy, -0.05])
    mid_hip = ms - body.torso * u
    arms, legs = {}, {}
    for s in (1, -1):
        sh = ms + s * body.shoulder_half * left
        wr = np.array([sh[0] + s * grip, bar, 0.0])
        el = _ik(sh, wr, body.upper_arm, body.forearm, np.array([s * 0.8, -0.6, 0.1]))
        arms[s] = (el, wr)
        hip = mid_hip + s * body.hip_half * left
        kb = 25.0 if style == 0 else 70.0
        knee = hip + body.thigh * np.array([0.0, -np.cos(_rad(10)), np.sin(_rad(10))])
        ankle = knee + body.shin * np.array([0.0, -np.cos(_rad(kb - 10)), -np.sin(_rad(kb - 10))])
        legs[s] = (knee, ankle)
    return _assemble(body, mid_hip, u, f, arms, legs)


def _pose_situp(p, body, fault, style):
    alpha = _lerp(6.0, 38.0 if fault == "partial_range" else 78.0, p)
    mid_hip = np.array([0.0, 0.10, 0.0])
    u = np.array([0.0, np.sin(_rad(alpha)), np.cos(_rad(alpha))])
    f = np.array([0.0, np.cos(_rad(alpha)), -np.sin(_rad(alpha))])
    left = _unit(np.cross(u, f))
    ms = mid_hip + body.torso * u
    arms, legs = {}, {}
    for s in (1, -1):
        sh = ms + s * body.shoulder_half * left
        if style == 0:  # hands behind the head
            wr = ms + 0.22 * u - 0.06 * f + s * 0.06 * left
            el = _ik(sh, wr, body.upper_arm, body.forearm, s * left + 0.3 * u)
        else:  # arms crossed on the chest
            wr = ms - 0.10 * u + 0.12 * f - s * 0.12 * left
            el = _ik(sh, wr, body.upper_arm, body.forearm, -u + 0.3 * s * left + 0.3 * f)
        arms[s] = (el, wr)
        hip = mid_hip + s * body.hip_half * left
        knee = (
            hip
            + body.thigh * np.array([0.0, np.sin(_rad(48)), -np.cos(_rad(48))])
            + s * 0.05 * left
        )
        drop = min(knee[1] - 0.02, 0.97 * body.shin)
        ankle = knee + np.array([0.0, -drop, -np.sqrt(max(body.shin**2 - drop**2, 0.0))])
        legs[s] = (knee, ankle)
    return _assemble(body, mid_hip, u, f, arms, legs)


def _pose_jacks(p, body, fault, style):
    arm_deg = _lerp(12.0, 95.0 if fault == "partial_range" else 168.0, p)
    leg_deg = _lerp(3.0, 16.0, p)
    leg_len = body.thigh + body.shin
    hop = 0.04 * np.sin(np.pi * p)
    mid_hip = np.array([0.0, leg_len * np.cos(_rad(leg_deg)) + hop, 0.0])
    u, f, left = Y.copy(), Z.copy(), X.copy()
    ms = mid_hip + body.torso * u
    arms, legs = {}, {}
    for s in (1, -1):
        sh = ms + s * body.shoulder_half * left
        a = _rad(arm_deg)
        d1 = np.array([s * np.sin(a), -np.cos(a), 0.05])
        b = _rad(arm_deg + 8.0 * np.sin(np.pi * p))
        d2 = np.array([s * np.sin(b), -np.cos(b), 0.05])
        el = sh + body.upper_arm * _unit(d1)
        wr = el + body.forearm * _unit(d2)
        arms[s] = (el, wr)
        hip = mid_hip + s * body.hip_half * left
        g = _rad(leg_deg)
        dl = np.array([s * np.sin(g), -np.cos(g), 0.0])
        knee = hip + body.thigh * dl + np.array([0.0, 0.0, 0.03])
        ankle = hip + leg_len * dl
        legs[s] = (knee, ankle)
    return _assemble(body, mid_hip, u, f, arms, legs)


POSE_FUNCS = {
    "squat": _pose_squat,
    "lunge": _pose_lunge,
    "pushup": _pose_pushup,
    "bench_press": _pose_bench,
    "barbell_biceps_curl": _pose_curl,
    "triceps_pushdown": _pose_pushdown,
    "lat_pulldown": _pose_pulldown,
    "pullup": _pose_pullup,
    "situp": _pose_situp,
    "jumping_jacks": _pose_jacks,
}


# ------------------------------------------------------------------ timing and camera


def phase_track(n_reps, fps, rep_s, rng, lead_in_s, lead_out_s, pause_s, hold_frac=0.08):
    """Phase per frame (0 rest .. 1 extreme) and the frame index of each rep's extreme."""
    ps: list[float] = []
    bottoms: list[int] = []

    def hold(sec, val):
        ps.extend([val] * max(int(round(sec * fps)), 0))

    hold(lead_in_s, 0.0)
    for r in range(n_reps):
        dur = rep_s * rng.uniform(0.9, 1.1)
        down_frac = rng.uniform(0.4, 0.6)
        n_hold = int(round(hold_frac * dur * fps))
        n_down = max(int(round(down_frac * dur * fps)), 2)
        n_up = max(int(round((1 - down_frac) * dur * fps)) - n_hold, 2)
        u = np.arange(1, n_down + 1) / n_down
        ps.extend(list(0.5 - 0.5 * np.cos(np.pi * u)))
        start_hold = len(ps) - 1
        hold(n_hold / fps, 1.0)
        bottoms.append(int(round(0.5 * (start_hold + len(ps) - 1))))
        u = np.arange(1, n_up + 1) / n_up
        ps.extend(list(0.5 + 0.5 * np.cos(np.pi * u)))
        if r < n_reps - 1:
            hold(pause_s * rng.uniform(0.5, 1.5), 0.0)
    hold(lead_out_s, 0.0)
    if not ps:
        ps = [0.0]
    return np.asarray(ps), bottoms


def _project(P3, yaw_deg, pitch_deg, dist):
    """(T, 17, 3) world -> (T, 17, 2) image-plane coords (y down) and depth toward camera."""
    a = _rad(yaw_deg)
    c, s = np.cos(a), np.sin(a)
    x = P3[..., 0] * c + P3[..., 2] * s
    z = -P3[..., 0] * s + P3[..., 2] * c
    y = P3[..., 1] - 1.0
    e = _rad(pitch_deg)
    y2 = y * np.cos(e) - z * np.sin(e)
    z2 = y * np.sin(e) + z * np.cos(e)
    k = dist / np.maximum(dist - z2, 0.5)
    return np.stack([x * k, -y2 * k], axis=-1), z2


# Over 60 lines: one sample's recipe (body, tempo, faults, view, noise) read top to bottom;
# training data only, never on the request path.
def generate(
    exercise: str,
    n_reps: int = 3,
    fps: float = 30.0,
    width: int = 640,
    height: int = 480,
    view: str = "left",
    rep_seconds: float | None = None,
    noise: float = 0.008,
    occlusion: float = 0.0,
    fault: str | None = None,
    seed: int | None = 0,
    rng: np.random.Generator | None = None,
    lead_in_s: float | None = None,
    lead_out_s: float | None = None,
    pause_s: float | None = None,
    fill: float | None = None,
    pitch_deg: float | None = None,
    style: int | None = None,
    body: Body | None = None,
    yaw_jitter_deg: float = 0.0,
) -> SyntheticSample:
    """One synthetic sequence of ``exercise`` with exactly ``n_reps`` repetitions.

    ``view``: one of ``VIEWS`` (front, left, right, front_left, front_right, back) or a yaw in
    degrees. ``noise``: keypoint jitter as a fraction of the figure's height. ``occlusion``:
    0..1, probability scale of dropped joints / occluded limbs (confidence set to ~0).
    ``fault``: one of ``FAULTS[exercise]`` or None for perfect form.
    """
    if exercise not in POSE_FUNCS:
        raise ValueError(f"unknown exercise {exercise!r}")
    if fault is not None and fault not in FAULTS.get(exercise, ()):
        raise ValueError(f"unknown fault {fault!r} for {exercise}")
    rng = rng if rng is not None else np.random.default_rng(seed)
    body = body or Body.random(rng)
    style = int(rng.integers(0, 2)) if style is None else style
    lo, hi = TEMPO.get(exercise, DEFAULT_TEMPO)
    rep_s = rep_seconds if rep_seconds is not None else rng.uniform(lo, hi)
    lead_in = rng.uniform(0.1, 0.6) if lead_in_s is None else lead_in_s
    lead_out = rng.uniform(0.1, 0.6) if lead_out_s is None else lead_out_s
    pause = rng.uniform(0.0, 0.3) * rep_s if pause_s is None else pause_s
    phases, bottoms = phase_track(n_reps, fps, rep_s, rng, lead_in, lead_out, pause)
    func = POSE_FUNCS[exercise]
    P3 = np.stack([func(float(p), body, fault, style) for p in phases])
    yaw = VIEWS[view] if isinstance(view, str) else float(view)
    yaw += yaw_jitter_deg
    pitch = rng.uniform(-5, 15) if pitch_deg is None else pitch_deg
    xy, depth = _project(P3, yaw, pitch, dist=rng.uniform(3.5, 7.0))

    # fit into the frame
    lo_xy = xy.reshape(-1, 2).min(axis=0)
    hi_xy = xy.reshape(-1, 2).max(axis=0)
    ext = np.maximum(hi_xy - lo_xy, 1e-3)
    fill = rng.uniform(0.45, 0.85) if fill is None else fill
    k = fill * min(width / ext[0], height / ext[1])
    size = ext * k
    off = np.array(
        [rng.uniform(0, max(width - size[0], 0)), rng.uniform(0, max(height - size[1], 0))]
    )
    pix = (xy - lo_xy) * k + off
    fig_h = float(max(size))
    T = pix.shape[0]
    pix = pix + rng.normal(0, noise * fig_h, pix.shape)

    conf = rng.uniform(0.55, 0.98, (T, 17))
    # far-side joints (in side views) are less certain
    rel_depth = depth - depth.mean(axis=1, keepdims=True)
    far = rel_depth < -0.08
    conf[far] *= rng.uniform(0.35, 1.0)
    if occlusion > 0:
        drop = rng.random((T, 17)) < 0.08 * occlusion
        conf[drop] = rng.uniform(0.0, 0.25, drop.sum())
        limbs = [(7, 9), (8, 10), (13, 15), (14, 16), (9,), (10,), (15, 16)]
        for _ in range(rng.poisson(1.5 * occlusion)):
            limb = limbs[rng.integers(len(limbs))]
            a = int(rng.integers(0, T))
            b = min(T, a + int(rng.integers(1, max(2, T // 3))))
            conf[a:b, list(limb)] = rng.uniform(0.0, 0.2)
    out_of_frame = (
        (pix[..., 0] < 0) | (pix[..., 0] >= width) | (pix[..., 1] < 0) | (pix[..., 1] >= height)
    )
    conf[out_of_frame] = 0.0
    kp = np.concatenate([pix, conf[..., None]], axis=-1).astype(np.float32)
    return SyntheticSample(
        keypoints=kp,
        label=exercise,
        rep_count=n_reps,
        fps=fps,
        width=width,
        height=height,
        view=view if isinstance(view, str) else f"yaw{yaw:.0f}",
        fault=fault,
        bottom_frames=bottoms,
        params={
            "rep_seconds": rep_s,
            "style": style,
            "pitch": pitch,
            "noise": noise,
            "occlusion": occlusion,
        },
    )


def random_sample(
    exercise: str, rng: np.random.Generator, fps: float | None = None
) -> SyntheticSample:
    """A randomized sample for training: random view (with yaw jitter), tempo, reps, size,
    noise, occlusion, and a form fault in 25 % of the samples."""
    view = str(rng.choice(list(VIEWS)))
    faults = FAULTS.get(exercise, ())
    fault = str(rng.choice(faults)) if faults and rng.random() < 0.25 else None
    w, h = [(640, 480), (480, 640), (1280, 720), (640, 360), (720, 1280)][int(rng.integers(5))]
    return generate(
        exercise,
        n_reps=int(rng.integers(1, 5)),
        fps=fps or float(rng.choice([15.0, 25.0, 30.0])),
        width=w,
        height=h,
        view=view,
        noise=float(rng.uniform(0.003, 0.02)),
        occlusion=float(rng.uniform(0.0, 1.0)),
        fault=fault,
        rng=rng,
        yaw_jitter_deg=float(rng.uniform(-20, 20)),
    )


# ------------------------------------------------------------------ augmentation of real data


def mirror(seq: np.ndarray, width: float) -> np.ndarray:
    """Left/right mirror: x -> width - x and every left joint swapped with its right twin."""
    seq = as_sequence(seq)
    out = seq[:, list(FLIP_INDEX), :].copy()
    out[..., 0] = width - out[..., 0]
    return out


def time_warp(seq: np.ndarray, rng: np.random.Generator, strength: float = 0.3, crop: float = 0.25):
    """Random monotone re-timing (speed changes within the clip) plus a random crop that
    keeps at least ``1 - crop`` of the clip. Confidence is taken from the nearest frame."""
    seq = as_sequence(seq)
    T = seq.shape[0]
    if T < 4:
        return seq.copy()
    keep = rng.uniform(1.0 - crop, 1.0)
    n_keep = max(int(round(T * keep)), 2)
    start = int(rng.integers(0, T - n_keep + 1))
    seg = seq[start : start + n_keep]
    knots = rng.uniform(1.0 - strength, 1.0 + strength, 6)
    rate = np.interp(np.linspace(0, 5, n_keep), np.arange(6), knots)
    pos = np.concatenate([[0.0], np.cumsum(rate[:-1])])
    pos = pos / pos[-1] * (n_keep - 1)
    n_out = max(int(round(n_keep * rng.uniform(0.8, 1.25))), 2)
    q = np.interp(np.linspace(0, n_keep - 1, n_out), np.arange(n_keep), pos)
    lo = np.floor(q).astype(int)
    hi = np.minimum(lo + 1, n_keep - 1)
    w = (q - lo)[:, None, None]
    out = seg[lo] * (1 - w) + seg[hi] * w
    out[..., 2] = np.minimum(seg[lo, :, 2], seg[hi, :, 2])
    return out.astype(np.float32)


def augment(
    seq: np.ndarray,
    width: float,
    height: float,
    rng: np.random.Generator,
    mirror_p: float = 0.5,
    translate_px: float = 100.0,
    scale_range: tuple[float, float] = (0.8, 1.2),
    warp: bool = True,
    dropout_p: float = 0.05,
    noise_frac: float = 0.01,
) -> np.ndarray:
    """Augment a real pixel sequence: mirror (with joint swap), translation (+-100 px as in
    seed 003, scaled to the frame width), scaling about the frame center, time warp / crop,
    random joint dropout and small jitter."""
    out = as_sequence(seq)
    if rng.random() < mirror_p:
        out = mirror(out, width)
    if warp:
        out = time_warp(out, rng)
    k = rng.uniform(*scale_range)
    c = np.array([width / 2.0, height / 2.0])
    t = rng.uniform(-translate_px, translate_px, 2) * (width / 640.0)
    out[..., :2] = (out[..., :2] - c) * k + c + t
    vis = out[..., 2] >= 0.3
    if vis.any():
        pts = out[..., :2][vis]
        size = float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]), 1.0))
        out[..., :2] += rng.normal(0, noise_frac * size, out[..., :2].shape)
    if dropout_p > 0:
        drop = rng.random(out.shape[:2]) < dropout_p
        out[..., 2][drop] = 0.0
    return out.astype(np.float32)
