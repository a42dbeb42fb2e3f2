"""The one registry of job kinds: every place that names a kind (the web layer enqueueing, the
broker publishing, the sweeper re-sending, a job ending) reads it here.

A kind is what clients see on a job (`GET /jobs/{id}`: `kind`); its pipeline is the Celery task
names it runs, in order (each takes the job id first; the first may fan out further). Hooks run
in the transaction that ends a job: an object with ``on_succeeded(session, job, emit)`` and
``on_failed(session, job, emit)``, named "module:attribute" and imported when first needed, so
that importing this registry imports no task or service module.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class JobKind:
    name: str
    #: Celery task names run in order (a chain of immutable signatures when more than one)
    pipeline: tuple[str, ...]
    about: str
    #: "module:attribute" of the hooks run when a job of this kind ends (None: none)
    hooks: str | None = None
    #: sent at batch priority whoever creates it (Redis serves lower numbers first)
    batch: bool = False
    #: the job ends with its last child job (the sweeper leaves it alone while it runs)
    ends_with_children: bool = False


PLAN_GENERATE = "plan.generate"
FEEDBACK_PROCESS = "feedback.process"
VIDEO_ANALYZE = "video.analyze"
KEYPOINTS_ANALYZE = "keypoints.analyze"
BATCH_REPROCESS = "batch.reprocess"
ACCOUNT_EXPORT = "account.export"

_ANALYSIS_HOOKS = "domain.video.service:AnalysisHooks"

KINDS: dict[str, JobKind] = {kind.name: kind for kind in (
    JobKind(PLAN_GENERATE, ("plans.generate",),
            "a week of the caller's rehabilitation plan, from their profile (plans queue)"),
    JobKind(FEEDBACK_PROCESS, ("feedback.record", "plans.regenerate"),
            "record the patient's feedback (feedback queue), then regenerate next week's plan"),
    JobKind(VIDEO_ANALYZE, ("video.start",),
            "an uploaded video or photo: pose in chunks, track, classify, compare, render",
            hooks=_ANALYSIS_HOOKS),
    JobKind(KEYPOINTS_ANALYZE, ("video.start",),
            "on-device keypoints: the video pipeline from classification on",
            hooks=_ANALYSIS_HOOKS),
    JobKind(BATCH_REPROCESS, ("maintenance.reprocess_batch",),
            "ops: re-run stored analyses through the current models, one child job each",
            batch=True, ends_with_children=True),
    JobKind(ACCOUNT_EXPORT, ("accounts.export",),
            "a zip of every row and file stored about the user",
            hooks="domain.jobs.hooks:ExportHooks"),
)}


def get(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name}") from None


def analysis_kind(source: str) -> str:
    """The kind that (re)runs an analysis of this source (video, image, keypoints)."""
    return KEYPOINTS_ANALYZE if source == "keypoints" else VIDEO_ANALYZE


@cache
def hooks_for(name: str):
    """The hooks object of a kind (None when it has none or the kind is unknown)."""
    kind = KINDS.get(name)
    if kind is None or kind.hooks is None:
        return None
    module, _, attribute = kind.hooks.partition(":")
    return getattr(importlib.import_module(module), attribute)
