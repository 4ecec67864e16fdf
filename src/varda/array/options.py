"""The fill's options: one definition used by the array, xarray, dask and CLI layers.

Every public entry point (:func:`varda.fill`, ``da.varda.fill``, :func:`varda.array.fill_array`,
``varda fill``) turns its keyword options into one :class:`FillOptions` with
:meth:`FillOptions.from_kwargs` (the CLI with ``varda.cli.fill.fill_options``), resolves it
against the model once (:meth:`FillOptions.resolve`: the model's default ``keep_observed``, its
``n_iter`` and ``n_iter_max``) and passes that object down; provenance records
``dataclasses.asdict`` of the resolved options.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any, Mapping

from varda.array.validate import COMPLETE_CHOICES
from varda.core.model import FillDefaults, VarModel
from varda.errors import InputError, unknown_choice


@dataclass(frozen=True)
class FillOptions:
    """Solver settings of a fill (recorded in the output's provenance).

    Attributes:
        keep_observed: ``True`` keeps observed values bit-for-bit; ``False`` returns the
            solver's estimate everywhere (it also denoises the observations); ``None`` (default)
            takes the model's default, ``model.fill_defaults.keep_observed``
            (``False`` for models that do not say).
        complete: what to do with a window that has no gap: ``"denoise"`` (run the solver) or
            ``"unchanged"`` (return it as it is).
        overlap: overlap of neighbouring tiles, as a fraction of the patch (0.5 = half).
        n_iter: solver iterations (``None``: the model's ``n_iter``); at most
            ``model.n_iter_max`` when the model states it.
        batch_size: tiles per solver call.
        device: ``"auto"`` (GPU when the process has one), ``"cpu"``, ``"cuda"``, ...
    """

    keep_observed: "bool | None" = None
    complete: str = "denoise"
    overlap: float = 0.5
    n_iter: "int | None" = None
    batch_size: int = 64
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.keep_observed is not None and not isinstance(self.keep_observed, bool):
            raise InputError(f"keep_observed must be True, False or None (the model's default), "
                             f"got {self.keep_observed!r}")
        if self.complete not in COMPLETE_CHOICES:
            raise unknown_choice("option complete", self.complete, list(COMPLETE_CHOICES))
        if isinstance(self.overlap, bool) or not isinstance(self.overlap, (int, float)) \
                or not 0.0 <= float(self.overlap) < 1.0:
            raise InputError(f"overlap must be a fraction in [0, 1) of the patch, got "
                             f"{self.overlap!r}")
        if self.n_iter is not None and (isinstance(self.n_iter, bool)
                                        or not isinstance(self.n_iter, int) or self.n_iter < 0):
            raise InputError(f"n_iter must be a non-negative integer or None (the model's), "
                             f"got {self.n_iter!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) \
                or self.batch_size < 1:
            raise InputError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        if not isinstance(self.device, str) or not self.device:
            raise InputError(f"device must be a string such as 'auto', 'cpu' or 'cuda', got "
                             f"{self.device!r}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names, in declaration order."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_kwargs(cls, options: "FillOptions | None" = None, **kwargs: Any) -> "FillOptions":
        """The one place where keyword options become a :class:`FillOptions`.

        Args:
            options: a base object (default: the defaults); ``kwargs`` override its fields.
            **kwargs: option names of this class.

        Raises:
            TypeError: an unknown option (the message lists the valid ones).
        """
        unknown = sorted(set(kwargs) - set(cls.names()))
        if unknown:
            raise TypeError(f"unknown fill option(s) {unknown}; valid options are "
                            f"{', '.join(cls.names())}")
        base = options if options is not None else cls()
        if not isinstance(base, FillOptions):
            raise TypeError(f"options must be a varda.array.FillOptions, got "
                            f"{type(base).__name__}")
        return dataclasses.replace(base, **kwargs) if kwargs else base

    @classmethod
    def split(cls, kwargs: Mapping[str, Any]) -> tuple[dict, dict]:
        """``(fill options, everything else)`` of a keyword dict."""
        mine = {k: v for k, v in kwargs.items() if k in cls.names()}
        return mine, {k: v for k, v in kwargs.items() if k not in mine}

    @property
    def resolved(self) -> bool:
        """True once :meth:`resolve` filled in the model's defaults."""
        return self.keep_observed is not None and self.n_iter is not None

    def resolve(self, model: VarModel) -> "FillOptions":
        """These options with the model's defaults filled in, checked against its limits.

        ``keep_observed=None`` becomes ``model.fill_defaults.keep_observed`` (False when the
        model states no defaults); ``n_iter=None`` becomes ``model.n_iter``.

        Raises:
            InputError: ``n_iter`` above ``model.n_iter_max``.
        """
        keep = self.keep_observed
        if keep is None:
            keep = (model.fill_defaults or FillDefaults()).keep_observed
        n_iter = self.n_iter if self.n_iter is not None else int(model.n_iter)
        limit = model.n_iter_max
        if limit is not None and n_iter > int(limit):
            raise InputError(
                f"n_iter={n_iter} is more solver iterations than this model was trained or "
                f"validated for (n_iter_max = {int(limit)}; its default is {model.n_iter}); "
                f"choose n_iter <= {int(limit)} (CLI: --n-iter {int(limit)}) or leave it unset")
        return dataclasses.replace(self, keep_observed=keep, n_iter=n_iter)


__all__ = ["FillOptions", "COMPLETE_CHOICES"]
