"""Dictionary-learning baseline (scikit-learn sparse coding + iterated coding–decoding)."""
from __future__ import annotations

import numpy as np
import pytest

from varda.baselines import SparseDictionary, learn_dictionary
from varda.errors import InputError


def _sparse_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Samples (n, 8, 8) that are sparse combinations of 12 smooth atoms."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:8, 0:8] / 8.0
    atoms = np.stack([np.sin(np.pi * (a * xx + b * yy) + c)
                      for a, b, c in rng.uniform(0.3, 2.0, (12, 3))])
    codes = np.zeros((n, 12))
    for i in range(n):
        idx = rng.choice(12, 3, replace=False)
        codes[i, idx] = rng.normal(0, 1, 3)
    return codes @ atoms.reshape(12, -1), atoms


@pytest.fixture(scope="module")
def learned() -> tuple[SparseDictionary, np.ndarray]:
    flat, _ = _sparse_data(600)
    x = flat.reshape(-1, 8, 8)
    d = learn_dictionary(x[:500], n_atoms=16, alpha=0.1, max_iter=5, batch_size=64, seed=0,
                         n_nonzero=3)
    return d, x[500:540]


def _gappy(x: np.ndarray, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    obs = rng.random(x.shape) > 0.3
    return np.where(obs, x, np.nan), obs


@pytest.mark.parametrize("algorithm,kw", [("omp", {"n_nonzero": 3}),
                                          ("lasso_cd", {"alpha": 0.01})])
def test_inpainting_beats_mean_fill_and_iterations_help(learned, algorithm, kw):
    d, x = learned
    coder = d.with_coder(algorithm, **kw)
    y, obs = _gappy(x)
    before = y.copy()
    mean_fill = np.where(obs, x, d.mean.reshape(8, 8))
    err_mean = ((mean_fill - x)[~obs] ** 2).mean()
    est1 = coder.inpaint(y, obs, n_iter=1)
    est = coder.inpaint(y, obs, n_iter=15)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(before))   # input not modified
    err1 = ((est1 - x)[~obs] ** 2).mean()
    err = ((est - x)[~obs] ** 2).mean()
    assert est.shape == x.shape and np.isfinite(est).all()
    assert err < 0.5 * err_mean
    assert err < err1                                               # re-coding fills gaps better


def test_projection_p_score_small_on_training_like_data(learned):
    d, x = learned
    p = ((d.project(x) - x) ** 2).mean() / (x ** 2).mean()
    assert p < 0.2
    assert d.encode(x).shape == (len(x), 16)
    assert (np.count_nonzero(d.encode(x), axis=1) <= 3).all()       # OMP: at most n_nonzero


def test_no_gap_and_all_missing_images_explicit(learned):
    d, x = learned
    y = x[:4].copy()
    y[1] = np.nan                                  # image 1 entirely missing
    y[2, :4] = np.nan                              # image 2 has gaps; 0 and 3 have none
    est = d.inpaint(y, n_iter=5)
    np.testing.assert_allclose(est[1], d.mean.reshape(8, 8))        # nothing to code from
    # a complete image is coded once (denoised), however many rounds are asked
    np.testing.assert_allclose(est[0], d.project(x[:1])[0])
    np.testing.assert_allclose(est[3], d.project(x[3:4])[0])
    assert not np.allclose(est[2], d.inpaint(y[2:3], n_iter=1)[0])


def test_bad_inputs(learned):
    d, x = learned
    with pytest.raises(InputError, match="differs"):
        d.inpaint(x[:2], np.ones((3, 8, 8), bool))
    with pytest.raises(InputError, match=r"shape \(N, 8, 8\)"):
        d.encode(np.zeros((2, 7, 7)))
    with pytest.raises(InputError, match="complete samples"):
        d.encode(np.full((1, 8, 8), np.nan))
    with pytest.raises(ValueError, match="n_iter"):
        d.inpaint(x[:1], n_iter=0)
    with pytest.raises(ValueError, match="sparse coder"):
        d.with_coder("kmeans")


def test_learning_is_seeded():
    flat, _ = _sparse_data(200, seed=2)
    x = flat.reshape(-1, 8, 8)
    a = learn_dictionary(x, n_atoms=8, max_iter=2, batch_size=32, seed=5)
    b = learn_dictionary(x, n_atoms=8, max_iter=2, batch_size=32, seed=5)
    np.testing.assert_array_equal(a.atoms, b.atoms)
