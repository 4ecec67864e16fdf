"""Dictionary-learning (sparse coding) baseline for inpainting and denoising small images.

scikit-learn learns the dictionary (:class:`~sklearn.decomposition.MiniBatchDictionaryLearning`)
and computes the sparse codes (:func:`~sklearn.decomposition.sparse_encode`, with OMP or a
Lasso); this module only adapts them to gaps by iterated coding–decoding: start from the
observations with the mean in the gaps, code, decode, put the observed values back, code
again, … ; the estimate is the last decoding (denoised everywhere).

Arrays are NumPy, samples flattened or not (``(N, *shape)``), in the units the dictionary was
learned in (the benchmark uses normalised units).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import warnings

import numpy as np
from sklearn.decomposition import MiniBatchDictionaryLearning, sparse_encode
from sklearn.exceptions import ConvergenceWarning

from varda.errors import InputError

ALGORITHMS = ("omp", "lasso_lars", "lasso_cd")


@dataclass
class SparseDictionary:
    """A learned dictionary and the coder that uses it.

    Attributes:
        atoms: ``(n_atoms, n_features)`` unit-norm atoms.
        mean: ``(n_features,)`` mean removed before coding.
        shape: the sample shape (e.g. ``(28, 28)``).
        algorithm: ``"omp"``, ``"lasso_lars"`` or ``"lasso_cd"``.
        n_nonzero: non-zero coefficients per code (OMP).
        alpha: the Lasso penalty (``lasso_*``).
    """

    atoms: np.ndarray
    mean: np.ndarray
    shape: tuple
    algorithm: str = "omp"
    n_nonzero: int = 10
    alpha: float = 0.1
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown sparse coder {self.algorithm!r}; choose one of {ALGORITHMS}")

    def with_coder(self, algorithm: str, *, n_nonzero: "int | None" = None,
                   alpha: "float | None" = None) -> "SparseDictionary":
        """The same atoms with another coder (or other coder settings)."""
        return SparseDictionary(self.atoms, self.mean, self.shape, algorithm,
                                self.n_nonzero if n_nonzero is None else int(n_nonzero),
                                self.alpha if alpha is None else float(alpha), dict(self.info))

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Sparse codes ``(N, n_atoms)`` of complete samples ``(N, *shape)``."""
        flat = _flat(x, self.shape) - self.mean
        kw = ({"n_nonzero_coefs": min(self.n_nonzero, self.atoms.shape[0])}
              if self.algorithm == "omp" else {"alpha": self.alpha})
        with warnings.catch_warnings():
            # coordinate descent stops at max_iter on some samples; the codes are still usable
            warnings.simplefilter("ignore", ConvergenceWarning)
            return sparse_encode(flat, self.atoms, algorithm=self.algorithm, **kw)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Samples ``(N, *shape)`` from codes."""
        return (codes @ self.atoms + self.mean).reshape(len(codes), *self.shape)

    def project(self, x: np.ndarray) -> np.ndarray:
        """decode(encode(x)): the dictionary's Φ(x), for the P-score."""
        return self.decode(self.encode(x)).astype(np.asarray(x).dtype, copy=False)

    def inpaint(self, y: np.ndarray, observed: "np.ndarray | None" = None, *,
                n_iter: int = 10) -> np.ndarray:
        """Fill gaps and denoise by iterated coding–decoding.

        Args:
            y: observations ``(N, *shape)``; NaN (or anything where ``observed`` is False) in
                the gaps.
            observed: bool mask, True where observed (default: ``isfinite(y)``).
            n_iter: coding–decoding rounds (≥ 1). An image without gaps needs one round
                (it is only denoised) and gets exactly one, whatever ``n_iter``.

        Returns:
            float array of ``y``'s shape: the last decoding. An image with no observed pixel
            at all has nothing to code from and is returned as the dictionary's mean image
            (documented, not an error: a zero code).
        """
        if n_iter < 1:
            raise ValueError(f"n_iter must be >= 1, got {n_iter}")
        y = np.asarray(y, dtype=np.float64)
        obs = np.isfinite(y)
        if observed is not None:
            observed = np.asarray(observed, bool)
            if observed.shape != y.shape:
                raise InputError(f"observed mask shape {observed.shape} differs from y's "
                                 f"{y.shape}")
            obs &= observed
        n = len(y)
        yf, of = _flat(y, self.shape, finite=False), obs.reshape(n, -1)
        empty = ~of.any(axis=1)
        complete = of.all(axis=1)
        x = np.where(of, yf, self.mean)
        out = np.tile(self.mean, (n, 1))
        todo = np.flatnonzero(~empty)
        for it in range(n_iter):
            if len(todo) == 0:
                break
            rec = self.decode(self.encode(x[todo])).reshape(len(todo), -1)
            out[todo] = rec
            x[todo] = np.where(of[todo], yf[todo], rec)
            todo = todo[~complete[todo]]          # complete images: one round only
        return out.reshape(y.shape)


def _flat(x: np.ndarray, shape: tuple, *, finite: bool = True) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    n_feat = int(np.prod(shape))
    if x.ndim < 1 or x[0].size != n_feat:
        raise InputError(f"samples must have shape (N, {', '.join(map(str, shape))}), "
                         f"got {x.shape}")
    if finite and not np.isfinite(x).all():
        raise InputError("complete samples are needed here (found NaN or inf); use inpaint() "
                         "for samples with gaps")
    return x.reshape(len(x), n_feat)


def learn_dictionary(x: np.ndarray, *, n_atoms: int = 128, alpha: float = 1.0,
                     batch_size: int = 256, max_iter: int = 2, seed: int = 0,
                     fit_algorithm: str = "cd",
                     algorithm: str = "omp", n_nonzero: int = 10,
                     coder_alpha: float = 0.1) -> SparseDictionary:
    """Learn a dictionary on complete training samples with scikit-learn.

    Args:
        x: training samples ``(N, *shape)`` (complete, no NaN).
        n_atoms: dictionary size.
        alpha: sparsity penalty of the dictionary learning.
        batch_size, max_iter: mini-batch size and passes over the data.
        fit_algorithm: scikit-learn's coder during learning (``"cd"``: coordinate descent,
            several times faster than ``"lars"`` on 784-pixel images).
        seed: seeds scikit-learn's learning.
        algorithm, n_nonzero, coder_alpha: the coder used by :meth:`SparseDictionary.encode`.
    """
    x = np.asarray(x)
    shape = tuple(x.shape[1:])
    flat = _flat(x, shape)
    mean = flat.mean(axis=0)
    learner = MiniBatchDictionaryLearning(n_components=n_atoms, alpha=alpha,
                                          batch_size=batch_size, max_iter=max_iter,
                                          fit_algorithm=fit_algorithm, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        learner.fit(flat - mean)
    return SparseDictionary(learner.components_.astype(np.float64), mean, shape, algorithm,
                            int(n_nonzero), float(coder_alpha),
                            {"n_atoms": n_atoms, "alpha": alpha, "max_iter": max_iter,
                             "n_iter_run": int(learner.n_iter_), "seed": seed})
