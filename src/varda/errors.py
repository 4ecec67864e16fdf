"""Exception hierarchy: every error varda raises on purpose derives from :class:`VardaError`.

Each message names what was wrong and how to fix it.
"""
from __future__ import annotations


class VardaError(Exception):
    """Base class of all varda errors."""


class InputError(VardaError, ValueError):
    """Bad input data (shape, dtype, values, axes, coordinates)."""


class ConfigError(VardaError, ValueError):
    """A model/solver/prior configuration that cannot be built (unknown name, bad option)."""


class CheckpointError(VardaError, ValueError):
    """A checkpoint that cannot be loaded safely (pickle, truncated, tampered, mismatched)."""


class OutputError(VardaError, ValueError):
    """An output that cannot be written safely (exists, would overwrite the input)."""


def unknown_choice(kind: str, name: object, valid: "list[str] | tuple[str, ...]") -> ConfigError:
    """Build the standard 'unknown X' error that lists the valid choices."""
    choices = ", ".join(repr(v) for v in sorted(valid))
    return ConfigError(f"unknown {kind} {name!r}; valid choices are: {choices}")


class VardaWarning(UserWarning):
    """Base class of the warnings varda emits."""


class NothingToFillWarning(VardaWarning):
    """The input had no missing value: the result is the denoised (or unchanged) field."""
