"""Every setting of the MNIST inpainting benchmark (the seed paper's Table 1 and Fig. 1).

Two modes: ``FULL`` (the table in docs/benchmarks/mnist.md, ≈ 35 min on 2 CPU cores) and
``QUICK`` (the same code on a few hundred images, ≈ 1 min on one thread; run by the tests).

Protocol (both modes): the official MNIST test file; images 0–6999 train, 7000–7999 validate
(every choice: λ, step, sparsity, epoch), 8000–9999 test (scored only). Images are floats in
[0, 1], normalised by the global mean and std of the training images. Degradation: 3 randomly
placed 9 × 9 gaps per image (they may overlap) and Gaussian noise of variance 0.1 in normalised
units on the observed pixels. The test and validation observations are drawn once with fixed
seeds (the same for every row and every training seed).

Sizes against the paper (reported in the docs): the dense auto-encoder has the paper's size
(784-300-30-300-784, ≈ 490k parameters); the ConvLSTM cell has 5 hidden channels and the
solvers run K = 15 iterations, as in the paper. The two-scale U-Net is shrunk from ≈ 550k to
≈ 14k parameters (16 hidden channels) so that joint training (second-order, through 15 solver
iterations) fits the CPU budget.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Folder of the MNIST IDX files: $VARDA_MNIST_DIR, else ../shared/data/mnist from the repo root.
DATA_DIR = Path(os.environ.get("VARDA_MNIST_DIR", ROOT.parent / "shared" / "data" / "mnist"))
RUNS_DIR = ROOT / "experiments" / "mnist" / "runs"
RESULTS_DIR = ROOT / "experiments" / "mnist" / "results"
FIGURES_DIR = ROOT / "docs" / "benchmarks" / "figures"
DOCS_PAGE = ROOT / "docs" / "benchmarks" / "mnist.md"
PRETRAINED_DIR = ROOT / "src" / "varda" / "pretrained"
SHIPPED_NAME = "mnist-unet-joint"
#: Rows whose models may be shipped as SHIPPED_NAME (the lowest validation R-score wins).
SHIPPED_CANDIDATES = ("unet_joint", "unet_joint_cold")

#: The paper's Table 1 (R-score, P-score).
PAPER = {
    "dict_omp": (0.25, 0.21), "dict_lasso": (0.20, 0.21),
    "pca_fsgd": (0.39, 0.12), "pca_lstm": (0.15, 0.12),
    "unet_proj_lstm": (0.21, 1e-3), "unet_joint": (0.09, 0.02),
    "unet_joint_cold": (0.09, 0.02),
}

ROW_TITLES = {
    "zero_fill": "No model: observations, training mean in the gaps",
    "dict_omp": "Dictionary (sparse coding) + OMP, iterated coding-decoding",
    "dict_lasso": "Dictionary (sparse coding) + Lasso (coordinate descent), iterated coding-decoding",
    "pca_fsgd": "PCA prior + FSGD",
    "pca_lstm": "PCA prior + ConvLSTM solver (PCA not joint)",
    "unet_proj_lstm": "Two-scale U-Net pre-trained as a projection + ConvLSTM (not joint)",
    "unet_joint": "Two-scale U-Net (blind-spot, pre-trained as a predictor) + ConvLSTM, joint",
    "unet_joint_cold": "Two-scale U-Net + ConvLSTM, joint from scratch (paper-faithful)",
    "unet_joint_fsgd": "Jointly trained U-Net energy + FSGD (λ frozen, step trained; for Fig. 1; first 500 test images)",
    "ae_fsgd": "Dense AE prior (pre-trained) + FSGD",
    "ae_lstm": "Dense AE prior (pre-trained) + ConvLSTM (not joint)",
    "ae_joint": "Dense AE prior + ConvLSTM, joint (from the pre-trained AE)",
}
ROWS = tuple(ROW_TITLES)

#: Jobs: a group of rows trained in one process, in order (later rows reuse earlier parts).
GROUPS = {
    "unet_joint": ("unet_joint",),
    "unet_cold": ("unet_joint_cold",),
    "unet_proj": ("unet_proj_lstm",),
    "ae": ("ae_fsgd", "ae_lstm", "ae_joint"),
    "pca": ("pca_fsgd", "pca_lstm"),
    "dict": ("dict_omp", "dict_lasso"),
    "zero": ("zero_fill",),
    "unet_fsgd": ("unet_joint_fsgd",),        # needs the unet_joint models: a second phase
}
#: Groups that use the models of other groups: run after all the others.
SECOND_PHASE = ("unet_fsgd",)

PROTOCOL = {
    "n_gaps": 3, "gap_size": 9, "noise_var": 0.1,
    "val_seed": 7001, "test_seed": 8001,     # observation draws of the validation / test images
    "train_copies": 2,                       # training observations: this many draws per image
}

AXES = ("row", "col")
SHAPE = (28, 28)
N_ITER = 15
LSTM_HIDDEN = 5
PCA_COMPONENTS = 50
AE = {"hidden": 300, "latent": 30}
UNET = {"hidden": 16, "depth": 1, "pool": 2, "kernel": 3}
#: The prior of ``unet_joint``: a blind-spot two-scale U-Net (Φ(x) at a pixel does not see
#: that pixel), pre-trained cheaply on the true images as a predictor of each pixel from its
#: neighbours, then trained jointly with the solver. Beyond the paper (which trains from
#: scratch): ``unet_joint_cold`` is the paper-faithful row beside it.
UNET_BLIND = {"hidden": 16, "depth": 0, "pool": 2, "kernel": 5, "blind": True}
#: Groups run for the first seed only (extra rows).
FIRST_SEED_ONLY = ("zero", "unet_cold")

# --- training settings per part; max_time in seconds of wall time (an upper bound of the
# training time on a loaded machine: fewer steps are done when the CPU is shared) ---------
_K_RAMP = {0: 3, 1: 6, 2: 10, 3: N_ITER}     # epochs → solver iterations (curriculum)

FULL = {
    "seeds": [0, 1],
    "n_train": None,             # all of images 0–6999
    "n_val_select": 300,         # validation images used for per-epoch selection in fit
    "n_val_score": 500,          # validation images scored at the end (reported; shipping)
    "n_test": 2000,
    "n_test_extra": 500,         # test images scoring the extra row unet_joint_fsgd
    "dict": {"n_atoms": 512, "alpha": 1.0, "max_iter": 5, "batch_size": 256, "n_iter": 8,
             "omp_nonzero": [10, 20, 40], "lasso_alpha": [0.1, 0.2, 0.4, 0.8],
             "n_val_tune": 150},
    "fsgd": {"lr": 2e-2, "epochs": 30, "steps_per_epoch": 10, "batch_size": 64,
             "max_time": 40, "schedule": {0: N_ITER},
             "step_grid": [1.0, 0.3, 0.1, 0.03, 0.01], "n_val_step": 100},
    "lstm": {"lr": 5e-3, "lr_final": 5e-4, "epochs": 400, "steps_per_epoch": 25,
             "batch_size": 32, "max_time": 120, "schedule": _K_RAMP},
    "prior_pretrain": {"lr": 2e-3, "epochs": 400, "steps_per_epoch": 50, "batch_size": 64,
                       "max_time": 60},
    "blind_pretrain": {"lr": 3e-3, "epochs": 400, "steps_per_epoch": 50, "batch_size": 64,
                       "max_time": 120},
    "joint": {"lr": 3e-3, "lr_final": 3e-4, "epochs": 1000, "steps_per_epoch": 25,
              "batch_size": 32, "max_time": 180, "schedule": _K_RAMP},
    "unet_joint": {"lr": 2e-3, "lr_final": 2e-4, "epochs": 2000, "steps_per_epoch": 25,
                   "batch_size": 32, "max_time": 540, "schedule": {0: 2, 1: 4, 2: 8, 3: N_ITER},
                   "second_order": True, "grad_iters": 4},
    "unet_joint_cold": {"lr": 3e-3, "lr_final": 3e-4, "epochs": 2000, "steps_per_epoch": 25,
                        "batch_size": 32, "max_time": 900,
                        "schedule": {0: 2, 1: 4, 2: 8, 3: N_ITER},
                        "second_order": True, "grad_iters": 4},
}

QUICK = {                     # bounded by steps, not time: the same work (and scores) under load
    "seeds": [0],
    "n_train": 400,
    "n_val_select": 64,
    "n_val_score": 100,
    "n_test": 100,
    "n_test_extra": 100,
    "dict": {"n_atoms": 32, "alpha": 1.0, "max_iter": 2, "batch_size": 128, "n_iter": 4,
             "omp_nonzero": [5, 10], "lasso_alpha": [0.05, 0.2], "n_val_tune": 64},
    "fsgd": {"lr": 5e-2, "epochs": 2, "steps_per_epoch": 5, "batch_size": 32,
             "max_time": None, "schedule": {0: 6}, "step_grid": [0.3, 0.1, 0.03],
             "n_val_step": 32},
    "lstm": {"lr": 5e-3, "lr_final": 1e-3, "epochs": 4, "steps_per_epoch": 5,
             "batch_size": 32, "max_time": None, "schedule": {0: 3, 2: 6}},
    "prior_pretrain": {"lr": 3e-3, "epochs": 3, "steps_per_epoch": 5, "batch_size": 32,
                       "max_time": None},
    "blind_pretrain": {"lr": 5e-3, "epochs": 3, "steps_per_epoch": 5, "batch_size": 32,
                       "max_time": None},
    "joint": {"lr": 3e-3, "lr_final": 1e-3, "epochs": 4, "steps_per_epoch": 5,
              "batch_size": 32, "max_time": None, "schedule": {0: 3, 2: 6}},
    "unet_joint": {"lr": 3e-3, "lr_final": 1e-3, "epochs": 3, "steps_per_epoch": 5,
                   "batch_size": 32, "max_time": None, "schedule": {0: 3, 1: 6},
                   "second_order": True, "grad_iters": 3},
    "unet_joint_cold": {"lr": 3e-3, "lr_final": 1e-3, "epochs": 2, "steps_per_epoch": 5,
                        "batch_size": 16, "max_time": None, "schedule": {0: 3, 1: 6},
                        "second_order": True, "grad_iters": 3},
    "n_iter": 6,
}
FULL["n_iter"] = N_ITER


def mode_settings(quick: bool) -> dict:
    """The settings of one mode (a fresh copy)."""
    import copy
    return copy.deepcopy(QUICK if quick else FULL)
