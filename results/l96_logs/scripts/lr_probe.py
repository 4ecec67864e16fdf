import sys, time, torch
torch.set_num_threads(1)
from varda.benchmarks import l96
lr=float(sys.argv[1]); kind=sys.argv[2]; K=int(sys.argv[3]); budget=float(sys.argv[4])
b = l96.load_benchmark("full")
b.train = b.train.subset(slice(0, 400)); b.val = b.val.subset(slice(0, 32))
mean, std = float(b.train.x.mean()), float(b.train.x.std())
torch.manual_seed(0)
if kind=="unet":
    m = l96.unet_model(hidden_prior=32, hidden_solver=32, n_iter=K, mean=mean, std=std)
    mode="joint"
elif kind=="unetfo":
    m = l96.unet_model(hidden_prior=32, hidden_solver=32, n_iter=K, mean=mean, std=std, second_order=False)
    mode="joint"
elif kind=="rk4":
    m = l96.rk4_model("lstm", hidden=64, n_iter=K, lam=3.0, learn_lambda=True); mode="solver"
elif kind=="bil":
    m = l96.bilinear_model(hidden=64, n_iter=K, mean=mean, std=std); mode="joint"
tr = l96._train(m, b, mode=mode, epochs=1000, batch_size=32, lr=lr, max_time=budget, n_iter=K, seed=0, progress=False, ramp=(0,0), crop=40,
   loss_weights=(1.0,1.0,0.05) if kind=="bil" else (1.0,0.05,0.05), log=lambda s: print(kind, lr, s, flush=True))
print("FINAL", kind, lr, K, l96.evaluate(m, b.val, b.scale)["r_score"], flush=True)
