"""Classical (non-learned) methods, for comparison with the learned solvers and as first
guesses: weak-constraint 4D-Var, and the gap-fillers of the field."""
from varda.baselines.fourdvar import fourdvar

__all__ = ["fourdvar"]
from varda.baselines.dictionary import SparseDictionary, learn_dictionary  # noqa: E402

__all__ += ["SparseDictionary", "learn_dictionary"]
from varda.baselines.climatology import climatology_fill, linear_time_fill  # noqa: E402
from varda.baselines.dineof import dineof  # noqa: E402
from varda.baselines.oi import oi_cross_validate, optimal_interpolation  # noqa: E402

__all__ += ["climatology_fill", "linear_time_fill", "dineof", "optimal_interpolation",
            "oi_cross_validate"]
from varda.baselines.oi_tracks import duacs_cross_validate, duacs_oi  # noqa: E402

__all__ += ["duacs_oi", "duacs_cross_validate"]
