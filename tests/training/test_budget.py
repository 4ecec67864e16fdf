"""Automatic training plans a fixed amount of work from the data size and a time budget:
small archives get few passes, large ones are capped by the budget, candidates get the same."""
from __future__ import annotations

from varda.training.budget import (DEFAULT_MAX_TIME, MIN_STEPS, PASSES, convolved_points,
                                      hidden_width, plan_work)

YEAR = {"solver": {"type": "fold", "axis": 0, "inner": {"hidden": 12}}, "prior": {}}


def test_small_archives_are_limited_by_passes_over_the_data():
    w = plan_work(40, patch_points=18 * 30, n_iter=6, hidden=12, batch_size=16, n_candidates=2)
    assert w.steps >= PASSES * 40 / 16 and w.steps < 90          # not the 360 of a year
    assert "data size" in w.reason


def test_large_archives_are_limited_by_the_budget_or_the_cap_and_budget_scales_work():
    pts = convolved_points(YEAR, [11, 48, 48])
    assert pts == 48 * 48                                        # the folded window is channels
    full = plan_work(552, patch_points=pts, n_iter=6, hidden=12, batch_size=16, n_candidates=2)
    assert full.steps >= 360 - 30
    short = plan_work(552, patch_points=pts, n_iter=6, hidden=12, batch_size=16,
                      n_candidates=2, max_time=DEFAULT_MAX_TIME / 10)
    assert MIN_STEPS <= short.steps < full.steps / 4 and "time budget" in short.reason


def test_the_plan_is_deterministic_and_never_below_the_minimum():
    a = plan_work(3, patch_points=64, n_iter=2, hidden=4, batch_size=16, n_candidates=2)
    assert a == plan_work(3, patch_points=64, n_iter=2, hidden=4, batch_size=16, n_candidates=2)
    assert a.steps >= MIN_STEPS and a.epochs * a.steps_per_epoch == a.steps
    assert hidden_width({"solver": {"inner": {"hidden": 16}}, "prior": {"hidden": 8}}) == 16


def test_a_costlier_prior_gets_fewer_steps_and_folding_reports_the_inner_cost():
    from varda.core.priors.registry import build_prior

    unet = build_prior({"type": "fold", "axis": 0,
                        "inner": {"type": "unet", "ndim": 2, "channels": 11, "hidden": 12}})
    pca = build_prior({"type": "pca", "shape": (1, 4, 4), "n_components": 2})
    assert unet.training_cost > pca.training_cost == 1.0
    pts = 48 * 48
    cheap = plan_work(5000, patch_points=pts, n_iter=6, hidden=12, batch_size=16,
                      n_candidates=2, max_time=60, cost=pca.training_cost)
    dear = plan_work(5000, patch_points=pts, n_iter=6, hidden=12, batch_size=16,
                     n_candidates=2, max_time=60, cost=unet.training_cost)
    assert "time budget" in dear.reason
    assert dear.steps < cheap.steps * 0.6
