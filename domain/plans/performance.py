"""What was performed of a plan, and what it changes (pure rules, no I/O).

An *entry* is one record of one prescribed exercise on one day (a dict, see `entry_dict`):
``source`` camera (a checked video or keypoint sequence) or self (a self-report), ``valid``
(false for a check that could not count: nobody seen, another exercise...), ``reps`` (total
repetitions), ``sets``, ``duration_s`` (total time for timed exercises), ``hold_s``,
``rom_deg``, ``rom_ratio`` (range against the level's expected range), ``form_verdict``,
``pain`` (0-10, self-reports).

- `summarize`: the plan item's ``performed`` from its entries; ``completed`` when the day's
  entries add up to the prescribed volume (sets x reps, or sets x duration).
- `day_completed`: a day is completed when each of its exercises is.
- `performance_changes`: next week's per-exercise load from last week's measurements: short
  repetitions or a small range lower it, comfortably exceeded targets with good form raise it,
  pain at or above `PAIN_THRESHOLD` takes the discomfort path. Each change carries its reason,
  quoting the measurement.
- `adherence`: a patient's share of prescribed sessions and repetitions done, range-of-motion
  trend per checked exercise, last pain ratings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

#: reported pain at or above this (0-10) sends the exercise down the discomfort path
PAIN_THRESHOLD = 5
#: repetitions (or hold time) per set below this share of the prescription lower the load
SHORT_RATIO = 0.8
#: range of motion below this share of the level's expected range lowers the load
LOW_ROM_RATIO = 0.7
#: at least this share of the prescription per set, with good form, raises the load
EXCEEDED_RATIO = 1.2
#: ... and the range at least this share of the expected one (when it was measured)
RAISE_ROM_RATIO = 0.9
#: load multipliers: never below LOWEST_FACTOR; a raise is one step
LOWEST_FACTOR = 0.6
LOWER_STEP = 0.85
RAISE_STEP = 1.1
#: a timed exercise counts as done when the time reaches this share of the prescription
TIME_TOLERANCE = 0.9


def entry_dict(row) -> dict:
    """A stored record (an ORM row or anything with these attributes) as an entry dict."""
    names = ("plan_id", "day", "exercise_id", "source", "valid", "reps", "sets", "duration_s",
             "hold_s", "rom_deg", "rom_ratio", "form_verdict", "pain", "analysis_id", "created_at")
    return {name: getattr(row, name, None) for name in names}


def _target(item: dict) -> tuple[str, float]:
    """("reps", sets x reps) or ("time", sets x duration_s) of a plan item."""
    sets = int(item.get("sets") or 1)
    if item.get("reps"):
        return "reps", float(sets * int(item["reps"]))
    return "time", float(sets * float(item.get("duration_s") or 0))


def self_report_volume(item: dict, *, reps: int | None, sets: int | None,
                       duration_s: float | None) -> dict:
    """A self-report's totals; what it leaves out is taken as prescribed ("I did it")."""
    n_sets = int(sets if sets is not None else item.get("sets") or 1)
    out = {"sets": n_sets, "reps": None, "duration_s": None}
    if item.get("reps"):
        out["reps"] = n_sets * int(reps if reps is not None else item["reps"])
    else:
        per = duration_s if duration_s is not None else item.get("duration_s") or 0
        out["duration_s"] = float(n_sets * float(per))
    return out


def summarize(item: dict, entries: Iterable[dict]) -> dict | None:
    """The plan item's ``performed`` from the day's entries for it (None when there is none)."""
    entries = list(entries)
    if not entries:
        return None
    valid = [e for e in entries if e.get("valid")]
    kind, target = _target(item)
    reps = sum(int(e.get("reps") or 0) for e in valid)
    time_s = sum(float(e.get("duration_s") or 0) for e in valid)
    camera = [e for e in valid if e["source"] == "camera"]
    last_rom = next((e for e in reversed(camera) if e.get("rom_deg") is not None), None)
    holds = [float(e["hold_s"]) for e in valid if e.get("hold_s") is not None]
    pains = [e for e in entries if e.get("pain") is not None]
    done = reps if kind == "reps" else time_s
    completed = target > 0 and (done >= target if kind == "reps"
                                else done >= TIME_TOLERANCE * target)
    return {
        "reps": reps if kind == "reps" else None,
        "duration_s": round(time_s, 1) if kind == "time" else None,
        "sets": sum(int(e.get("sets") or 0) for e in valid),
        "hold_s": round(max(holds), 1) if holds else None,
        "rom_deg": last_rom["rom_deg"] if last_rom else None,
        "rom_ratio": last_rom.get("rom_ratio") if last_rom else None,
        "pain": pains[-1]["pain"] if pains else None,
        "camera_checks": len([e for e in entries if e["source"] == "camera"]),
        "self_reports": len([e for e in entries if e["source"] == "self"]),
        "sources": sorted({e["source"] for e in valid}),
        "target": int(target) if kind == "reps" else round(target, 1),
        "completed": bool(completed),
    }


def day_completed(day: dict) -> bool:
    """Every exercise of the day performed to its prescription."""
    items = day.get("exercises") or []
    return bool(items) and all((i.get("performed") or {}).get("completed") for i in items)


# -- next week ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PerformanceChanges:
    """Per-exercise load changes for next week, each with its reasons."""

    factors: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, tuple[str, ...]] = field(default_factory=dict)
    discomfort_ids: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"factors": dict(self.factors),
                "reasons": {k: list(v) for k, v in self.reasons.items()},
                "discomfort_ids": sorted(self.discomfort_ids), "notes": list(self.notes)}


def _per_set(entry: dict, item: dict) -> float | None:
    """A camera check's repetitions (or hold) per set against the prescription per set.

    A video may show several sets: it counts as round(reps / prescribed reps) sets (at least
    one), so 20 repetitions of a 2 x 10 are 10 per set, and 6 of a 10 are 6 per set."""
    if item.get("reps"):
        reps = int(entry.get("reps") or 0)
        per = int(item["reps"])
        sets = max(1, round(reps / per))
        return reps / sets / per
    if item.get("duration_s") and entry.get("hold_s") is not None:
        return float(entry["hold_s"]) / float(item["duration_s"])
    return None


def _fmt_ratio(value: float) -> str:
    return f"{value:.0%}"


def _exercise_change(name: str, item: dict, entries: list[dict],
                     level: str) -> tuple[float, list[str]]:
    """(factor, reasons) for one exercise from its valid camera checks of last week."""
    checks = [e for e in entries if e["source"] == "camera" and e.get("valid")]
    if not checks:
        return 1.0, []
    ratios = [r for r in (_per_set(e, item) for e in checks) if r is not None]
    per_set = sorted(ratios)[len(ratios) // 2] if ratios else None
    roms = [e for e in checks if e.get("rom_ratio") is not None]
    rom = roms[-1] if roms else None
    unit = "repetitions" if item.get("reps") else "seconds"
    target = int(item["reps"]) if item.get("reps") else int(item.get("duration_s") or 0)
    done = round((per_set or 0) * target)
    reasons: list[str] = []
    factor = 1.0
    if per_set is not None and per_set < SHORT_RATIO:
        factor = max(LOWEST_FACTOR, min(LOWER_STEP, math.floor(per_set * 20) / 20))
        what = (f"last week the camera counted {done} of {target} {name} per set"
                if unit == "repetitions" else
                f"last week you held {name} {done} of {target} s")
        reasons.append(f"{what}: volume x{factor:.2f} for this exercise")
    if rom is not None and rom["rom_ratio"] < LOW_ROM_RATIO:
        factor = min(factor, LOWER_STEP)
        expected = rom["rom_deg"] / rom["rom_ratio"] if rom["rom_ratio"] else 0
        reasons.append(f"last week's range of motion in {name} was {rom['rom_deg']:.0f}° of the "
                       f"{expected:.0f}° expected for {level} ({_fmt_ratio(rom['rom_ratio'])}): "
                       f"volume x{factor:.2f} until the range comes back")
    if factor == 1.0 and per_set is not None and per_set >= EXCEEDED_RATIO:
        good_form = all(e.get("form_verdict") in ("good", None) for e in checks) and any(
            e.get("form_verdict") == "good" for e in checks)
        rom_ok = rom is None or rom["rom_ratio"] >= RAISE_ROM_RATIO
        if good_form and rom_ok:
            factor = RAISE_STEP
            reasons.append(f"last week the camera counted {done} of {target} {name} per set "
                           f"with good form: volume x{factor:.2f} for this exercise")
    return factor, reasons


def performance_changes(previous_days: list[dict], entries: Iterable[dict],
                        level: str) -> PerformanceChanges:
    """Next week's per-exercise changes from last week's plan days and its entries."""
    entries = list(entries)
    items: dict[str, dict] = {}
    for day in previous_days or []:
        for item in day.get("exercises", []):
            items.setdefault(item["exercise_id"], item)
    by_ex: dict[str, list[dict]] = {}
    for e in entries:
        by_ex.setdefault(e["exercise_id"], []).append(e)
    factors: dict[str, float] = {}
    reasons: dict[str, tuple[str, ...]] = {}
    discomfort: set[str] = set()
    notes: list[str] = []
    for ex_id, ex_entries in sorted(by_ex.items()):
        item = items.get(ex_id)
        if item is None:
            continue
        name = item.get("name") or ex_id
        pains = [e for e in ex_entries if e.get("pain") is not None]
        if pains and max(int(e["pain"]) for e in pains) >= PAIN_THRESHOLD:
            worst = max(int(e["pain"]) for e in pains)
            discomfort.add(ex_id)
            notes.append(f"you reported pain {worst}/10 during {name} last week (threshold "
                         f"{PAIN_THRESHOLD}/10): it is replaced by an easier exercise")
            continue
        factor, why = _exercise_change(name, item, ex_entries, level)
        if why:
            factors[ex_id] = factor
            reasons[ex_id] = tuple(why)
            notes.extend(why)
    return PerformanceChanges(factors, reasons, frozenset(discomfort), tuple(notes))


# -- adherence ------------------------------------------------------------------------------

def adherence(plans: Iterable[dict], entries: Iterable[dict], *, last_pains: int = 5) -> dict:
    """Adherence over the given plans (dicts with ``id``, ``week``, ``days``) and the entries of
    those plans (each with its ``plan_id``).

    ``sessions``: prescribed training days, and those completed; ``repetitions``: prescribed
    repetitions of the days and those done (valid entries, counted up to the prescription per
    item); ``rom_trend``: per checked exercise, its measured range in time order; ``pain``: the
    last reported ratings."""
    plans = list(plans)
    entries = list(entries)
    by_plan_day: dict[tuple, list[dict]] = {}
    for e in entries:
        by_plan_day.setdefault((e.get("plan_id"), e["day"], e["exercise_id"]), []).append(e)
    sessions = done_sessions = 0
    reps_prescribed = reps_done = 0
    for plan in plans:
        for day in plan.get("days", []):
            sessions += 1
            done_sessions += bool(day.get("completed"))
            for item in day.get("exercises", []):
                if not item.get("reps"):
                    continue
                target = int(item.get("sets") or 1) * int(item["reps"])
                reps_prescribed += target
                got = sum(int(e.get("reps") or 0) for e in by_plan_day.get(
                    (plan["id"], day["day"], item["exercise_id"]), []) if e.get("valid"))
                reps_done += min(got, target)
    trend: dict[str, list[dict]] = {}
    week_of = {p["id"]: p.get("week") for p in plans}
    for e in entries:
        if e["source"] == "camera" and e.get("valid") and e.get("rom_deg") is not None:
            trend.setdefault(e["exercise_id"], []).append({
                "at": e.get("created_at"), "week": week_of.get(e.get("plan_id")),
                "day": e["day"], "rom_deg": e["rom_deg"], "rom_ratio": e.get("rom_ratio")})
    pains = [{"at": e.get("created_at"), "exercise_id": e["exercise_id"], "pain": e["pain"],
              "week": week_of.get(e.get("plan_id")), "day": e["day"]}
             for e in entries if e.get("pain") is not None][-last_pains:][::-1]
    return {
        "sessions": {"prescribed": sessions, "completed": done_sessions,
                     "share": round(done_sessions / sessions, 3) if sessions else None},
        "repetitions": {"prescribed": reps_prescribed, "done": reps_done,
                        "share": round(reps_done / reps_prescribed, 3)
                        if reps_prescribed else None},
        "camera_checks": len([e for e in entries if e["source"] == "camera"]),
        "self_reports": len([e for e in entries if e["source"] == "self"]),
        "rom_trend": {k: {"points": v, "change_deg": round(v[-1]["rom_deg"] - v[0]["rom_deg"], 1)
                          if len(v) > 1 else None} for k, v in sorted(trend.items())},
        "last_pain": pains,
    }
