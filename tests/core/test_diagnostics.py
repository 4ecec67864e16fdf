"""Energy pathways (varda.core.diagnostics) against VarModel.forward's own trajectory."""
from __future__ import annotations

import pytest
import torch

from varda.core import build_model
from varda.core.diagnostics import energy_pathway


def _model(solver: str, prior: str = "pca", seed: int = 0):
    torch.manual_seed(seed)
    priors = {"pca": {"type": "pca", "shape": [1, 8, 8], "n_components": 4},
              "unet": {"type": "unet", "ndim": 2, "hidden": 4, "pool": 2}}
    solvers = {"fsgd": {"type": "fsgd", "step": 0.05},
               "lstm": {"type": "lstm", "ndim": 2, "hidden": 3}}
    return build_model({"axes": ["r", "c"], "patch_shape": [8, 8], "n_iter": 6,
                        "prior": priors[prior], "solver": solvers[solver]}).eval()


def _batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(5, 1, 8, 8, generator=g)
    mask = (torch.rand(x.shape, generator=g) > 0.4).float()
    y = torch.where(mask > 0, x + 0.3 * torch.randn(x.shape, generator=g), torch.nan)
    return x, y, mask


@pytest.mark.parametrize("solver,prior", [("fsgd", "pca"), ("lstm", "pca"), ("lstm", "unet")])
def test_pathway_matches_forward_trajectory(solver, prior):
    model = _model(solver, prior)
    x, y, mask = _batch()
    p = energy_pathway(model, y, mask, x, n_iter=6)
    _, traj = model(y, mask, n_iter=6, truth=x, return_trajectory=True)
    assert len(p.cost) == len(p.error) == 7 and p.n_iter == 6
    assert p.cost == pytest.approx(traj["U"], rel=1e-5)
    assert p.error == pytest.approx(traj["error"], rel=1e-5)
    assert p.reference_cost == []
    assert not model.training


def test_fsgd_lowers_its_cost_and_reference_energy():
    model = _model("fsgd")
    x, y, mask = _batch(1)
    p = energy_pathway(model, y, mask, x, n_iter=10, reference=model)
    assert all(b < a for a, b in zip(p.cost, p.cost[1:]))         # gradient descent, small step
    assert p.reference_cost == pytest.approx(p.cost, rel=1e-6)    # its own cost as reference
    other = _model("lstm", seed=3)
    q = energy_pathway(other, y, mask, x, n_iter=10, reference=model)
    assert len(q.reference_cost) == 11 and q.reference_cost[0] == pytest.approx(p.cost[0])
    d = q.as_dict()
    assert set(d) == {"U", "error", "U_reference", "n_iter"} and d["n_iter"] == 10


def test_pathway_starts_from_x0_and_keeps_training_flag():
    model = _model("lstm").train()
    x, y, mask = _batch(2)
    p = energy_pathway(model, y, mask, x, n_iter=0, x0=x)
    assert p.error == [0.0]
    assert model.training
