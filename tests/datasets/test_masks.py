"""Synthetic observation masks: cloud coverage and satellite swaths."""
from __future__ import annotations

import numpy as np
import pytest

from varda.datasets.masks import cloud_masks, swath_masks


def test_cloud_masks_cover_the_asked_fraction_and_follow_the_seed():
    m = cloud_masks((3, 32, 40), coverage=0.3, seed=4)
    assert m.shape == (3, 32, 40) and m.dtype == bool
    np.testing.assert_allclose((~m).mean(axis=(1, 2)), 0.3, atol=1 / (32 * 40))
    np.testing.assert_array_equal(m, cloud_masks((3, 32, 40), coverage=0.3, seed=4))
    assert not np.array_equal(m, cloud_masks((3, 32, 40), coverage=0.3, seed=5))
    with pytest.raises(ValueError, match="coverage"):
        cloud_masks((2, 8, 8), coverage=1.0)


def test_swath_masks_are_slanted_tracks_of_the_given_width_that_drift():
    width, spacing, slope = 3, 10, 0.5
    m = swath_masks((6, 20, 30), width=width, spacing=spacing, slope=slope, seed=1)
    assert m.shape == (6, 20, 30) and m.dtype == bool
    np.testing.assert_allclose(m.mean(), width / spacing, atol=0.05)   # the tracks' share
    yy, xx = np.mgrid[0:20, 0:30]
    for t in range(6):   # each step: one offset puts every observed point on a track
        pos = (xx + slope * yy)[m[t]]
        offsets = [o for o in range(spacing) if (((pos + o) % spacing) < width).all()
                   and (((xx + slope * yy + o) % spacing < width) == m[t]).all()]
        assert len(offsets) == 1
    assert len({m[t].tobytes() for t in range(6)}) > 1                 # the tracks drift
    np.testing.assert_array_equal(m, swath_masks((6, 20, 30), width=width, spacing=spacing,
                                                 slope=slope, seed=1))
    lead = swath_masks((2, 6, 20, 30), width=width, spacing=spacing, slope=slope, seed=1)
    assert lead.shape == (2, 6, 20, 30) and (lead == m).all()         # broadcast over members
