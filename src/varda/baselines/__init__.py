"""Classical (non-learned) methods, for comparison with the learned solvers and as first
guesses: weak-constraint 4D-Var, and the gap-fillers of the field."""
from varda.baselines.fourdvar import fourdvar

__all__ = ["fourdvar"]
