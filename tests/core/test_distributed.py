"""Data-parallel training (``fit(distributed=True)``) on two gloo processes."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import ddp_worker
from varda.core import distributed
from varda.core.model import build_model
from varda.core.trainer import evaluate_mse, fit


def test_two_ranks_end_identical_and_validate_on_all_samples(tmp_path) -> None:
    distributed.spawn(ddp_worker.run_rank, 2, str(tmp_path))
    w0, w1 = (load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1))
    h0, h1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert w0.keys() == w1.keys()
    for k in w0:                       # same optimiser steps on the averaged gradients
        torch.testing.assert_close(w0[k], w1[k], rtol=0, atol=0)
    assert h0 == h1                     # the same (all-reduced) validation and clock
    torch.manual_seed(100)              # rank 0's initial weights: training moved them
    init = build_model(ddp_worker.CONFIG).state_dict()
    assert any(not torch.equal(init[k], w0[k]) for k in w0)
    # the split validation sums to the single-process MSE of the restored (best) epoch
    model = build_model(ddp_worker.CONFIG)
    model.load_state_dict(w0)
    x, y, m = ddp_worker.data()
    z = model.normalize(x[16:])
    best = min(h["val_mse"] for h in h0)
    assert evaluate_mse(model, z, model.normalize(y[16:]) * m[16:], m[16:], n_iter=2) \
        == pytest.approx(best, rel=1e-5)


def test_distributed_without_a_process_group_says_how_to_start_one() -> None:
    x, y, m = ddp_worker.data()
    with pytest.raises(RuntimeError, match="init_process_group.*spawn"):
        fit(build_model(ddp_worker.CONFIG), x, y, m, epochs=1, progress=False,
            distributed=True)


def test_spawn_rejects_zero_workers() -> None:
    with pytest.raises(ValueError, match="workers must be >= 1"):
        distributed.spawn(ddp_worker.run_rank, 0, "unused")
