import sys, time, torch
torch.set_num_threads(1)
from varda.benchmarks import l96
dae=float(sys.argv[1]); budget=float(sys.argv[2]); sig=float(sys.argv[3]); K=int(sys.argv[4]); so = sys.argv[5]=="so"
b = l96.load_benchmark("full")
b.val = b.val.subset(slice(0, 32))
mean, std = float(b.train.x.mean()), float(b.train.x.std())
torch.manual_seed(0)
m = l96.unet_model(hidden_prior=32, hidden_solver=32, n_iter=K, mean=mean, std=std, second_order=so)
tag=f"dae{dae}-s{sig}-{sys.argv[5]}"
if dae:
    print(l96.pretrain_prior_dae(m, b, budget=dae, sigma_max=sig, log=lambda s: print(tag, s, flush=True)), flush=True)
tr = l96._train(m, b, mode="joint", epochs=1000, batch_size=32, lr=3e-3, max_time=budget, n_iter=K, seed=0, progress=False, ramp=(0,0), crop=40,
    log=lambda s: print(tag, s, flush=True))
print("FINAL", tag, l96.evaluate(m, b.val, b.scale)["r_score"], flush=True)
