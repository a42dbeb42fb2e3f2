"""`flask ml eval-camera-checks`: the camera checks of library exercises measured on real
(UTD-MHAD) and synthetic movement."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from config import settings
from web.cli_groups import ml_cli

COMMANDS: tuple = ()


def _markdown(res: dict) -> str:
    lines = ["# Camera checks: measured on real and synthetic movement", "",
             f"Written {res['created_at']} by `flask ml eval-camera-checks` (seed {res['seed']}).",
             "", res["method"], "",
             "| exercise | source | view | n | reps MAE | within one | ROM MAE (bias) | "
             "hold MAE s (bias) |", "|---|---|---|---|---|---|---|---|"]
    for ex, entry in res["exercises"].items():
        for src, d in entry.items():
            if not isinstance(d, dict):
                continue
            for view, s in d["by_view"].items():
                rom = (f"{s['rom_mae']} ({s['rom_bias']:+})" if "rom_mae" in s else "–")
                hold = (f"{s['hold_mae_s']} ({s['hold_bias_s']:+})" if "hold_mae_s" in s
                        else ("not measured" if s.get("hold_not_measured") else "–"))
                lines.append(f"| {ex} | {src} | {view} | {s['n']} | {s.get('rep_mae', '–')} | "
                             f"{s.get('rep_within_one', '–')} | {rom} | {hold} |")
    lines += ["", "Same specification as a validated exercise: " + ", ".join(
        f"{ex} → {e['same_specification_as']}" for ex, e in res["exercises"].items()
        if "same_specification_as" in e), ""]
    return "\n".join(lines)


@ml_cli.command("eval-camera-checks")
@click.option("--output-dir", type=click.Path(file_okay=False), default=None,
              help="Default: <artifacts>/camera_checks.")
@click.option("--seed", type=int, default=0)
@click.option("--synthetic-seeds", type=int, default=6, show_default=True)
def eval_camera_checks(output_dir: str | None, seed: int, synthetic_seeds: int) -> None:
    """Repetition count, range of motion and hold time of the library's camera checks on
    UTD-MHAD people (projected, YOLO-like noise) and synthetic movement; writes metrics.json
    and metrics.md."""
    from domain.video.movement.evaluation import (
        plank_cases,
        pose_trainer_curl_cases,
        summarize,
        synthetic_cases,
        utd_cases,
    )

    cases = (utd_cases(seed=seed) + pose_trainer_curl_cases(seed=seed) + plank_cases()
             + synthetic_cases(seeds=synthetic_seeds))
    res = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "seed": seed,
        "method": ("Real: UTD-MHAD subjects 1-6 (sit-to-stand, stand-to-sit, squat, lunge, arm "
                   "curl), each trial from the front, 45 degrees and the side with YOLO-like "
                   "noise at 10 fps, and 2-4 trials of one subject joined; ROM truth = the same "
                   "joint angle on the Kinect 3-D skeleton. Real curls: Pose Trainer side-view "
                   "files (OpenPose), one repetition each and 2-5 joined. Real planks: "
                   "Exercise-Correction runs (MediaPipe, frame labels; hold truth = the run's "
                   "length when labelled correct, 0 when hips high or low; the band was set "
                   "looking at these frames). Synthetic: domain/video/movement/"
                   "synthetic.py templates with 3-D truth, 1-5 repetitions or one hold, from "
                   "the specification's view, three-quarter and the other view. ROM is reported "
                   "only from the specification's view; holds only from a view it allows."),
        "exercises": summarize(cases),
        "cases": [{"exercise": c.exercise, "source": c.source, "name": c.name, "view": c.view,
                   "truth_reps": c.truth_reps, "counted": c.counted,
                   "rom_true": None if c.rom_true is None else round(c.rom_true, 1),
                   "rom_measured": c.rom_measured, "hold_true": c.hold_true,
                   "hold_measured": c.hold_measured, **c.meta} for c in cases],
    }
    out = Path(output_dir) if output_dir else settings.artifacts_dir / "camera_checks"
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(res, indent=1))
    (out / "metrics.md").write_text(_markdown(res))
    click.echo(f"{len(cases)} cases; wrote {out / 'metrics.json'} and metrics.md")


def _form_motion_markdown(res: dict) -> str:
    lines = ["# Squat and lunge form criteria on real 3-D motion (UTD-MHAD)", "",
             f"Written {res['created_at']} by `flask ml eval-form-motion` (seed {res['seed']}, "
             f"form model {res['form_model']}).", "", res["method"], "",
             "| exercise | view | as done: n, flagged, uncertain | injected fault → criterion: "
             "caught where the view shows it (ROC AUC of 1 − score) |", "|---|---|---|---|"]
    for ex, entry in res["exercises"].items():
        for view, v in entry["by_view"].items():
            done = v["as_done"]
            faults = "; ".join(
                f"{name} → {f['criterion']}: "
                + (f"{f['caught']:.0%} (AUC {f['roc_auc']:.2f})"
                   if f["caught"] is not None and f["roc_auc"] is not None
                   else "not judged from this view")
                for name, f in v["faults"].items())
            lines.append(f"| {ex} | {view} | {done['n']}, {done['flagged']:.0%}, "
                         f"{done['uncertain']:.0%} | {faults} |")
    lines += ["", "Fault on some repetitions only (a subject's 4 trials joined, the fault in "
              "the 2nd and 4th):", "", "| exercise | fault | view | subjects | findings on "
              "exactly the faulty repetitions |", "|---|---|---|---|---|"]
    for j in res["joined"]:
        lines.append(f"| {j['exercise']} | {j['fault']} | {j['view']} | {j['n']} | "
                     f"{j['exact']}/{j['n']} |")
    return "\n".join(lines) + "\n"


@ml_cli.command("eval-form-motion")
@click.option("--output-dir", type=click.Path(file_okay=False), default=None,
              help="Default: <artifacts>/form/real_motion.")
@click.option("--seed", type=int, default=0)
def eval_form_motion(output_dir: str | None, seed: int) -> None:
    """Squat and lunge form criteria on UTD-MHAD's real 3-D motion as done and with faults
    injected (knees caving in, half depth, forward lean, knee past toes), seen from the front,
    three-quarter and side; writes metrics.json and metrics.md."""
    from domain.video.datasets import utd_mhad
    from domain.video.form import FormModel
    from domain.video.form import real_motion as R

    model_dir = settings.artifacts_dir / "form" / settings.form_model_version
    model = FormModel.load(model_dir) if model_dir.exists() else None
    trials = utd_mhad.load_trials()
    res = R.evaluate(trials, seed=seed, model=model)
    res.update(created_at=datetime.now(UTC).isoformat(timespec="seconds"), seed=seed,
               form_model=model.version if model else "none (thresholds)", joined=[])
    for ex, fault, yaw, el in (("squat", "knees_in", 0.0, 8.0),
                               ("squat", "lean_forward", 90.0, 5.0),
                               ("squat", "half_depth", 90.0, 5.0),
                               ("lunge", "knee_past_toes", 90.0, 5.0)):
        by_subject: dict[int, list] = {}
        for t in trials:
            if t.action == ex:
                by_subject.setdefault(t.subject, []).append(t)
        runs = [R.joined_check(ts, ex, fault, yaw, el, {1, 3}, seed=seed + s, model=model)
                for s, ts in sorted(by_subject.items())]
        res["joined"].append({
            "exercise": ex, "fault": fault, "view": "front" if yaw == 0 else "side",
            "n": len(runs), "exact": sum(r["flagged_reps"] == r["expected"] for r in runs),
            "runs": runs})
    out = Path(output_dir) if output_dir else settings.artifacts_dir / "form" / "real_motion"
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(res, indent=1))
    (out / "metrics.md").write_text(_form_motion_markdown(res))
    click.echo(_form_motion_markdown(res))
