"""A fill's model is resolved once per call: a path's weights are hashed once, however many
layers (xarray → array → solver) and variables the call goes through."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import varda
from varda.array import model_cache, resolved
from varda.array.resolved import ResolvedModel
from varda.errors import InputError

from fill_helpers import L96_LIKE, gappy, l96_path  # noqa: F401  (fixture)


def _dataset() -> xr.Dataset:
    y = gappy((16, 8), seed=3)
    da = xr.DataArray(y, dims=("time", "site"), coords={"time": np.arange(16)})
    return xr.Dataset({"a": da, "b": da * 2})


@pytest.fixture
def hashes(monkeypatch):
    """Counts the weight-file hashes and in-memory weight checks made from now on."""
    calls = {"file": 0, "memory": 0}
    file_hash, memory_check = model_cache.sha256_file, resolved.weights_match_checkpoint

    def count_file(*a, **k):
        calls["file"] += 1
        return file_hash(*a, **k)

    def count_memory(*a, **k):
        calls["memory"] += 1
        return memory_check(*a, **k)

    monkeypatch.setattr(model_cache, "sha256_file", count_file)
    monkeypatch.setattr(resolved, "weights_match_checkpoint", count_memory)
    monkeypatch.setattr(model_cache, "weights_match_checkpoint", count_memory)
    return calls


def test_a_path_is_hashed_once_per_call_for_a_whole_dataset(l96_path, hashes):
    out = varda.fill(_dataset(), l96_path)
    assert hashes["file"] == 1
    assert out["a"].attrs["varda_model_path"] == out["b"].attrs["varda_model_path"]
    assert out["a"].attrs["varda_model_sha256"]


def test_a_loaded_model_is_checked_once_per_call(l96_path, hashes):
    model = varda.load(l96_path)
    hashes["memory"] = 0
    varda.fill(_dataset()["a"].chunk({"time": 8}), model).compute()
    assert hashes == {"file": 0, "memory": 1}


def test_a_resolved_model_is_handed_down_as_it_is(l96_path):
    rm = ResolvedModel.of(l96_path)
    assert ResolvedModel.of(rm) is rm
    assert rm.on("cpu") is rm.model and rm.for_workers("cpu").sha256 == rm.sha256
    y = gappy((16, 8), seed=4)
    assert np.array_equal(varda.fill(y, rm), varda.fill(y, l96_path), equal_nan=True)


def test_an_in_memory_model_fills_here_but_is_refused_for_workers():
    model = varda.build_model(L96_LIKE)
    rm = ResolvedModel.of(model)
    assert rm.ref is None and rm.name == "in-memory model" and rm.on("cpu") is model
    with pytest.raises(InputError, match="never saved"):
        rm.for_workers("cpu")
