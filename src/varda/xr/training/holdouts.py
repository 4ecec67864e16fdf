"""Self-supervised holdouts shaped like real gaps: clouds borrowed from other time steps.

DINCAE's protocol (Barth et al. 2020, GMD): to teach a gap-filling model without ground truth,
hide the observed pixels of a sample that are cloudy in *another* sample's mask and score the
reconstruction there. The hidden regions then have the size, shape and coverage of the real
clouds (not isolated random points, which would teach one-pixel interpolation).
"""
from __future__ import annotations

import torch


class BorrowedClouds:
    """A ``holdout`` for :func:`varda.core.fit`: hide where another sample is unobserved.

    Args:
        bank: observed masks ``(M, C, *patch)`` (True/1 where observed), e.g. the masks of the
            training patches; each call draws one per sample.
        keep_min: a sample keeps at least this fraction of its observed points visible: when
            a borrowed mask would hide more, only a random part of it is hidden.

    Calling it with ``(mask, generator)`` returns a bool tensor of the points to hide (only
    observed points; the caller intersects with ``mask`` as well).
    """

    def __init__(self, bank: torch.Tensor, *, keep_min: float = 0.2) -> None:
        if bank.ndim < 3 or bank.shape[0] < 1:
            raise ValueError(f"bank must be (M, C, *patch) with M >= 1, got {tuple(bank.shape)}")
        self.bank = bank.detach().to("cpu", torch.bool)
        self.keep_min = float(keep_min)

    def __call__(self, mask: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        if tuple(mask.shape[1:]) != tuple(self.bank.shape[1:]):
            raise ValueError(f"mask of shape {tuple(mask.shape)} does not match the cloud bank "
                             f"{tuple(self.bank.shape)}")
        idx = torch.randint(self.bank.shape[0], (mask.shape[0],), generator=gen)
        observed = mask.detach().to("cpu") > 0
        hide = observed & ~self.bank[idx]
        if self.keep_min > 0:
            dims = tuple(range(1, mask.ndim))
            n_obs = observed.sum(dims).clamp_min(1).float()
            frac = hide.sum(dims).float() / n_obs
            over = frac > 1.0 - self.keep_min          # would leave too little visible
            if bool(over.any()):
                p = ((1.0 - self.keep_min) / frac.clamp_min(1e-9)).clamp(max=1.0)
                p = torch.where(over, p, torch.ones_like(p))
                thin = torch.rand(mask.shape, generator=gen) < p.view(-1, *([1] * (mask.ndim - 1)))
                hide &= thin
        return hide.to(mask.device)

    def fraction_hidden(self, masks: torch.Tensor, seed: int = 0) -> float:
        """Mean fraction of the observed points of ``masks`` a draw hides (for the model card)."""
        gen = torch.Generator().manual_seed(seed)
        hide = self(masks, gen)
        return float(hide.sum()) / max(float((masks > 0).sum()), 1.0)
