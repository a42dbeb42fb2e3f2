"""User profile for plan generation and the allowed values the web layer validates against."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SEXES: tuple[str, ...] = ("male", "female", "other")
FITNESS_LEVELS: tuple[str, ...] = ("beginner", "intermediate", "advanced")
INJURIES: tuple[str, ...] = ("acl", "meniscus", "achilles", "none")
#: Equipment a user can own.  ``gym`` (a gym subscription) implies access to all the others.
EQUIPMENT: tuple[str, ...] = (
    "resistance_band",
    "dumbbells",
    "gym",
    "step",
    "foam_roller",
    "mat",
    "chair",
)
FEEDBACK_RATINGS: tuple[str, ...] = ("easy", "doable", "too_difficult", "discomfort")

#: Highest exercise difficulty (1-5) a fitness level may be given.  This is a hard guardrail in
#: plan building.  Beginners (including early-rehab users) only get difficulty 1-2 (isometrics,
#: range of motion, basic bodyweight work); intermediate users up to 3 (loaded or unilateral
#: work, no plyometrics of difficulty 4+); advanced users everything, including plyometrics.
#: Intermediate is deliberately 3 rather than 4: in a self-guided rehab app it is safer to make
#: the step to heavy/explosive work only after the "easy" feedback has promoted the user.
LEVEL_DIFFICULTY_CEILING: dict[str, int] = {"beginner": 2, "intermediate": 3, "advanced": 5}

AGE_RANGE = (13, 100)
HEIGHT_RANGE_CM = (100.0, 230.0)
WEIGHT_RANGE_KG = (30.0, 250.0)
WORKOUTS_RANGE = (1, 7)


def effective_equipment(equipment) -> frozenset[str]:
    """What the user can actually use: a gym subscription covers every equipment item."""
    have = frozenset(equipment or ())
    if "gym" in have:
        return frozenset(EQUIPMENT)
    return have


@dataclass
class Profile:
    sex: str
    age: int
    height_cm: float
    weight_kg: float
    fitness_level: str
    injury: str
    equipment: list[str] = field(default_factory=list)
    workouts_per_week: int = 3

    def __post_init__(self) -> None:
        errors = self.validation_errors()
        if errors:
            raise ValueError("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.equipment = sorted(set(self.equipment))

    def validation_errors(self) -> dict[str, str]:
        """Field -> message for every invalid field (empty dict when valid)."""
        errs: dict[str, str] = {}
        if self.sex not in SEXES:
            errs["sex"] = f"must be one of {', '.join(SEXES)}"
        if self.fitness_level not in FITNESS_LEVELS:
            errs["fitness_level"] = f"must be one of {', '.join(FITNESS_LEVELS)}"
        if self.injury not in INJURIES:
            errs["injury"] = f"must be one of {', '.join(INJURIES)}"
        if not isinstance(self.equipment, (list, tuple, set, frozenset)):
            errs["equipment"] = "must be a list"
        else:
            bad = [e for e in self.equipment if e not in EQUIPMENT]
            if bad:
                errs["equipment"] = f"unknown item(s) {bad}; allowed: {', '.join(EQUIPMENT)}"
        for name, (lo, hi) in (
            ("age", AGE_RANGE),
            ("height_cm", HEIGHT_RANGE_CM),
            ("weight_kg", WEIGHT_RANGE_KG),
            ("workouts_per_week", WORKOUTS_RANGE),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                errs[name] = "must be a number"
            elif not lo <= value <= hi:
                errs[name] = f"must be between {lo} and {hi}"
        wpw = self.workouts_per_week
        if "workouts_per_week" not in errs and int(wpw) != wpw:
            errs["workouts_per_week"] = "must be an integer"
        return errs

    @property
    def bmi(self) -> float:
        h = self.height_cm / 100.0
        return round(self.weight_kg / (h * h), 1)

    @property
    def available_equipment(self) -> frozenset[str]:
        return effective_equipment(self.equipment)

    @classmethod
    def from_dict(cls, data: dict) -> Profile:
        """Build from a mapping, ignoring unknown keys (e.g. ``bmi``, ``id``)."""
        keys = (
            "sex", "age", "height_cm", "weight_kg", "fitness_level", "injury",
            "equipment", "workouts_per_week",
        )
        kwargs = {k: data[k] for k in keys if k in data}
        kwargs["equipment"] = list(kwargs.get("equipment") or [])
        return cls(**kwargs)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["bmi"] = self.bmi
        return d
