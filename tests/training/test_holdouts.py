"""Held-out clouds last as long as the real gaps: single steps for clouds that change every
step, several steps for clouds that persist (so held-out points are as hard as real gaps)."""
from __future__ import annotations

import numpy as np

from varda.training.holdouts import gap_persistence, held_out_marks, time_distance


def _persistent_clouds(n_t=120, n=400, length=4, seed=0):
    """Each pixel cloudy in runs of ``length`` steps, about 60 % of the time."""
    rng = np.random.default_rng(seed)
    seen = np.ones((n_t, n), bool)
    for j in range(n):
        for start in rng.choice(n_t, size=n_t * 6 // (10 * length), replace=False):
            seen[start:start + length, j] = False
    seen[0] |= ~seen.any(axis=0)        # every pixel observed at least once
    return seen


def test_time_distance_counts_steps_to_the_nearest_observation_of_the_pixel():
    seen = np.zeros((7, 2), bool)
    seen[1, 0] = seen[5, 0] = True
    seen[6, 1] = True
    np.testing.assert_array_equal(time_distance(seen)[:, 0], [1, 0, 1, 2, 1, 0, 1])
    np.testing.assert_array_equal(time_distance(seen)[:, 1], [6, 5, 4, 3, 2, 1, 0])


def test_clouds_that_change_every_step_are_held_out_one_step_at_a_time():
    seen = np.random.default_rng(1).random((100, 300)) > 0.5
    assert gap_persistence(seen, 0, seed=0) == 1


def test_persistent_clouds_are_held_out_for_several_steps_as_hard_as_the_real_gaps():
    seen = _persistent_clouds()
    p = gap_persistence(seen, 0, seed=0)
    assert p > 1
    hid = held_out_marks(seen, 0, seed=0)
    assert np.array_equal(hid, held_out_marks(seen, 0, seed=0, persistence=p))
    assert not (hid & ~seen).any()
    left = seen & ~hid
    use = hid & left.any(axis=0)
    real = time_distance(seen)[~seen].mean()
    assert time_distance(left)[use].mean() >= real
    one = held_out_marks(seen, 0, seed=0, persistence=1)
    assert time_distance(seen & ~one)[one].mean() < real      # single steps are too easy
    moved = held_out_marks(seen.T, 1, seed=0)                 # any time axis
    assert np.array_equal(moved.T, hid)
