"""varda.training at the array level: the K a trained model keeps, the candidate chosen and its
card, and time-block patches that never cross from training into validation."""
from __future__ import annotations

import time

import numpy as np
import torch

import varda
from varda.core.model import FillDefaults
from varda.training.choice import best_candidate, choose_n_iter, record_choice
from varda.training.patches import as_tensors, split_patches

TINY = {"prior": {"type": "unet", "ndim": 2, "hidden": 4, "pool": [1, 1]},
        "solver": {"type": "lstm", "ndim": 2, "hidden": 4},
        "axes": ["time", "x"], "patch_shape": [4, 8], "n_iter": 5}


def _model(best_epoch: int, ks: list[int]):
    torch.manual_seed(0)
    m = varda.build_model(TINY)
    m.meta["training"] = {"best_epoch": best_epoch, "stop_reason": "epochs", "epochs_run": 3,
                          "wall_time_s": 1.0, "best_val_mse": 0.5}
    return m, [{"n_iter": k} for k in ks]


def test_without_validation_the_model_keeps_the_k_of_its_best_epoch():
    m, history = _model(2, [1, 3, 5])
    choose_n_iter(m, history, None, 0.2, seed=0)
    assert m.n_iter == 3 and m.meta["training"]["n_iter_configured"] == 5


def test_with_validation_k_is_swept_from_zero_and_the_best_kept():
    m, history = _model(3, [1, 3, 5])
    rng = np.random.default_rng(0)
    y = torch.from_numpy(rng.normal(size=(4, 1, 4, 8)).astype("float32"))
    mask = torch.from_numpy(rng.random((4, 1, 4, 8)) < 0.6)
    choose_n_iter(m, history, (y, y, mask), 0.2, seed=0)
    sweep = {int(k): v for k, v in m.meta["training"]["val_mse_by_n_iter"].items()}
    assert sorted(sweep) == list(range(6))
    assert m.n_iter == min(sweep, key=lambda k: (sweep[k], k))


def test_the_chosen_candidate_gets_typed_fill_limits_and_a_card():
    m, _ = _model(1, [5])
    results = {"a": {"val_mse": 0.3}, "b": {"val_mse": 0.2}}
    assert best_candidate(results) == "b"
    record_choice(m, results=results, chosen="b", t_start=time.perf_counter(), auto_config=None,
                  variable="sst", supervised=False, seed=1)
    assert m.n_iter_max == m.n_iter and m.fill_defaults == FillDefaults(keep_observed=True)
    assert m.meta["n_iter_max"] == m.n_iter                    # the card's JSON, as before
    assert m.meta["fill_defaults"] == {"keep_observed": True}
    assert m.meta["model_card"]["method"] == "b" and m.meta["training"]["chosen"] == "b"


def test_validation_patches_come_from_other_time_blocks():
    m, _ = _model(1, [5])
    n_time = 60
    stamp = np.broadcast_to(np.arange(n_time, dtype="float32")[:, None], (n_time, 8)).copy()
    tr, va, segs_tr, segs_va = split_patches([stamp], m, tpos=0, window=4, step=[2, 8],
                                             val_fraction=0.2, seed=0)
    assert va is not None and segs_va
    times_tr = set(np.unique(tr[0]).astype(int))
    times_va = set(np.unique(va[0]).astype(int))
    assert times_tr and times_va and not times_tr & times_va
    x, y, mask = as_tensors(va, supervised=False, marked=False)
    assert x is None and y.shape[1:] == (1, 4, 8) and bool(mask.all())
