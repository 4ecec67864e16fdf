"""The torch-only core: cost, priors, solvers, first guesses, model, training, metrics,
checkpoints.

Nothing in this sub-package imports xarray or dask.
"""
from varda.core.cost import VariationalCost
from varda.core.curriculum import Curriculum
from varda.core.first_guess import FIRST_GUESSES, BiGRUSmoother
from varda.core.scores import i_score, p_score, r_score, rmse
from varda.core.model import FillDefaults, VarModel, build_model
from varda.core.ode import BilinearODE, Lorenz96, rk4_step
from varda.core.priors import PRIORS, DenseAE, ODEFlowPrior, PCAPrior, TwoScaleUNet
from varda.core.solvers import SOLVERS, FSGD, ConvLSTMSolver
from varda.core.trainer import fit

__all__ = [
    "VariationalCost", "Curriculum", "VarModel", "FillDefaults", "build_model", "fit", "rk4_step", "Lorenz96", "BilinearODE",
    "PRIORS", "PCAPrior", "DenseAE", "TwoScaleUNet", "ODEFlowPrior", "SOLVERS", "FSGD",
    "ConvLSTMSolver", "FIRST_GUESSES", "BiGRUSmoother", "r_score", "i_score", "p_score", "rmse",
]
