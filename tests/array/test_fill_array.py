"""varda.fill on NumPy and dask arrays: results, chunking independence, bad input, the cache."""
from __future__ import annotations

import pickle
import warnings

import dask
import dask.array as da
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import varda
from varda.array import model_cache
from varda.errors import CheckpointError, InputError, NothingToFillWarning, VardaWarning
from fill_helpers import gappy, l96_path, sst2d_path, sst3d_path  # noqa: F401  (fixtures)


def test_numpy_fill_shape_dtype_and_no_nan(l96_path):
    x = gappy((3, 50, 8))
    out = varda.fill(x, l96_path)
    assert isinstance(out, np.ndarray) and out.shape == x.shape and out.dtype == np.float32
    assert np.isfinite(out).all()
    assert not np.array_equal(out[np.isfinite(x)], x[np.isfinite(x)])  # denoised by default


def test_model_object_path_and_loaded_model_agree(l96_path):
    x = gappy((40, 8), seed=1)
    by_path = varda.fill(x, l96_path)
    by_model = varda.fill(x, varda.load(l96_path))
    np.testing.assert_array_equal(by_path, by_model)


def test_keep_observed_is_bit_for_bit(l96_path):
    x = gappy((2, 33, 8), seed=2)
    out = varda.fill(x, l96_path, keep_observed=True)
    obs = np.isfinite(x)
    np.testing.assert_array_equal(out[obs], x[obs])
    assert np.isfinite(out).all()


def test_mask_false_points_stay_nan(l96_path):
    x = gappy((30, 8), seed=3)
    valid = np.ones(8, bool)
    valid[2] = False
    out = varda.fill(x, l96_path, mask=valid)
    assert np.isnan(out[:, 2]).all() and np.isfinite(np.delete(out, 2, axis=1)).all()


def test_each_leading_window_is_filled_independently(l96_path):
    x = gappy((3, 20, 8), seed=4)
    together = varda.fill(x, l96_path)
    np.testing.assert_allclose(together[1], varda.fill(x[1], l96_path), atol=1e-5)


# -- dask ---------------------------------------------------------------------------------
def test_dask_stays_lazy_and_matches_numpy(l96_path):
    x = gappy((2, 64, 8), seed=5)
    lazy = varda.fill(da.from_array(x, chunks=(1, 20, 8)), l96_path)
    assert isinstance(lazy, da.Array) and lazy.dtype == np.float32
    np.testing.assert_allclose(lazy.compute(), varda.fill(x, l96_path), atol=1e-5)


@given(t=st.integers(5, 70), batch=st.integers(1, 3), frac=st.floats(0.0, 0.9),
       seed=st.integers(0, 1000), data=st.data())
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_property_dask_any_chunking_equals_one_numpy_run(l96_path, t, batch, frac, seed, data):
    x = gappy((batch, t, 8), frac=frac, seed=seed)
    x[:, 0, 0] = 1.0  # at least one observation per window
    keep = data.draw(st.booleans(), "keep_observed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VardaWarning)  # nothing to fill / chunks merged
        ref = varda.fill(x, l96_path, keep_observed=keep)
        for _ in range(3):
            ct = data.draw(st.integers(1, t), "time chunk")
            cb = data.draw(st.integers(1, batch), "batch chunk")
            cs = data.draw(st.sampled_from([8, 4]), "site chunk")
            got = varda.fill(da.from_array(x, chunks=(cb, ct, cs)), l96_path,
                             keep_observed=keep).compute()
            assert np.isfinite(got).all()
            np.testing.assert_allclose(got, ref, atol=1e-5, rtol=1e-5)


# Fixed chunkings at the boundaries where tiles start or end (the L96-like model: patch 16,
# stride 8, halo 15): patch − 1 (mod stride) = 7 → chunks of 15, 23, 31; 0 and 1 (mod 8).
@pytest.mark.parametrize("chunk", [15, 16, 17, 23, 24, 25, 31, 33])
def test_dask_chunks_at_tile_boundaries_equal_numpy(l96_path, chunk):
    x = gappy((2, 67, 8), seed=chunk)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VardaWarning)   # a short last chunk is merged
        got = varda.fill(da.from_array(x, chunks=(1, chunk, 8)), l96_path).compute()
    np.testing.assert_allclose(got, varda.fill(x, l96_path), atol=1e-5, rtol=1e-5)


# Chunked along two tiled axes at once, odd sizes, corner blocks (patch 16, stride 8):
# every chunk needs its halo along both axes.
@pytest.mark.parametrize("shape,chunks", [
    ((37, 41), (20, 20)),        # odd sizes, a small corner block (17 × 21)
    ((37, 41), (15, 23)),        # patch − 1 and patch − 1 + stride along the two axes
    ((33, 47), (23, 16)),
])
def test_dask_chunked_along_two_spatial_axes_equals_numpy(sst2d_path, shape, chunks):
    x = gappy((2, *shape), seed=sum(chunks))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VardaWarning)
        got = varda.fill(da.from_array(x, chunks=(1, *chunks)), sst2d_path).compute()
    np.testing.assert_allclose(got, varda.fill(x, sst2d_path), atol=1e-5, rtol=1e-5)


def test_dask_time_lat_lon_chunked_along_every_axis_equals_numpy(sst3d_path):
    """The case of a (time, lat, lon) fill chunked (10, 20, 20): three tiled axes."""
    x = gappy((21, 37, 41), seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VardaWarning)
        got = varda.fill(da.from_array(x, chunks=(10, 20, 20)), sst3d_path).compute()
    np.testing.assert_allclose(got, varda.fill(x, sst3d_path), atol=1e-5, rtol=1e-5)


def test_chunks_smaller_than_the_halo_are_merged_with_a_warning(l96_path):
    x = gappy((60, 8), seed=6)
    with pytest.warns(VardaWarning, match="halo"):
        out = varda.fill(da.from_array(x, chunks=(5, 8)), l96_path)
    np.testing.assert_allclose(out.compute(), varda.fill(x, l96_path), atol=1e-5)


def test_graph_carries_a_reference_not_the_model(l96_path):
    x = da.from_array(gappy((64, 8), seed=7), chunks=(32, 8))
    out = varda.fill(x, varda.load(l96_path))
    blob = pickle.dumps(dict(out.__dask_graph__()))
    assert b"VarModel" not in blob and b"ModelRef" in blob


def test_unsaved_model_on_dask_says_to_save_it():
    from fill_helpers import L96_LIKE
    x = da.from_array(gappy((20, 8)), chunks=(10, 8))
    with pytest.raises(InputError, match="save"):
        varda.fill(x, varda.build_model(L96_LIKE))


def test_local_cluster_loads_the_model_once_per_process(l96_path):
    import distributed  # a hard dependency: imported, never skipped
    model_cache.clear_cache()
    x = gappy((2, 96, 8), seed=8)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        lazy = varda.fill(da.from_array(x, chunks=(1, 32, 8)), l96_path)
        model_cache.clear_cache()  # the planning step loaded it here: forget it
        out = client.compute(lazy).result()
        cached = client.run(model_cache.cached_models)
    np.testing.assert_allclose(out, varda.fill(x, l96_path), atol=1e-5)
    sha = varda.load(l96_path).checkpoint_sha256
    for models in cached.values():
        assert [s for s, _ in models] == [sha]  # one entry: loaded once for 6 blocks


def test_cache_refuses_a_checkpoint_that_changed(l96_path, tmp_path):
    ref = model_cache.model_ref(l96_path)
    bad = model_cache.ModelRef(ref.source, "0" * 64, "cpu", "x")
    with pytest.raises(CheckpointError, match="changed"):
        model_cache.get_model(bad)


# -- bad input ----------------------------------------------------------------------------
def test_no_nan_at_all_warns_and_returns_denoised_or_unchanged(l96_path):
    x = gappy((30, 8), frac=0.0)
    with pytest.warns(NothingToFillWarning, match="no missing value"):
        den = varda.fill(x, l96_path)
    with pytest.warns(NothingToFillWarning):
        same = varda.fill(x, l96_path, complete="unchanged")
    assert np.isfinite(den).all() and not np.array_equal(den, x)
    np.testing.assert_array_equal(same, x)


def test_unchanged_applies_per_window(l96_path):
    x = gappy((2, 30, 8), frac=0.3)
    x[0] = gappy((30, 8), frac=0.0, seed=9)
    out = varda.fill(x, l96_path, complete="unchanged")
    np.testing.assert_array_equal(out[0], x[0])
    assert np.isfinite(out[1]).all()


def test_all_nan_is_refused(l96_path):
    with pytest.raises(InputError, match="entirely NaN"):
        varda.fill(np.full((20, 8), np.nan, np.float32), l96_path)


def test_an_all_nan_window_is_named(l96_path):
    x = gappy((3, 20, 8))
    x[1] = np.nan
    with pytest.raises(InputError, match=r"index \(1,\)"):
        varda.fill(x, l96_path)


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_values_are_refused(l96_path, bad):
    x = gappy((20, 8))
    x[3, 3] = bad
    with pytest.raises(InputError, match="infinite"):
        varda.fill(x, l96_path)
    with pytest.raises(InputError, match="infinite"):
        varda.fill(da.from_array(x, chunks=(10, 8)), l96_path)


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_integer_and_bool_data_are_refused_naming_the_dtype(l96_path, dtype):
    with pytest.raises(InputError, match=f"dtype {dtype}.*float32"):
        varda.fill(np.ones((20, 8), dtype), l96_path)


def test_wrong_periodic_axis_names_expected_shape(l96_path):
    with pytest.raises(InputError, match=r"cannot tile.*site=8"):
        varda.fill(gappy((40, 9)), l96_path)


def test_too_few_dims_names_expected_shape(l96_path):
    with pytest.raises(InputError, match=r"expected shape \(\.\.\., time=any, site=8\)"):
        varda.fill(gappy((1, 8))[0], l96_path)


def test_unknown_pretrained_name_lists_valid_ones():
    with pytest.raises(CheckpointError, match="pretrained names are") as e:
        varda.fill(gappy((20, 8)), "no-such-model")
    for name in varda.pretrained_names():
        assert name in str(e.value)


def test_unknown_complete_option_lists_choices(l96_path):
    with pytest.raises(varda.ConfigError, match="denoise"):
        varda.fill(gappy((20, 8)), l96_path, complete="skip")


def test_options_are_keyword_only(l96_path):
    with pytest.raises(TypeError):
        varda.fill(gappy((20, 8)), l96_path, None)  # type: ignore[misc]


def test_dask_scheduler_threads_default_is_deterministic(l96_path):
    x = da.from_array(gappy((64, 8), seed=10), chunks=(20, 8))
    a = varda.fill(x, l96_path)
    with dask.config.set(scheduler="synchronous"):
        b = a.compute()
    np.testing.assert_array_equal(a.compute(), b)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is visible")
def test_cuda_without_gpu_is_a_clear_error(l96_path):
    with pytest.raises(InputError, match="no CUDA GPU"):
        varda.fill(gappy((20, 8)), l96_path, device="cuda")


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a GPU")
def test_gpu_fill_matches_cpu(l96_path):
    x = gappy((2, 64, 8), seed=12)
    gpu = varda.fill(da.from_array(x, chunks=(1, 32, 8)), l96_path, device="cuda").compute()
    assert any(dev.startswith("cuda") for _, dev in model_cache.cached_models())
    np.testing.assert_allclose(gpu, varda.fill(x, l96_path, device="cpu"), atol=1e-4)


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a GPU")
def test_gpu_fill_of_the_shipped_l96_model_matches_cpu():
    """36 solver iterations amplify rounding: with cuDNN's default TF32 the fields differed by
    1.8e-3 on average (up to 0.33); in full float32 by 1.7e-5 (bench_gpu.py)."""
    from varda.datasets.lorenz96 import make_l96_benchmark

    obs = make_l96_benchmark(n_train=8, n_val=2, n_test=16, seed=3, cache=False).test.y
    cpu = varda.fill(obs, "l96-unet-joint", device="cpu")
    gpu = varda.fill(obs, "l96-unet-joint", device="cuda")
    diff = np.abs(gpu - cpu)
    assert diff.mean() < 2e-4 and diff.max() < 0.1, (diff.mean(), diff.max())


def test_a_short_last_chunk_is_merged_silently(l96_path):
    x = gappy((70, 8), seed=13)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = varda.fill(da.from_array(x, chunks=(20, 8)), l96_path)  # 20, 20, 20, 10
    np.testing.assert_allclose(out.compute(), varda.fill(x, l96_path), atol=1e-5)


def test_building_the_graph_never_runs_the_model(l96_path, monkeypatch):
    from varda.array import fill as fill_mod
    calls = []
    real = fill_mod._fill_block

    def spy(yb, vb, block_id=None, **kw):
        calls.append(yb.shape)
        return real(yb, vb, block_id=block_id, **kw)

    monkeypatch.setattr(fill_mod, "_fill_block", spy)
    lazy = varda.fill(da.from_array(gappy((2, 64, 8)), chunks=(1, 32, 8)), l96_path)
    assert calls == [] and lazy.dtype == np.float32
    lazy.compute()
    assert len(calls) == 4 and all(0 not in s for s in calls)  # 2 × 2 blocks, real data only


def test_fill_numpy_and_fill_dask_check_their_input_type(l96_path):
    from varda.array import fill_dask, fill_numpy
    x = gappy((40, 8), seed=14)
    a = fill_numpy(x, l96_path)
    b = fill_dask(da.from_array(x, chunks=(20, 8)), l96_path)
    np.testing.assert_allclose(b.compute(), a, atol=1e-5)
    with pytest.raises(TypeError, match="fill_dask"):
        fill_numpy(da.from_array(x), l96_path)
    with pytest.raises(TypeError, match="fill_numpy"):
        fill_dask(x, l96_path)


@pytest.mark.parametrize("prior, solver, expected", [
    ({"type": "unet", "ndim": 2, "periodic": [False, True]}, {"type": "fsgd"}, (False, True)),
    ({"type": "flow", "ode": {"type": "lorenz96"}, "time_axis": 0}, {"type": "fsgd"},
     (False, True)),
    # a folded axis tiles in patch-long tiles (its points become the channels)
    ({"type": "fold", "axis": 1, "inner": {"type": "unet", "ndim": 1, "channels": 8}},
     {"type": "fsgd"}, (False, False)),
    ({"type": "unet", "ndim": 2}, {"type": "lstm", "ndim": 2}, (False, False)),
])
def test_axes_the_model_cannot_tile(prior, solver, expected):
    from varda.array.solve import fixed_axes
    from varda.core.priors import PRIORS
    assert prior["type"] in PRIORS, f"prior {prior['type']!r} is not registered"
    model = varda.build_model({"prior": prior, "solver": solver, "axes": ["time", "site"],
                               "patch_shape": [16, 8]})
    assert fixed_axes(model) == expected


def test_ode_flow_model_refuses_a_different_number_of_sites(tmp_path):
    cfg = {"prior": {"type": "flow", "ode": {"type": "lorenz96"}, "time_axis": 0},
           "solver": {"type": "fsgd", "step": 0.01}, "axes": ["time", "site"],
           "patch_shape": [16, 8], "n_iter": 2}
    with pytest.raises(InputError, match=r"site.*must equal the model's patch \(8\)"):
        varda.fill(gappy((40, 12)), varda.build_model(cfg))
    out = varda.fill(gappy((40, 8)), varda.build_model(cfg))  # the time axis tiles
    assert np.isfinite(out).all()


def test_cpu_calls_share_threads_with_the_same_result(l96_path):
    """With 2 torch threads the solver calls run side by side on 2 one-thread workers; the
    result is the sequential one, the thread setting is restored, and every call ran."""
    import threading

    import torch
    from varda.array import solve as solve_mod

    model = varda.load(l96_path)
    x = gappy((20, 50, 8), seed=3)
    y, obs = np.nan_to_num(x), np.isfinite(x)
    before = torch.get_num_threads()
    old_points = solve_mod.CPU_BATCH_POINTS
    seen: set = set()
    real = model.reconstruct

    def spy(*a, **k):
        seen.add(threading.get_ident())
        return real(*a, **k)

    try:
        solve_mod.CPU_BATCH_POINTS = 4 * 50 * 8          # 5 calls of 4 windows
        torch.set_num_threads(1)
        one = solve_mod.model_solver(model)(y, obs)
        torch.set_num_threads(2)
        model.reconstruct = spy
        two = solve_mod.model_solver(model)(y, obs)
        assert torch.get_num_threads() == 2
        assert threading.get_ident() not in seen and len(seen) >= 1   # ran on worker threads
        seen.clear()
        solve_mod.CPU_SIDE_BY_SIDE = False                # the switch: calls in turn, here
        three = solve_mod.model_solver(model)(y, obs)
        assert seen == {threading.get_ident()}
    finally:
        solve_mod.CPU_BATCH_POINTS = old_points
        solve_mod.CPU_SIDE_BY_SIDE = True
        torch.set_num_threads(before)
    np.testing.assert_allclose(two, one, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(three, one, rtol=1e-5, atol=1e-5)


# -- one FillOptions object; the model's defaults and limits ------------------------------
def _model_with_meta(tmp_path, **meta):
    import copy

    import torch
    from fill_helpers import L96_LIKE
    torch.manual_seed(0)
    cfg = copy.deepcopy(L96_LIKE)
    cfg["meta"] = meta
    model = varda.build_model(cfg).set_normalization(0.0, 3.0)
    return model, str(model.save(tmp_path / "meta-model"))


def test_fill_options_is_the_one_definition(l96_path):
    from varda.array import FillOptions
    with pytest.raises(TypeError, match="unknown fill option.*keep_observed"):
        varda.fill(gappy((20, 8)), l96_path, keep_observd=True)
    base = FillOptions(overlap=0.25, n_iter=1)
    assert FillOptions.from_kwargs(base, batch_size=3) == FillOptions(overlap=0.25, n_iter=1,
                                                                      batch_size=3)
    x = gappy((40, 8), seed=31)
    np.testing.assert_array_equal(varda.fill(x, l96_path, options=base),
                                  varda.fill(x, l96_path, overlap=0.25, n_iter=1))
    for bad in ({"batch_size": 0}, {"overlap": 1.0}, {"n_iter": -1}, {"keep_observed": "yes"}):
        with pytest.raises(InputError):
            FillOptions(**bad)


def test_keep_observed_defaults_to_the_models_choice(tmp_path):
    model, path = _model_with_meta(tmp_path, fill_defaults={"keep_observed": True})
    x = gappy((2, 40, 8), seed=32)
    obs = np.isfinite(x)
    for m in (model, path):
        out = varda.fill(x, m)
        np.testing.assert_array_equal(out[obs], x[obs])      # the model's default: kept
    den = varda.fill(x, path, keep_observed=False)           # the option overrides
    assert not np.array_equal(den[obs], x[obs])
    lazy = varda.fill(da.from_array(x, chunks=(1, 20, 8)), path).compute()
    np.testing.assert_array_equal(lazy[obs], x[obs])
    _, report = varda.array.fill_array(x, path, return_report=True)
    assert report.settings["keep_observed"] is True
    assert report.settings["keep_observed_from"] == "model default"


def test_models_without_fill_defaults_denoise(l96_path):
    x = gappy((30, 8), seed=33)
    _, report = varda.array.fill_array(x, l96_path, return_report=True)
    assert report.settings["keep_observed"] is False and report.settings["n_iter"] == 2


def test_n_iter_above_the_models_limit_is_refused(tmp_path):
    _, path = _model_with_meta(tmp_path, n_iter_max=3)
    x = gappy((30, 8), seed=34)
    with pytest.raises(InputError, match=r"n_iter=4 .*n_iter_max = 3.*n_iter <= 3"):
        varda.fill(x, path, n_iter=4)
    with pytest.raises(InputError, match="n_iter_max = 3"):
        varda.fill(da.from_array(x, chunks=(15, 8)), path, n_iter=4)
    assert np.isfinite(varda.fill(x, path, n_iter=3)).all()


def test_provenance_of_saved_loaded_and_changed_models(tmp_path):
    import torch
    model, path = _model_with_meta(tmp_path)
    x = gappy((30, 8), seed=35)
    sha = varda.load(path).checkpoint_sha256
    for m in (model, varda.load(path), path):               # saved, loaded, by path
        _, rep = varda.array.fill_array(x, m, return_report=True)
        assert rep.model_sha256 == sha and rep.model_path.endswith("meta-model.json")
        assert rep.model_name == "meta-model"
    with torch.no_grad():                                    # trained further in memory
        next(model.parameters()).add_(0.1)
    _, rep = varda.array.fill_array(x, model, return_report=True)
    assert (rep.model_name, rep.model_path, rep.model_sha256) == ("in-memory model", "", "")
    with pytest.raises(InputError, match="changed in memory.*save it again"):
        varda.fill(da.from_array(x, chunks=(15, 8)), model)
