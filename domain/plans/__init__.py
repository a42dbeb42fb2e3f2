"""Rehabilitation plan domain (plain Python: no web or task-queue imports).

- ``profile``    Profile dataclass + allowed values (SEXES, FITNESS_LEVELS, INJURIES, EQUIPMENT)
- ``library``    Exercise records, ``load_library()``, ``filter_exercises()``
- ``rules``      explicit labelling rules that generate the training data
- ``features``   FeatureSpec: StandardScaler numerics + one-hot / multi-hot categoricals
- ``network``    ``PlanScorer``: the trained model at run time (scores, explanations)
- ``training``   ``train_plan_model`` (synthetic set, CV, versioned artifact); ``plots``
- ``explain``    occlusion explanations and guardrail reasons
- ``builder``    ``build_week()``: guardrails, day layout, volume
- ``adaptation`` feedback -> ``Adjustment`` for next week
- ``readiness``  readiness score from sleep / resting HR / HRV
- ``service``    the plan rules the web and worker layers call (plans, feedback, readiness)

TensorFlow is imported lazily (only when training or loading a scorer).
"""
