"""The top-level API: the names users are told about exist, are documented, and keep one
convention (data in, model in or out; tensors stay in varda.core)."""
import inspect

import numpy as np

import varda


def test_public_names_exist_and_are_documented():
    for name in varda.__all__:
        obj = getattr(varda, name)
        if callable(obj):
            assert inspect.getdoc(obj), f"varda.{name} has no docstring"
    for name in ("train", "fill", "load", "save", "model_config", "pretrained_names"):
        assert name in varda.__all__
    assert "fit" not in varda.__all__          # the tensor-level trainer lives in varda.core
    assert callable(varda.core.fit)


def test_save_and_load_round_trip_through_the_top_level(tmp_path):
    model = varda.build_model(varda.model_config(("time", "lat", "lon"), (4, 8, 8), hidden=4))
    path = varda.save(model, tmp_path / "m")
    again = varda.load(path)
    assert again.config["prior"] == model.config["prior"]
    y = np.random.default_rng(0).normal(size=(4, 8, 8)).astype("float32")
    y[:, 2:5, 2:5] = np.nan
    out = varda.fill(y, again)
    assert out.shape == y.shape and np.isfinite(out).all()
