"""The MNIST benchmark recipe (--quick) and the shipped mnist-unet-joint model."""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import varda
from experiments.mnist import settings as S
from varda.errors import InputError, NothingToFillWarning

needs_data = pytest.mark.skipif(not (S.DATA_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
                                reason=f"the MNIST test file is not at {S.DATA_DIR}")


@needs_data
def test_quick_recipe_writes_a_complete_table_and_figures(tmp_path):
    from experiments.mnist import run
    assert run.main(["--quick", "--out", str(tmp_path), "--device", "cpu"]) == 0
    doc = json.loads((tmp_path / "mnist_table.json").read_text())
    assert doc["mode"] == "quick" and doc["command"].startswith("python -m experiments.mnist.run")
    assert {"cpu_count", "torch"} <= set(doc["hardware"])
    # the device is what the training recorded, not a constant
    assert doc["hardware"]["device"] == "cpu"
    assert doc["rows"]["unet_joint"]["seeds"]["0"]["training"]["device"] == "cpu"
    rows = doc["rows"]
    assert set(rows) == set(S.ROWS)
    for name, row in rows.items():
        s = row["summary"]
        assert math.isfinite(s["r_score"]["mean"]) and math.isfinite(s["i_score"]["mean"]), name
        assert s["train_time_s"]["mean"] >= 0
        if name != "zero_fill":
            assert 0 <= s["p_score"]["mean"] < 2, name
    zero = rows["zero_fill"]["summary"]["r_score"]["mean"]
    assert 0.3 < zero < 1.2                       # noise 0.1 on ~70 % + mean-filled gaps
    for name in ("dict_omp", "dict_lasso", "pca_lstm", "ae_joint", "unet_joint"):
        assert rows[name]["summary"]["r_score"]["mean"] < zero, name
    # the projection-trained U-Net is (almost) the identity: tiny P-score, the paper's point
    assert rows["unet_proj_lstm"]["summary"]["p_score"]["mean"] < 0.1
    # the dictionary coders were chosen on validation, among the settings of the grid
    assert rows["dict_omp"]["seeds"]["0"]["chosen"]["n_nonzero"] in S.QUICK["dict"]["omp_nonzero"]
    assert (tmp_path / "mnist_table.md").read_text().count("\n") == len(S.ROWS) + 2
    for fig in ("mnist_energy_pathway.png", "mnist_gallery.png"):
        assert (tmp_path / fig).stat().st_size > 10_000
    paths = doc["energy_pathways"]["pathways"]
    assert set(paths) == {"pca_fsgd", "pca_lstm", "unet_joint_fsgd", "unet_joint"}
    for p in paths.values():
        assert len(p["U"]) == len(p["error"]) == len(p["U_reference"]) == S.QUICK["n_iter"] + 1
    # quick mode keeps its models in its run folder (the shipped model is the full run's)
    assert varda.load(tmp_path / "models" / "unet_joint-s0").n_iter == S.QUICK["n_iter"]


def _digits(n: int = 6) -> np.ndarray:
    from varda.datasets.mnist import load_images
    return load_images(S.DATA_DIR)[8000:8000 + n]


@needs_data
def test_shipped_model_fills_mnist_images_with_leading_dims():
    from varda.datasets.mnist import degrade
    model = varda.load(S.SHIPPED_NAME)
    card = model.meta["model_card"]
    assert card["command"].startswith("python -m experiments.mnist.run")
    assert model.meta["fill_defaults"] == {"keep_observed": False}
    assert model.axes == ("row", "col") and model.patch_shape == (28, 28)
    x = _digits(32)
    std = model.norm_std
    y, m = degrade(x, std=std, seed=3)
    y4 = y.reshape(2, 16, 28, 28)
    before = y4.copy()
    out = varda.fill(y4, S.SHIPPED_NAME)
    assert out.shape == (2, 16, 28, 28) and np.isfinite(out).all()
    np.testing.assert_array_equal(np.isnan(y4), np.isnan(before))        # input untouched
    err_fill = float((((out.reshape(x.shape) - x) / std) ** 2).mean())
    err_zero = float((((np.where(m, y, model.norm_mean) - x) / std) ** 2).mean())
    assert err_fill < 0.7 * err_zero
    # noisy observed pixels are denoised (keep_observed=False), not copied
    assert not np.allclose(out.reshape(x.shape)[m], y[m])
    single = varda.fill(y[0], S.SHIPPED_NAME)                           # (28, 28) alone
    np.testing.assert_allclose(single, out.reshape(x.shape)[0], atol=1e-5)


@needs_data
def test_shipped_model_no_gap_and_all_missing_images():
    x = _digits(2)
    with pytest.warns(NothingToFillWarning):
        out = varda.fill(x.copy(), S.SHIPPED_NAME)                      # no gap: denoised
    assert np.isfinite(out).all() and out.shape == x.shape
    y = x.copy()
    y[1] = np.nan                                                       # an image all missing
    with pytest.raises(InputError, match="no observed value"):
        varda.fill(y, S.SHIPPED_NAME)
    with pytest.raises(InputError, match="dtype"):
        varda.fill((x * 255).astype(np.uint8), S.SHIPPED_NAME)


def test_table_hardware_names_every_training_device():
    from experiments.mnist.report import hardware, training_devices
    rows = {"a": {"seeds": {"0": {"training": {"device": "cuda:0"},
                                  "pretrain": {"device": "cuda:0"}}}},
            "b": {"seeds": {"0": {"training": {"device": "cpu"}}}},
            "zero_fill": {"seeds": {"0": {"r_score": 0.5}}}}
    assert training_devices(rows) == ["cpu", "cuda:0"]
    assert hardware(training_devices(rows))["device"] == ["cpu", "cuda:0"]
    assert training_devices({"zero_fill": rows["zero_fill"]}) == ["cpu"]
    assert hardware()["device"] == "cpu"
