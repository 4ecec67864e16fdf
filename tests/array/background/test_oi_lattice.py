"""The compiled lattice OI kernel behind the OI background."""
from __future__ import annotations

import numpy as np
import pytest

from varda.array.background.oi_kernel import oi_array
from varda.array.background.oi_lattice import oi_lattice
from varda.array.background.oi_stencil import stencil
from varda.errors import InputError


def _gappy(shape=(12, 7, 9), frac=0.6, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(shape)
    v[rng.random(shape) < frac] = np.nan
    return v


def _dense_oi(v, scales, point, noise):
    """Every observation within the cutoff, one dense solve: the definition."""
    grid = np.argwhere(np.ones(v.shape, bool)) / np.asarray(scales)
    seen = np.isfinite(v.ravel())
    x, o, vals = grid[point], grid[seen], v.ravel()[seen]
    d = np.sqrt(((o - x) ** 2).sum(1))
    use = (d <= 3.0) & (d > 0)
    o, vals = o[use], vals[use]
    cov = np.exp(-0.5 * ((o[:, None] - o[None]) ** 2).sum(-1)) + noise * np.eye(len(o))
    return np.linalg.solve(cov, np.exp(-0.5 * d[use] ** 2)) @ vals


def test_with_every_neighbour_it_is_the_dense_leave_one_out_solve():
    v = _gappy()
    scales = (2.3, 1.7, 1.3)              # no lattice point exactly on the cutoff sphere
    est = oi_lattice(v, scales, noise_ratio=0.05, n_neighbors=500)
    for p in range(0, v.size, 7):
        assert est.ravel()[p] == pytest.approx(_dense_oi(v, scales, p, 0.05), abs=1e-10)


def test_it_matches_the_kd_tree_oi_on_a_grid():
    v = _gappy(seed=1)
    flat = v.reshape(v.shape[0], -1)
    pos = np.argwhere(np.ones(v.shape[1:], bool)).astype(float)
    ref = oi_array(flat, pos, np.arange(v.shape[0], dtype=float), length_scale=1.5,
                   time_scale=2.3, noise_ratio=0.05, n_neighbors=500,
                   targets=np.ones(flat.shape, bool), background=np.zeros(flat.shape))
    est = oi_lattice(v, (2.3, 1.5, 1.5), noise_ratio=0.05, n_neighbors=500)
    np.testing.assert_allclose(est.reshape(flat.shape), ref, atol=1e-10)


def test_targets_threads_and_translation_do_not_change_a_value():
    v = _gappy(shape=(20, 16, 18), seed=2)
    full = oi_lattice(v, (2.0, 1.5, 1.5), n_neighbors=16)
    some = np.zeros(v.shape, bool)
    some[::3, 2:9, 4:] = True
    part = oi_lattice(v, (2.0, 1.5, 1.5), n_neighbors=16, targets=some)
    np.testing.assert_array_equal(part[some], full[some])
    assert not part[~some].any()
    import numba
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        np.testing.assert_array_equal(oi_lattice(v, (2.0, 1.5, 1.5), n_neighbors=16), full)
    finally:
        numba.set_num_threads(before)
    # a block with a halo of the stencil's reach gives the interior's values exactly
    reach = int(np.abs(stencil((2.0, 1.5, 1.5))).max(axis=0)[1])
    block = oi_lattice(v[:, :, 6 - reach:], (2.0, 1.5, 1.5), n_neighbors=16)
    np.testing.assert_array_equal(block[:, :, reach:], full[:, :, 6:])


def test_stencil_is_sorted_and_the_input_is_kept():
    off = stencil((2.0, 1.5))
    d2 = ((off / np.array([2.0, 1.5])) ** 2).sum(1)
    assert np.all(np.diff(d2) >= 0) and d2.max() <= 9.0 + 1e-12 and (d2 > 0).all()
    v = _gappy()
    copy = v.copy()
    oi_lattice(v, (2.0, 1.5, 1.5))
    np.testing.assert_array_equal(v, copy)


def test_nothing_observed_gives_zero_and_bad_scales_are_refused():
    assert not oi_lattice(np.full((4, 5), np.nan), (1.0, 1.0)).any()
    with pytest.raises(InputError, match="one scale per axis"):
        oi_lattice(np.zeros((4, 5)), (1.0,))
    with pytest.raises(InputError, match="> 0"):
        oi_lattice(np.zeros((4, 5)), (1.0, 0.0))


def test_concurrent_calls_survive_numbas_workqueue_layer():
    """dask's threaded scheduler calls the kernel from several threads at once; numba's
    fallback threading layer aborts the process on that unless the calls are serialised."""
    import os
    import subprocess
    import sys
    code = ("import numpy as np, numba\n"
            "from concurrent.futures import ThreadPoolExecutor\n"
            "from varda.array.background.oi_lattice import oi_lattice\n"
            "v = np.random.default_rng(0).standard_normal((30, 20, 20)); v[v > 0.5] = np.nan\n"
            "with ThreadPoolExecutor(4) as ex:\n"
            "    r = list(ex.map(lambda i: oi_lattice(v, (2.0, 1.5, 1.5)).sum(), range(8)))\n"
            "assert numba.threading_layer() == 'workqueue' and len(set(r)) == 1\n"
            "print('ok')\n")
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


def test_a_launch_keeps_torchs_thread_count():
    """numba's OpenMP layer sets the calling thread's OpenMP thread count, which torch reads as
    its intra-op thread count; the OI background must leave it as the caller set it (a fresh process, so
    that the first launch, which starts numba's threading layer, is the one checked)."""
    import subprocess
    import sys
    code = ("import torch, numpy as np, varda\n"
            "torch.set_num_threads(1)\n"
            "from varda.array.background.field import background\n"
            "from varda.datasets.osse import make_sst_osse\n"
            "y = make_sst_osse('tiny', seed=12).obs.values.astype(np.float32)\n"
            "spec = varda.load('sst-osse').meta['background']\n"
            "for _ in range(2):\n"
            "    background(y, 0, spec)\n"
            "    assert torch.get_num_threads() == 1, torch.get_num_threads()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**__import__("os").environ, "OMP_NUM_THREADS": "2",
                               "NUMBA_NUM_THREADS": "2"})
    assert proc.returncode == 0, proc.stderr[-2000:]
