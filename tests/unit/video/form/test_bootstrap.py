"""Confidence intervals of the form figures resample whole groups (source recordings)."""

import numpy as np

from domain.video.form.training import bootstrap_ci


def test_intervals_bracket_the_figures_and_resample_groups():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(12), 3)
    y = (groups % 2).astype(int)  # each source all correct or all faulty
    risk = y + rng.normal(0, 0.8, y.size)
    flagged = risk > 0.5
    ci = bootstrap_ci(y, risk, flagged, groups, n=300)
    lo, hi = ci["roc_auc_ci95"]
    assert 0.0 <= lo < hi <= 1.0
    assert ci["bootstrap"] == "300 resamples of 12 groups"
    lo, hi = ci["faulty_caught_ci95"]
    assert lo <= flagged[y == 1].mean() <= hi


def test_one_group_gives_no_interval_and_unscored_executions_are_left_out():
    assert bootstrap_ci(np.array([0, 1]), np.array([0.1, 0.9]), np.array([False, True]),
                        np.array(["a", "a"])) == {}
    ci = bootstrap_ci(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, np.nan, 0.8]),
                      np.array([False, True, True, True]), np.array(["a", "b", "c", "d"]),
                      n=50)
    assert ci["bootstrap"] == "50 resamples of 3 groups"
