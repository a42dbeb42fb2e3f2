"""1. Warm in-process plan generation: PlanScorer (tf.function path) vs `model.predict`."""

from __future__ import annotations

import random
import time

from bench.common import log, summary_ms
from bench.results import Result, ms

TARGET_P95_MS = 20.0


def random_profiles(n: int, seed: int = 7) -> list:
    from domain.plans.profile import (
        AGE_RANGE,
        EQUIPMENT,
        FITNESS_LEVELS,
        HEIGHT_RANGE_CM,
        INJURIES,
        SEXES,
        WORKOUTS_RANGE,
        Profile,
    )

    rng = random.Random(seed)
    out = []
    while len(out) < n:
        try:
            out.append(Profile(
                sex=rng.choice(SEXES), age=rng.randint(18, min(85, AGE_RANGE[1])),
                height_cm=round(rng.uniform(150, min(200, HEIGHT_RANGE_CM[1])), 1),
                weight_kg=round(rng.uniform(45, 130), 1),
                fitness_level=rng.choice(FITNESS_LEVELS), injury=rng.choice(INJURIES),
                equipment=rng.sample(EQUIPMENT, rng.randint(0, 3)),
                workouts_per_week=rng.randint(WORKOUTS_RANGE[0], min(6, WORKOUTS_RANGE[1]))))
        except ValueError:  # an implausible BMI or the like: draw again
            continue
    return out


def _time_generation(scorer, library, profiles) -> tuple[list[float], list[float]]:
    from domain.plans.service import generate_plan

    for p in profiles[:5]:  # warm-up
        generate_plan(p, scorer, library, week=1)
    gen, score = [], []
    for p in profiles:
        t0 = time.perf_counter()
        scorer.score(p, library)
        score.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        generate_plan(p, scorer, library, week=1)
        gen.append(time.perf_counter() - t0)
    return gen, score


def run(quick: bool = False, **_) -> Result:
    import numpy as np

    from config import settings
    from domain.plans.library import load_library
    from domain.plans.network import PlanScorer

    n = 60 if quick else 200
    res = Result("plan_warm", "Plan generation, warm, in-process")
    res.method = (
        f"PlanScorer.load() once, then for {n} random valid profiles (fixed seed) time "
        "`scorer.score(profile, library)` and the whole `domain.plans.service.generate_plan` "
        "(score the library + build the week, including the occlusion explanations) with "
        "time.perf_counter after 5 warm-up calls; baseline: the same scorer with "
        "`score_matrix` swapped for `model.predict(x, verbose=0)`.")
    artifact = settings.artifacts_dir / "plans" / settings.plan_model_version
    t0 = time.perf_counter()
    scorer = PlanScorer.load(artifact)
    load_s = time.perf_counter() - t0
    library = load_library()
    profiles = random_profiles(n)
    log(f"plan_warm: scorer loaded in {load_s:.1f}s, {len(library)} exercises, {n} profiles")

    gen, score = _time_generation(scorer, library, profiles)
    fast_gen, fast_score = summary_ms(gen), summary_ms(score)
    log(f"plan_warm: tf.function p50 {fast_gen['p50']:.1f} ms p95 {fast_gen['p95']:.1f} ms")

    model = scorer.model

    def predict_path(x):
        return np.asarray(model.predict(np.asarray(x, dtype=np.float32), verbose=0)).reshape(-1)

    scorer.score_matrix = predict_path  # instance attribute shadows the method (score+explain)
    m = max(20, n // 4)
    base_gen, base_score = _time_generation(scorer, library, profiles[:m])
    del scorer.score_matrix
    slow_gen, slow_score = summary_ms(base_gen), summary_ms(base_score)
    log(f"plan_warm: model.predict p50 {slow_gen['p50']:.1f} ms p95 {slow_gen['p95']:.1f} ms")

    res.add("generate_plan p50", ms(fast_gen["p50"]), ms(slow_gen["p50"]))
    res.add("generate_plan p95", ms(fast_gen["p95"]), ms(slow_gen["p95"]),
            f"≤ {TARGET_P95_MS:.0f} ms", fast_gen["p95"] <= TARGET_P95_MS)
    res.add("score whole library p50", ms(fast_score["p50"]), ms(slow_score["p50"]))
    res.add("score whole library p95", ms(fast_score["p95"]), ms(slow_score["p95"]))
    res.add("PlanScorer.load (cold, once)", f"{load_s:.2f} s")
    res.notes.append(f"{len(library)} exercises in the library (data/exercises.json); "
                     f"baseline measured on {m} of the {n} profiles (it is slower).")
    res.raw = {"tf_function": {"generate": fast_gen, "score": fast_score},
               "model_predict": {"generate": slow_gen, "score": slow_score}, "load_s": load_s}
    return res
