"""The iteration curriculum: levels by progress, validation, and what fit records."""
import pytest
import torch

from varda.core import Curriculum, build_model, fit


def test_levels_follow_progress():
    c = Curriculum(levels=(2, 4, 8), ramp=(0.25, 0.5))
    assert [c.n_iter(p) for p in (0.0, 0.24, 0.25, 0.49, 0.5, 1.0)] == [2, 2, 4, 4, 8, 8]
    assert c.final == 8
    assert Curriculum.quarters(12).levels == (3, 6, 12)
    assert Curriculum.quarters(1).levels == (1,)


@pytest.mark.parametrize("levels, ramp", [((2, 4), ()), ((0, 2), (0.5,)), ((2, 4, 8), (0.6, 0.3)),
                                          ((2, 4), (1.5,))])
def test_bad_curricula_are_refused(levels, ramp):
    with pytest.raises(ValueError, match="curriculum|ramp"):
        Curriculum(levels=levels, ramp=ramp)


def test_fit_runs_a_curriculum_and_records_it():
    torch.manual_seed(0)
    model = build_model({"axes": ["t"], "patch_shape": [16], "n_iter": 4,
                         "prior": {"type": "unet", "ndim": 1, "hidden": 4, "pool": 2},
                         "solver": {"type": "lstm", "ndim": 1, "hidden": 4}})
    x = torch.randn(12, 1, 16)
    m = (torch.rand(12, 1, 16) < 0.5).float()
    hist = fit(model, x, x, m, epochs=4, batch_size=6, progress=False,
               n_iter_schedule=Curriculum(levels=(1, 2, 4), ramp=(0.25, 0.5)))
    assert [h["n_iter"] for h in hist] == [1, 2, 4, 4]
    tr = model.meta["training"]
    assert tr["n_iter_reached"] == 4 and tr["stop_reason"] == "epochs"
    assert tr["n_iter_schedule"] == {"1": 1, "2": 2, "3": 4}
