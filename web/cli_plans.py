"""`flask exercises load` and `flask ml train-plans`."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from config import settings
from domain.plans import service
from domain.plans.library import DEFAULT_LIBRARY_PATH, load_library
from models import Exercise
from models import plans as repo
from models.db import session_scope
from web.cli_groups import ml_cli

exercises_cli = AppGroup("exercises", help="The exercise library.")


@exercises_cli.command("load")
@click.option("--path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=DEFAULT_LIBRARY_PATH, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when the library already has rows.")
def load_exercises(path: Path, if_empty: bool) -> None:
    """Load (insert or update) the reviewed exercise library into the database."""
    exercises = load_library(path)  # validates every entry; raises with a clear message
    with session_scope() as session:
        if if_empty and repo.count_exercises(session):
            click.echo("exercise library already loaded")
            return
        for exercise in exercises:
            row = session.get(Exercise, exercise.id) or Exercise(id=exercise.id)
            row.name, row.category, row.difficulty = (exercise.name, exercise.category,
                                                      exercise.difficulty)
            row.data = exercise.to_dict()
            session.add(row)
    click.echo(f"loaded {len(exercises)} exercises from {path}")


@ml_cli.command("train-plans")
@click.option("--version", "version", default=None, help="Artifact version (default: next free).")
@click.option("--with-feedback", is_flag=True, help="Fold stored patient feedback into labels.")
@click.option("--samples", type=int, default=None, help="Synthetic training rows.")
@click.option("--epochs", type=int, default=None, help="Training epochs (default 50).")
@click.option("--cv-folds", type=int, default=5, show_default=True)
@click.option("--cv-epochs", type=int, default=None,
              help="Epochs per CV fold (default 15, at most --epochs).")
@click.option("--seed", type=int, default=0)
@click.option("--overwrite", is_flag=True, help="Replace an existing artifact of this version.")
def train_plans(version: str | None, with_feedback: bool, samples: int | None, epochs: int | None,
                cv_folds: int, cv_epochs: int | None, seed: int, overwrite: bool) -> None:
    """Train the plan network and write a versioned artifact under artifacts/plans/."""
    from domain.plans.training import train_plan_model

    root = settings.artifacts_dir / "plans"
    version = version or next_version(root, "plans-v")
    feedback = feedback_examples() if with_feedback else None
    if with_feedback:
        click.echo(f"folding {len(feedback)} feedback answers into the labels")
    kwargs = {"n_samples": samples} if samples else {}
    if epochs:
        kwargs["epochs"] = epochs
        kwargs["cv_epochs"] = min(epochs, 20)
    if cv_epochs:
        kwargs["cv_epochs"] = min(cv_epochs, epochs) if epochs else cv_epochs
    metrics = train_plan_model(root / version, version, seed=seed, feedback_examples=feedback,
                               cv_folds=cv_folds, overwrite=overwrite, **kwargs)
    click.echo(json.dumps({k: metrics[k] for k in metrics if not isinstance(metrics[k], dict)},
                          indent=1, default=str))
    click.echo(f"wrote {root / version}; activate it with PLAN_MODEL_VERSION={version}")


def next_version(root: Path, prefix: str) -> str:
    numbers = [int(p.name[len(prefix):]) for p in root.glob(f"{prefix}*")
               if p.name[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


def feedback_examples() -> list[dict]:
    """Every stored answer as (profile at the time, exercise, rating) training examples."""
    with session_scope() as session:
        return service.feedback_examples(session)


COMMANDS = (exercises_cli,)
