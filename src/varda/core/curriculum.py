"""Curricula on the number of solver iterations K used in training.

:func:`varda.core.fit` takes either a fixed ``{epoch: K}`` table or a :class:`Curriculum`,
which maps the *progress* of the run to K. Progress is the larger of the fraction of epochs
done and the fraction of ``max_time`` used, so the same curriculum serves epoch-bounded and
time-bounded runs (a time-bounded run reaches its last level however fast the machine is).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Curriculum:
    """K = ``levels[i]`` from progress ``ramp[i - 1]`` on (``levels[0]`` from the start).

    Args:
        levels: increasing iteration counts, e.g. ``(2, 4, 8, 16)``.
        ramp: the progress fractions in [0, 1) where each next level starts, one fewer than
            ``levels`` and non-decreasing, e.g. ``(0.1, 0.3, 0.6)``.

    Example:
        >>> c = Curriculum(levels=(3, 6, 12), ramp=(0.1, 0.3))
        >>> [c.n_iter(p) for p in (0.0, 0.2, 0.5)]
        [3, 6, 12]
    """

    levels: tuple[int, ...]
    ramp: tuple[float, ...]

    def __post_init__(self) -> None:
        levels = tuple(int(k) for k in self.levels)
        ramp = tuple(float(r) for r in self.ramp)
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "ramp", ramp)
        if not levels or min(levels) < 1:
            raise ValueError(f"curriculum levels must be >= 1 iterations, got {list(levels)}")
        if len(ramp) != len(levels) - 1:
            raise ValueError(f"a curriculum with levels {list(levels)} needs {len(levels) - 1} ramp "
                             f"fractions, got {list(ramp)}")
        if any(not 0.0 <= r < 1.0 for r in ramp) or list(ramp) != sorted(ramp):
            raise ValueError(f"ramp fractions must be non-decreasing in [0, 1), got {list(ramp)}")

    @classmethod
    def quarters(cls, n_iter: int, ramp: Sequence[float] = (0.1, 0.3)) -> "Curriculum":
        """K/4, K/2 then K (distinct levels, at least 1), switching at ``ramp``."""
        levels = sorted({max(1, n_iter // 4), max(1, n_iter // 2), int(n_iter)})
        return cls(tuple(levels), tuple(ramp)[:len(levels) - 1])

    @property
    def final(self) -> int:
        """The last (largest) level: the K a completed run trains at."""
        return self.levels[-1]

    def n_iter(self, progress: float) -> int:
        """K at ``progress`` (fraction of the run done, in [0, 1])."""
        return self.levels[sum(1 for r in self.ramp if progress >= r)]


def default_schedule(epochs: int, n_iter: int) -> dict[int, int]:
    """Iterations ramp geometrically from 1 to ``n_iter`` over the first half of training."""
    if epochs <= 1:  # no room for a ramp: train at the final iteration count
        return {0: n_iter}
    ramp = max(1, epochs // 2)
    out: dict[int, int] = {}
    for e in range(epochs):
        k = n_iter if e >= ramp else max(1, round(n_iter ** (e / ramp)))
        if not out or k != out[max(out)]:
            out[e] = k
    return out


def _iters_at(schedule: dict[int, int], epoch: int) -> int:
    return schedule[max(e for e in schedule if e <= epoch)]
