"""The scattered-data OI kernel (varda.array.oi_tracks) against closed forms."""
from __future__ import annotations

import numpy as np
import pytest

from varda.array.oi_tracks import scattered_oi, structure_noise_var
from varda.errors import InputError


def test_one_observation_closed_form():
    s2, r, L, T = 2.0, 0.5, 10.0, 3.0
    tgt = np.array([[0.0, 0.0], [5.0, 0.0], [100.0, 0.0]])
    est, err = scattered_oi(np.zeros((1, 2)), np.zeros(1), np.array([1.5]), np.array([r]),
                            tgt, np.array([0.0, 2.0, 0.0]), space_scale=L, time_scale=T,
                            signal_var=s2)
    rho = np.exp(-0.5 * ((tgt[:, 0] / L) ** 2 + (np.array([0.0, 2.0, 0.0]) / T) ** 2))
    rho[2] = 0.0                                     # beyond the cutoff
    np.testing.assert_allclose(est, s2 * rho / (s2 + r) * 1.5)
    np.testing.assert_allclose(err ** 2, s2 - (s2 * rho) ** 2 / (s2 + r))
    assert err[2] == pytest.approx(np.sqrt(s2))      # far away: the prior std


def test_groups_give_the_global_oi_when_every_observation_is_a_neighbour():
    rng = np.random.default_rng(0)
    pos, t, y = rng.uniform(0, 50, (40, 2)), rng.uniform(0, 10, 40), rng.standard_normal(40)
    tp, tt = rng.uniform(0, 50, (12, 2)), rng.uniform(0, 10, 12)
    kw = dict(space_scale=15.0, time_scale=4.0, signal_var=1.0, n_neighbors=40, cutoff=1e3)
    one = scattered_oi(pos, t, y, np.full(40, 0.1), tp, tt, **kw)
    grouped = scattered_oi(pos, t, y, np.full(40, 0.1), tp, tt, group_size=4, **kw)
    C = np.exp(-0.5 * (((pos[:, None] - pos[None]) ** 2).sum(-1) / 225
                       + (t[:, None] - t[None]) ** 2 / 16))
    c = np.exp(-0.5 * (((tp[:, None] - pos[None]) ** 2).sum(-1) / 225
                       + (tt[:, None] - t[None]) ** 2 / 16))
    exact = c @ np.linalg.solve(C + 0.1 * np.eye(40), y)
    np.testing.assert_allclose(one[0], exact, atol=1e-10)
    np.testing.assert_allclose(grouped[0], exact, atol=1e-10)
    np.testing.assert_allclose(grouped[1], one[1], atol=1e-10)
    with pytest.raises(InputError, match="groups of 5"):
        scattered_oi(pos, t, y, np.full(40, 0.1), tp, tt, group_size=5, **kw)


def test_structure_function_noise():
    rng = np.random.default_rng(1)
    x = np.arange(2000) * 0.05
    v = np.sin(x) + 0.2 * rng.standard_normal(x.size)
    assert np.sqrt(structure_noise_var(v, [np.arange(1000), np.arange(1000, 2000)])) == \
        pytest.approx(0.2, rel=0.1)
    with pytest.raises(InputError, match="noise_std="):
        structure_noise_var(v, [np.arange(2)])
