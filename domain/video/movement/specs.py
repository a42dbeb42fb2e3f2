"""Movement specifications of the library exercises (``data/camera_checks.json``).

One entry per library exercise id. A checkable one (``supported: true``) says

* ``kind``: ``reps`` (repetitions of a movement) or ``hold`` (time in a position);
* ``view`` to film from (``side`` / ``front``) and ``views_ok``, the detected views in which the
  measured quantity is visible (a knee bend is foreshortened from the front);
* ``signal``: the per-frame quantity that defines one repetition (or the held position), e.g.
  ``{"measure": "flexion", "joint": "knee", "side": "mean"}`` (see :mod:`.signals`);
* ``rom``: the range-of-motion quantity, its unit and the expected range per fitness level;
  ``hold``: the position's target interval per level (and ``steady`` tolerances);
* ``form``: the form engine's criteria family and the criteria that apply;
* ``measures`` (what the API lists) and patient-facing ``instructions``.

Others say ``supported: false`` and why. :func:`load_camera_checks` validates the file with
:class:`CameraCheckFileSchema` and raises ``ValueError`` naming the entry and field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import marshmallow as ma

from domain.datafiles import load_json_cached

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "data" / "camera_checks.json"
LEVELS: tuple[str, ...] = ("beginner", "intermediate", "advanced")
VIEWS: tuple[str, ...] = ("front", "side", "three_quarter")
KINDS: tuple[str, ...] = ("reps", "hold")
MEASURES: tuple[str, ...] = ("flexion", "elevation", "inclination", "rise", "separation",
                             "lateral_shift", "knee_lift", "body_line")
SIDES: tuple[str, ...] = ("left", "right", "mean", "max", "min", "moving")
JOINTS: tuple[str, ...] = ("knee", "hip", "elbow", "shoulder")
SEGMENTS: tuple[str, ...] = ("thigh", "shin", "trunk", "upper_arm")
POINTS: tuple[str, ...] = ("hip", "shoulder", "knee", "trunk", "nose")
PARTS: tuple[str, ...] = ("thighs", "ankles_x", "ankles_y", "ankles_xy")


class _Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class SignalSchema(_Strict):
    measure = ma.fields.String(required=True, validate=ma.validate.OneOf(MEASURES))
    joint = ma.fields.String(validate=ma.validate.OneOf(JOINTS))
    segment = ma.fields.String(validate=ma.validate.OneOf(SEGMENTS))
    point = ma.fields.String(validate=ma.validate.OneOf(POINTS))
    parts = ma.fields.String(validate=ma.validate.OneOf(PARTS))
    side = ma.fields.String(validate=ma.validate.OneOf(SIDES))
    toward = ma.fields.String(validate=ma.validate.OneOf(("max", "min")), load_default="max")

    @ma.validates_schema
    def _needs(self, data, **_kw):
        need = {"flexion": "joint", "elevation": "joint", "inclination": "segment",
                "rise": "point", "separation": "parts"}.get(data["measure"])
        if need and need not in data:
            raise ma.ValidationError(f"'{data['measure']}' needs '{need}'", need)


def _per_level(value_field: ma.fields.Field) -> ma.fields.Dict:
    return ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.OneOf(LEVELS)),
                          values=value_field, required=True,
                          validate=lambda d: set(d) == set(LEVELS) or _fail("every level"))


def _fail(what: str):
    raise ma.ValidationError(f"must give {what}")


def _interval(value) -> bool:
    if not (isinstance(value, list) and len(value) == 2 and value[0] <= value[1]):
        raise ma.ValidationError("must be [low, high] with low <= high")
    return True


class RomSchema(_Strict):
    name = ma.fields.String(required=True)
    unit = ma.fields.String(required=True)
    signal = ma.fields.Nested(SignalSchema, required=True)
    expected = _per_level(ma.fields.Float(validate=ma.validate.Range(min=0)))


class SteadySchema(_Strict):
    measure = ma.fields.String(required=True, validate=ma.validate.OneOf(("body_line",)))
    max_abs = ma.fields.Float(required=True, validate=ma.validate.Range(min=0))
    unit = ma.fields.String()


class HoldSchema(_Strict):
    name = ma.fields.String(required=True)
    unit = ma.fields.String(required=True)
    target = _per_level(ma.fields.List(ma.fields.Float(), validate=_interval))
    steady = ma.fields.List(ma.fields.Nested(SteadySchema), load_default=list)


class FormSchema(_Strict):
    family = ma.fields.String(required=True)
    criteria = ma.fields.List(ma.fields.String(), required=True)


class CameraCheckSchema(_Strict):
    supported = ma.fields.Boolean(required=True)
    reason = ma.fields.String()
    kind = ma.fields.String(validate=ma.validate.OneOf(KINDS))
    view = ma.fields.String(validate=ma.validate.OneOf(("side", "front")))
    views_ok = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(VIEWS)))
    signal = ma.fields.Nested(SignalSchema)
    rom = ma.fields.Nested(RomSchema)
    hold = ma.fields.Nested(HoldSchema)
    min_amplitude = ma.fields.Float(validate=ma.validate.Range(min=0, min_inclusive=False))
    min_rep_s = ma.fields.Float(validate=ma.validate.Range(min=0.1, max=10))
    form = ma.fields.Nested(FormSchema)
    measures = ma.fields.List(ma.fields.String())
    instructions = ma.fields.String()
    note = ma.fields.String()

    @ma.validates_schema
    def _consistent(self, data, **_kw):
        if not data["supported"]:
            if not data.get("reason", "").strip():
                raise ma.ValidationError("an unsupported exercise needs a 'reason'", "reason")
            return
        for key in ("kind", "view", "views_ok", "signal", "measures", "instructions"):
            if not data.get(key):
                raise ma.ValidationError(f"a supported exercise needs '{key}'", key)
        if data["kind"] == "reps" and not ("rom" in data and "min_amplitude" in data):
            raise ma.ValidationError("a repetition check needs 'rom' and 'min_amplitude'", "rom")
        if data["kind"] == "hold" and "hold" not in data:
            raise ma.ValidationError("a hold check needs 'hold'", "hold")
        if data["view"] not in data["views_ok"]:
            raise ma.ValidationError("'views_ok' must include the filming 'view'", "views_ok")
        if len(data["instructions"]) < 40:
            raise ma.ValidationError("instructions too short for a patient", "instructions")


class CameraCheckFileSchema(_Strict):
    version = ma.fields.Integer(required=True, validate=ma.validate.Equal(1))
    exercises = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(CameraCheckSchema),
                               required=True)


@dataclass(frozen=True)
class CameraCheck:
    """One exercise's movement specification (see the module doc)."""

    exercise_id: str
    supported: bool
    reason: str | None = None
    kind: str | None = None
    view: str | None = None
    views_ok: tuple[str, ...] = ()
    signal: dict = field(default_factory=dict)
    rom: dict | None = None
    hold: dict | None = None
    min_amplitude: float | None = None
    min_rep_s: float | None = None
    form: dict | None = None
    measures: tuple[str, ...] = ()
    instructions: str | None = None
    note: str | None = None

    def measures_detail(self) -> list[dict]:
        """``measures`` for programs: ``{kind, name, unit, signal, joint}`` per measure string
        (``repetitions``, ``hold_time``, ``range_of_motion:<name>``, ``position:<name>``); the
        signal is the per-frame quantity measured (``flexion`` of ``joint``, ``separation``
        ...), the unit the range's or position's own."""
        quantity = {"range_of_motion": self.rom, "position": self.hold}
        out = []
        for measure in self.measures:
            kind, _, name = measure.partition(":")
            if kind in quantity:
                spec = quantity[kind] or {}
                out.append({"kind": kind, "name": name or spec.get("name"),
                            "unit": spec.get("unit"), "signal": self.signal.get("measure"),
                            "joint": self.signal.get("joint")})
            else:
                out.append({"kind": kind, "name": None,
                            "unit": {"repetitions": "count", "hold_time": "s"}.get(kind),
                            "signal": None, "joint": None})
        return out

    def summary(self) -> dict:
        """The API's ``camera_check`` object."""
        if not self.supported:
            return {"supported": False, "view": None, "measures": [], "measures_detail": [],
                    "instructions": None, "reason": self.reason}
        out = {"supported": True, "kind": self.kind, "view": self.view,
               "measures": list(self.measures), "measures_detail": self.measures_detail(),
               "instructions": self.instructions}
        if self.rom:
            out["range_of_motion"] = {"name": self.rom["name"], "unit": self.rom["unit"],
                                      "expected": dict(self.rom["expected"])}
        if self.hold:
            out["position"] = {"name": self.hold["name"], "unit": self.hold["unit"],
                               "target": {k: list(v) for k, v in self.hold["target"].items()}}
        return out


def parse_camera_checks(data) -> dict[str, CameraCheck]:
    try:
        loaded = CameraCheckFileSchema().load(data)
    except ma.ValidationError as exc:
        raise ValueError(f"camera checks: {exc.messages}") from exc
    out = {}
    for ex_id, d in loaded["exercises"].items():
        out[ex_id] = CameraCheck(
            exercise_id=ex_id, supported=d["supported"], reason=d.get("reason"),
            kind=d.get("kind"), view=d.get("view"), views_ok=tuple(d.get("views_ok", ())),
            signal=d.get("signal") or {}, rom=d.get("rom"), hold=d.get("hold"),
            min_amplitude=d.get("min_amplitude"), min_rep_s=d.get("min_rep_s"),
            form=d.get("form"), measures=tuple(d.get("measures", ())),
            instructions=d.get("instructions"), note=d.get("note"))
    return out


def load_camera_checks(path: str | Path | None = None) -> dict[str, CameraCheck]:
    """{exercise id: CameraCheck}, validated, cached per path and mtime."""
    p = Path(path) if path is not None else DEFAULT_PATH
    return dict(load_json_cached(p, parse_camera_checks))
