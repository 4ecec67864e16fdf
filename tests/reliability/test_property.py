"""Property: random shapes, chunkings and gap patterns give either a clear InputError or a
finite result equal to the in-memory fill; keep_observed=True keeps observations bit for bit."""
from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import varda
from varda.errors import InputError, VardaWarning


@given(batch=st.integers(1, 3), t=st.integers(1, 48), seed=st.integers(0, 10_000),
       frac=st.sampled_from([0.0, 0.3, 0.8, 0.97, 1.0]),
       pattern=st.sampled_from(["random", "blocks", "rows", "columns"]),
       keep=st.booleans(), data=st.data())
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_fills_error_clearly_or_match_the_in_memory_fill(ws, batch, t, seed, frac,
                                                                 pattern, keep, data):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(size=(batch, t, 8)), axis=1).astype(np.float32)
    if pattern == "random":
        gaps = rng.random(x.shape) < frac
    elif pattern == "blocks":
        gaps = np.zeros(x.shape, bool)
        start = rng.integers(0, t)
        gaps[:, start:start + max(1, int(frac * t))] = True
    elif pattern == "rows":       # whole time steps missing
        gaps = np.broadcast_to(rng.random((batch, t, 1)) < frac, x.shape).copy()
    else:                         # whole sites missing
        gaps = np.broadcast_to(rng.random((batch, 1, 8)) < frac, x.shape).copy()
    x[gaps] = np.nan
    copy = x.copy()
    chunks = (data.draw(st.integers(1, batch), "batch chunk"),
              data.draw(st.integers(1, t), "time chunk"), data.draw(st.sampled_from([4, 8])))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VardaWarning)
        try:
            ref = varda.fill(x, ws.model, keep_observed=keep)
        except InputError as e:
            msg = str(e)
            assert "obs" in msg and ("NaN" in msg or "observed" in msg), msg
            try:
                varda.fill(da.from_array(x, chunks=chunks), ws.model, keep_observed=keep)
            except InputError as e2:
                assert str(e2) == msg           # the same clear error, lazily too
            else:
                raise AssertionError("dask accepted what NumPy refused")
            ws.check()
            return
        got = varda.fill(da.from_array(x, chunks=chunks), ws.model,
                         keep_observed=keep).compute()
    assert np.isfinite(ref).all() and np.isfinite(got).all()
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    if keep:
        obs = np.isfinite(x)
        np.testing.assert_array_equal(ref[obs], x[obs])
        np.testing.assert_array_equal(got[obs], x[obs])
    np.testing.assert_array_equal(np.isnan(x), np.isnan(copy))     # input not modified
    np.testing.assert_array_equal(x[~np.isnan(x)], copy[~np.isnan(copy)])
    ws.check()

