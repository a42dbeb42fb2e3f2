"""Rehabilitation plan domain (plain Python: no web or task-queue imports).

- ``profile``    Profile dataclass + allowed values (SEXES, FITNESS_LEVELS, INJURIES, EQUIPMENT)
- ``library``    Exercise records, ``load_library()``, ``filter_exercises()``
- ``rules``      explicit labelling rules that generate the training data
- ``features``   FeatureSpec: StandardScaler numerics + one-hot / multi-hot categoricals
- ``network``    Keras MLP training (``train_plan_model``) and ``PlanScorer``
- ``explain``    occlusion explanations and guardrail reasons
- ``builder``    ``build_week()``: guardrails, day layout, volume
- ``adaptation`` feedback -> ``Adjustment`` for next week
- ``readiness``  readiness score from sleep / resting HR / HRV
- ``service``    ``generate_plan()`` facade used by the plan task

TensorFlow is imported lazily (only when training or loading a scorer).
"""
