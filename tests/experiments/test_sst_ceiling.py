"""The supervised-ceiling experiment of the SST benchmark: what the network sees and learns."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from experiments.sst import ceiling as C


@pytest.fixture(scope="module")
def case():
    return C.Case("tiny", 101)


def test_inputs_never_contain_the_truth_under_clouds(case):
    x = case.inputs()
    w = C.WINDOW
    assert x.shape == (len(case), 2 * (2 * w + 1) + 1, *case.truth.shape[1:])
    departures, masks = x[:, :2 * w + 1], x[:, 2 * w + 1:2 * (2 * w + 1)]
    assert np.all(departures[masks == 0] == 0)          # nothing where nothing was observed
    # the middle channel is the day itself
    np.testing.assert_array_equal(masks[:, w], case.mask)
    assert np.all(case.target[~case.scored] == 0)        # only scored points are learned


def test_zero_correction_scores_the_oi_and_the_truth_scores_zero(case):
    assert case.rmse(np.zeros_like(case.oi)) == pytest.approx(case.rmse(None))
    perfect = np.nan_to_num(case.truth - case.oi)
    assert case.rmse(perfect) == pytest.approx(0.0, abs=1e-6)


def test_training_keeps_its_best_validation_epoch(case):
    val = C.Case("tiny", 104)
    net, hist = C.train([case], val, seed=0, epochs=2, width=4, crop=16, log=lambda m: None)
    assert [h["epoch"] for h in hist] == [1, 2]
    best = min(h["val_rmse"] for h in hist)
    assert val.rmse(C.predict(net, val.inputs())) == pytest.approx(best, rel=1e-5)


def test_predictability_bands_cover_every_scored_point(case):
    p = case.predictability()
    assert sum(b["fraction"] for b in p["oi_by_distance"].values()) == pytest.approx(1.0)
    assert p["truth_change_rmse_lag2"] > p["truth_change_rmse_lag1"] > 0
