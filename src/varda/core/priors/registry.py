"""The registry of prior operators: each prior class registers itself under a name, and
:func:`build_prior` builds one from ``{"type": name, **options}``."""
from __future__ import annotations

from typing import Callable, TypeVar

from varda.core.components import Prior
from varda.errors import unknown_choice

PRIORS: dict[str, type[Prior]] = {}

T = TypeVar("T", bound=type)


def register(name: str) -> Callable[[T], T]:
    """Class decorator: register a prior class under ``name``."""
    def add(cls: T) -> T:
        PRIORS[name] = cls
        return cls
    return add


def build_prior(config: dict) -> Prior:
    """Build a prior from ``{"type": name, **options}``; unknown names list the valid ones."""
    cfg = dict(config)
    kind = cfg.pop("type", None)
    if kind not in PRIORS:
        raise unknown_choice("prior", kind, list(PRIORS))
    return PRIORS[kind](**cfg)
