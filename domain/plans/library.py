"""Exercise library: the ``Exercise`` record, loading/validation of ``data/exercises.json`` and
the filter used by ``GET /api/v1/exercises``."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from domain.datafiles import load_json_cached

from .profile import EQUIPMENT, INJURIES, LEVEL_DIFFICULTY_CEILING, effective_equipment

DEFAULT_LIBRARY_PATH = Path(__file__).resolve().parents[2] / "data" / "exercises.json"

CATEGORIES: tuple[str, ...] = (
    "mobility", "strength", "balance", "plyometrics", "cardio", "stretching",
)
MUSCLE_GROUPS: tuple[str, ...] = (
    "quadriceps", "hamstrings", "glutes", "calves", "core", "hip_abductors", "hip_adductors",
    "hip_flexors", "ankle", "tibialis", "foot_intrinsics", "lower_back", "full_body",
)
CHAINS: tuple[str | None, ...] = ("closed", "open", None)
IMPACTS: tuple[str, ...] = ("none", "low", "high")
PHASES: tuple[int | None, ...] = (1, 2, 3, 4, None)
TAGS: tuple[str, ...] = (
    "isometric", "eccentric", "unilateral", "pivoting", "deep_flexion", "jumping",
    "warmup", "cooldown",
)
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Exercise:
    id: str
    name: str
    description: str
    instructions: tuple[str, ...]
    category: str
    muscle_groups: tuple[str, ...]
    equipment: tuple[str, ...]
    difficulty: int
    chain: str | None
    impact: str
    suitable_for: tuple[str, ...]
    contraindicated_for: tuple[str, ...]
    phase: int | None
    default_sets: int
    default_reps: int | None
    default_duration_s: int | None
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    def needs_missing_equipment(self, equipment) -> bool:
        have = effective_equipment(equipment)
        return any(e not in have for e in self.equipment)


def _str_list(entry: dict, key: str, allowed, where: str, *, allow_empty=True) -> tuple:
    value = entry.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: '{key}' must be a list of strings")
    if not allow_empty and not value:
        raise ValueError(f"{where}: '{key}' must not be empty")
    if allowed is not None:
        bad = [v for v in value if v not in allowed]
        if bad:
            raise ValueError(
                f"{where}: '{key}' has unknown value(s) {bad}; allowed {list(allowed)}"
            )
    return tuple(value)


def _opt_pos_int(entry: dict, key: str, where: str) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{where}: '{key}' must be a positive integer or null")
    return value


def parse_exercise(entry: dict, index: int = 0) -> Exercise:
    """Validate one library entry; raises ``ValueError`` naming the entry and the field."""
    if not isinstance(entry, dict):
        raise ValueError(f"entry #{index}: must be an object")
    ex_id = entry.get("id")
    where = f"exercise #{index} ({ex_id!r})"
    if not isinstance(ex_id, str) or not _ID_RE.match(ex_id):
        raise ValueError(f"{where}: 'id' must be a lowercase slug like 'quad-sets'")
    for key in ("name", "description"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise ValueError(f"{where}: '{key}' must be a non-empty string")
    instructions = _str_list(entry, "instructions", None, where, allow_empty=False)
    if entry.get("category") not in CATEGORIES:
        raise ValueError(f"{where}: 'category' must be one of {list(CATEGORIES)}")
    muscles = _str_list(entry, "muscle_groups", MUSCLE_GROUPS, where, allow_empty=False)
    equipment = _str_list(entry, "equipment", EQUIPMENT, where)
    difficulty = entry.get("difficulty")
    if isinstance(difficulty, bool) or difficulty not in (1, 2, 3, 4, 5):
        raise ValueError(f"{where}: 'difficulty' must be an integer 1-5")
    if entry.get("chain") not in CHAINS:
        raise ValueError(f"{where}: 'chain' must be 'closed', 'open' or null")
    if entry.get("impact") not in IMPACTS:
        raise ValueError(f"{where}: 'impact' must be one of {list(IMPACTS)}")
    suitable = _str_list(entry, "suitable_for", INJURIES, where, allow_empty=False)
    contra = _str_list(entry, "contraindicated_for", INJURIES, where)
    overlap = set(suitable) & set(contra)
    if overlap:
        raise ValueError(f"{where}: injuries {sorted(overlap)} both suitable and contraindicated")
    phase = entry.get("phase")
    if isinstance(phase, bool) or phase not in PHASES:
        raise ValueError(f"{where}: 'phase' must be 1-4 or null")
    sets = entry.get("default_sets")
    if isinstance(sets, bool) or not isinstance(sets, int) or not 1 <= sets <= 10:
        raise ValueError(f"{where}: 'default_sets' must be an integer 1-10")
    reps = _opt_pos_int(entry, "default_reps", where)
    duration = _opt_pos_int(entry, "default_duration_s", where)
    if reps is None and duration is None:
        raise ValueError(f"{where}: needs 'default_reps' or 'default_duration_s'")
    tags = _str_list({"tags": entry.get("tags", [])}, "tags", TAGS, where)
    return Exercise(
        id=ex_id,
        name=entry["name"].strip(),
        description=entry["description"].strip(),
        instructions=instructions,
        category=entry["category"],
        muscle_groups=muscles,
        equipment=equipment,
        difficulty=difficulty,
        chain=entry.get("chain"),
        impact=entry["impact"],
        suitable_for=suitable,
        contraindicated_for=contra,
        phase=phase,
        default_sets=sets,
        default_reps=reps,
        default_duration_s=duration,
        tags=tags,
    )


def parse_library(data) -> list[Exercise]:
    if not isinstance(data, list) or not data:
        raise ValueError("exercise library must be a non-empty JSON list")
    exercises = [parse_exercise(entry, i) for i, entry in enumerate(data)]
    seen: set[str] = set()
    for ex in exercises:
        if ex.id in seen:
            raise ValueError(f"duplicate exercise id {ex.id!r}")
        seen.add(ex.id)
    return exercises


def load_library(path: str | Path | None = None) -> list[Exercise]:
    """Load and validate the library (cached per path and mtime). Raises ``ValueError``."""
    p = Path(path) if path is not None else DEFAULT_LIBRARY_PATH
    return list(load_json_cached(p, parse_library))


def by_id(exercises) -> dict[str, Exercise]:
    return {e.id: e for e in exercises}


def _level_ceiling(level) -> int | None:
    if level is None or level == "":
        return None
    if isinstance(level, str):
        if level in LEVEL_DIFFICULTY_CEILING:
            return LEVEL_DIFFICULTY_CEILING[level]
        if level.isdigit():
            return int(level)
        raise ValueError(f"level must be 1-5 or one of {list(LEVEL_DIFFICULTY_CEILING)}")
    return int(level)


def filter_exercises(
    exs,
    injury: str | None = None,
    equipment: list[str] | None = None,
    category: str | None = None,
    muscle: str | None = None,
    level: int | str | None = None,
    q: str | None = None,
) -> list[Exercise]:
    """Filter the library.

    - ``injury``: exercises suitable for that injury and not contraindicated for it.
    - ``equipment``: what the user *has*; keeps exercises whose required equipment is all
      available (``[]`` keeps bodyweight only; ``gym`` covers everything).
    - ``category`` / ``muscle``: exact match on the category / one of the muscle groups.
    - ``level``: maximum difficulty (1-5) or a fitness level name (its difficulty ceiling).
    - ``q``: case-insensitive substring of id, name or description.
    """
    ceiling = _level_ceiling(level)
    needle = q.strip().lower() if q else None
    out = []
    for e in exs:
        if injury and (injury not in e.suitable_for or injury in e.contraindicated_for):
            continue
        if equipment is not None and e.needs_missing_equipment(equipment):
            continue
        if category and e.category != category:
            continue
        if muscle and muscle not in e.muscle_groups:
            continue
        if ceiling is not None and e.difficulty > ceiling:
            continue
        if needle and not (
            needle in e.id or needle in e.name.lower() or needle in e.description.lower()
        ):
            continue
        out.append(e)
    return out


def camera_check_summaries(path: str | Path | None = None) -> dict[str, dict]:
    """{exercise id: the API's ``camera_check`` object} from ``data/camera_checks.json`` (the
    reviewed movement specifications; see ``domain/video/movement/specs.py``)."""
    from domain.video.movement.specs import load_camera_checks

    return {ex_id: check.summary() for ex_id, check in load_camera_checks(path).items()}


UNCHECKED = {"supported": False, "view": None, "measures": [], "instructions": None,
             "reason": "No movement specification has been reviewed for this exercise yet."}
