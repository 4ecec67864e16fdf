"""The patch engine (pure NumPy): tile grid, blend window, blending and padding."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from varda.array.patches import blend_patches
from varda.array.tiling import AxisGrid, blend_window, stride_for


@given(n=st.integers(1, 120), patch=st.integers(2, 40), overlap=st.floats(0.0, 0.9))
@settings(max_examples=60, deadline=None)
def test_tiles_cover_the_axis_and_touching_matches_brute_force(n, patch, overlap):
    g = AxisGrid(n, patch, stride_for(patch, overlap) if n > patch else patch)
    starts = [k * g.stride for k in range(g.n_tiles)]
    covered = np.zeros(n, bool)
    for s in starts:
        covered[s:s + patch] = True
    assert covered.all()
    assert starts[-1] + patch >= n and (len(starts) == 1 or starts[-2] + patch < n)
    lo = n // 3
    hi = max(lo + 1, 2 * n // 3)
    brute = [s for s in starts if s < hi and s + patch > lo]
    assert g.starts_touching(lo, hi) == brute


def test_sin2_windows_at_half_stride_sum_to_one():
    p = 20
    w = blend_window(p, tiled=True)
    assert (w > 0).all()
    total = w[:p // 2] + w[p // 2:]
    np.testing.assert_allclose(total, 1.0, atol=1e-12)
    assert (blend_window(p, tiled=False) == 1).all()


def _mean_fill(y, obs):
    """Toy solver: observed values kept, gaps get the tile's observed mean (0 if none)."""
    out = y.copy()
    for i in range(len(y)):
        m = y[i][obs[i]].mean() if obs[i].any() else 0.0
        out[i][~obs[i]] = m
    return out


def _run(y, patch, overlap=0.5, valid=None, solve=_mean_fill):
    nd = len(patch)
    grids = [AxisGrid(n, p, stride_for(p, overlap) if n > p else p)
             for n, p in zip(y.shape[-nd:], patch)]
    valid = np.ones(y.shape, bool) if valid is None else valid
    return blend_patches(y, valid, solve, grids=grids, origin=[0] * nd,
                         region=[(0, g.n) for g in grids], batch_size=7)


def test_constant_field_with_gaps_comes_back_constant():
    y = np.full((2, 45, 23), 3.5, np.float32)
    rng = np.random.default_rng(1)
    y[rng.random(y.shape) < 0.6] = np.nan
    out = _run(y, (10, 8))
    assert out.shape == y.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, 3.5, rtol=1e-6)


def test_identity_solver_returns_complete_field_unchanged():
    y = np.random.default_rng(2).normal(size=(37, 19)).astype(np.float32)
    out = _run(y, (16, 8), solve=lambda a, o: a)
    np.testing.assert_allclose(out, y, rtol=1e-6, atol=1e-6)


def test_tiles_have_patch_shape_and_padding_is_unobserved():
    seen = []

    def spy(y, obs):
        seen.append((y.shape, obs.copy()))
        return y

    y = np.ones((21, 5), np.float32)  # 21 = 16 + 5: the last tile sticks out by 11 points
    _run(y, (16, 8), solve=spy)
    shapes = {s for s, _ in seen}
    assert shapes and all(s[1:] == (16, 8) for s in shapes)
    obs = np.concatenate([o for _, o in seen])
    # sites 5..7 are padding in every tile, so never observed
    assert not obs[:, :, 5:].any()
    # tiles [0, 16) and [8, 24): 16 + 13 rows inside the domain; rows 21.. of tile 2 are padding
    assert len(obs) == 2 and obs.sum() == (16 + 13) * 5
    assert not obs[1, 13:].any()


def test_invalid_points_are_never_observed_and_all_invalid_tiles_are_skipped():
    calls = []

    def spy(y, obs):
        calls.append(len(y))
        return y

    y = np.ones((64, 8), np.float32)
    valid = np.zeros_like(y, bool)
    valid[:8] = True  # only the tile starting at 0 holds field points
    out = _run(y, (16, 8), valid=valid, solve=spy)
    assert sum(calls) == 1  # tile starting at 0 only; the others are all land
    assert np.isfinite(out[:8]).all()


def test_leading_axes_are_independent_windows():
    a = np.random.default_rng(3).normal(size=(3, 40, 8)).astype(np.float32)
    a[:, ::3] = np.nan
    together = _run(a, (16, 8))
    alone = np.stack([_run(a[i], (16, 8)) for i in range(3)])
    np.testing.assert_array_equal(together, alone)


def test_region_of_a_halo_block_equals_the_same_part_of_the_full_run():
    y = np.random.default_rng(4).normal(size=(90, 8)).astype(np.float32)
    y[::4] = np.nan
    grids = [AxisGrid(90, 16, 8), AxisGrid(8, 8, 8)]
    full = _run(y, (16, 8))
    lo, hi = 30, 55
    block = y[lo - 15:hi + 15]
    part = blend_patches(block, np.ones_like(block, bool), _mean_fill, grids=grids,
                         origin=[lo - 15, 0], region=[(lo, hi), (0, 8)])
    np.testing.assert_array_equal(part, full[lo:hi])


def test_halo_too_small_is_caught():
    y = np.ones((40, 8), np.float32)
    grids = [AxisGrid(90, 16, 8), AxisGrid(8, 8, 8)]
    with pytest.raises(AssertionError, match="halo"):
        blend_patches(y, np.ones_like(y, bool), _mean_fill, grids=grids, origin=[30, 0],
                      region=[(35, 60), (0, 8)])
