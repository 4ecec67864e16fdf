"""Where a spectral score first falls to a threshold, shared by the gridded effective
resolution (:func:`varda.metrics.spectral_score_array`) and the along-track scores."""
from __future__ import annotations

import numpy as np


def score_crossing(freq: np.ndarray, score: np.ndarray, threshold: float) -> tuple[float, str]:
    """The wavelength at which ``score`` (on increasing frequencies ``freq``, from the long
    wavelengths) first falls below ``threshold``, linear in the score between the two
    frequencies around the crossing, and a status: ``"crossed"``, ``"resolved_to_grid"`` (it
    never falls: the shortest wavelength) or ``"unresolved"`` (already below at the longest)."""
    below = np.flatnonzero(score < threshold)
    if below.size == 0:
        return float(1.0 / freq[-1]), "resolved_to_grid"
    if below[0] == 0:
        return float(1.0 / freq[0]), "unresolved"
    i = below[0]
    s0, s1 = score[i - 1], score[i]
    f = freq[i - 1] + (threshold - s0) * (freq[i] - freq[i - 1]) / (s1 - s0)
    return float(1.0 / f), "crossed"
