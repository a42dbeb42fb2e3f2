"""`flask references load` and `flask ml train-classifier`."""

from __future__ import annotations

import hashlib
import json

import click
import numpy as np
from flask.cli import AppGroup
from sqlalchemy import func, select

from config import settings
from models import Reference
from models.db import session_scope
from web.cli_groups import ml_cli, next_version

references_cli = AppGroup("references", help="The expert reference library.")


@references_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when references already exist.")
def load_references(if_empty: bool) -> None:
    """Store the default expert references (synthetic perfect form, real push-ups)."""
    from domain.video.references import build_default_references

    with session_scope() as session:
        if if_empty and session.scalar(select(func.count()).select_from(Reference)
                                       .where(Reference.clinic_id.is_(None))):
            click.echo("references already loaded")
            return
        references = build_default_references(
            pushfit_dir=settings.shared_data_dir / "pushfit_sample")
        for ref in references:
            ref_id = hashlib.sha256(f"default:{ref.name}".encode()).hexdigest()[:32]
            row = session.get(Reference, ref_id) or Reference(id=ref_id)
            row.exercise, row.name, row.view, row.source = (ref.exercise, ref.name, ref.view,
                                                            ref.source)
            row.fps, row.width, row.height = ref.fps, ref.width, ref.height
            row.keypoints = np.nan_to_num(ref.keypoints, nan=0.0).round(2).tolist()
            row.meta = {"default": True}
            session.add(row)
    click.echo(f"loaded {len(references)} references")


@ml_cli.command("train-classifier")
@click.option("--version", "version", default=None, help="Artifact version (default: next).")
@click.option("--epochs", type=int, default=14, show_default=True)
@click.option("--synthetic-per-class", type=int, default=60, show_default=True)
@click.option("--max-penn", type=int, default=None,
              help="Use at most this many sequences of each real source (a quick trial run).")
@click.option("--seed", type=int, default=0)
def train_classifier(version: str | None, epochs: int, synthetic_per_class: int,
                     max_penn: int | None, seed: int) -> None:
    """Train the GRU + attention classifier on real keypoints (Penn Action, UTD-MHAD projected,
    Pose Trainer, PushFit through the project's pose) and synthetic sequences; validate per class
    on held-out real data (run `flask ml extract-keypoints` first for PushFit)."""
    from domain.video.training import train_classifier as train

    root = settings.artifacts_dir / "classifier"
    version = version or next_version(root, "classifier-v")
    metrics = train(root, version, seed=seed, epochs=epochs,
                    synthetic_per_class=synthetic_per_class,
                    synthetic_val_per_class=min(30, synthetic_per_class),
                    max_penn_train=max_penn, max_real=max_penn, verbose=0)
    click.echo(json.dumps({k: v for k, v in metrics.items() if not isinstance(v, dict | list)},
                          indent=1, default=str))
    click.echo(f"wrote {root / version}; activate it with CLASSIFIER_VERSION={version}")


@ml_cli.command("extract-keypoints")
@click.option("--dataset", type=click.Choice(["pushfit", "all"]), default="all",
              show_default=True)
@click.option("--limit", type=int, default=None, help="Pose at most this many videos (a trial).")
def extract_keypoints(dataset: str, limit: int | None) -> None:
    """Run the project's pose path on the real labelled videos (PushFit) once and cache the
    keypoints in var/datasets/; list every real keypoint data set with its split sizes."""
    from domain.video.datasets import exercise_correction, pose_trainer, pushfit, split

    cache = pushfit.extract(limit=limit, progress=lambda i, n, name: click.echo(
        f"  posed {name} ({i}/{n})"))
    click.echo(f"pushfit keypoints cached in {cache}")
    sets = {"pushfit": list(pushfit.load(cache))}
    if dataset == "all":
        sets["pose_trainer"] = list(pose_trainer.load())
        sets["exercise_correction"] = list(exercise_correction.load())
    for name, samples in sets.items():
        train, val = split(samples)
        click.echo(f"{name}: {len(samples)} sequences, train {len(train)}, "
                   f"validation {len(val)}")


@ml_cli.command("train-form")
@click.option("--version", "version", default=None, help="Artifact version (default: next).")
def train_form(version: str | None) -> None:
    """Calibrate the form criteria and train the per-exercise form models on the real labelled
    executions (PushFit through the project's pose, Pose Trainer, Exercise-Correction); the
    metrics are measured on a held-out split by video / source / run."""
    from domain.video.datasets import pushfit
    from domain.video.form.training import train_form as train

    pushfit.extract(progress=lambda i, n, name: click.echo(f"  posed {name} ({i}/{n})"))
    root = settings.artifacts_dir / "form"
    version = version or next_version(root, "form-v")
    metrics = train(root, version, progress=click.echo)
    for fam, entry in metrics["families"].items():
        click.echo(f"{fam}: held-out {json.dumps(entry.get('validation'))}")
    click.echo(f"wrote {root / version}; activate it with FORM_MODEL_VERSION={version}")


@ml_cli.command("eval-reps")
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="Metrics JSON (default: <artifacts>/reps/metrics.json).")
@click.option("--classifier/--no-classifier", "use_classifier", default=True, show_default=True,
              help="Also count with the active classifier's label (the pipeline's path).")
@click.option("--seed", type=int, default=0)
def eval_reps(output: str | None, use_classifier: bool, seed: int) -> None:
    """Count repetitions on real sequences with a known count (UTD-MHAD trials and
    concatenations, Pose Trainer repetitions) without an exercise hint; write MAE and the
    share within one repetition."""
    from datetime import UTC, datetime
    from pathlib import Path

    from domain.video.rep_eval import build_cases, evaluate

    cases = build_cases(seed=seed)
    modes: tuple[str, ...] = ("no_hint", "true_exercise")
    clf = None
    if use_classifier:
        from domain.video.classifier import ExerciseClassifier

        clf = ExerciseClassifier.load(settings.artifacts_dir / "classifier"
                                      / settings.classifier_version)
        modes += ("classifier",)
    res = evaluate(cases, modes=modes, classifier=clf)
    res = {"created_at": datetime.now(UTC).isoformat(timespec="seconds"),
           "classifier": clf.version if clf else None, "seed": seed,
           "method": ("UTD-MHAD exercise trials (1 repetition each) from 3 views with YOLO-like"
                      " noise at 10 fps; 2-4 trials of one subject joined; Pose Trainer single"
                      " repetitions alone and 2-5 joined at their rest poses"), **res}
    path = Path(output) if output else settings.artifacts_dir / "reps" / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res, indent=1))
    click.echo(json.dumps({m: res[m] for m in modes}, indent=1))
    click.echo(f"wrote {path}")


COMMANDS = (references_cli,)
