import time, torch, sys, math
torch.set_num_threads(1)
from varda.benchmarks.l96 import load_benchmark, tensors, unet_model, bilinear_model, pretrain_prior, bayes_lambda
kind = sys.argv[1]; budget = float(sys.argv[2])
b = load_benchmark("full")
mean, std = float(b.train.x.mean()), float(b.train.x.std())
torch.manual_seed(0)
if kind == "blind":
    m = unet_model(hidden_prior=16, hidden_solver=8, n_iter=10, layout="2d", depth=0, kernel=[3,5], blind=True, mean=mean, std=std)
elif kind == "blind32":
    m = unet_model(hidden_prior=32, hidden_solver=8, n_iter=10, layout="2d", depth=0, kernel=[5,5], blind=True, mean=mean, std=std)
else:
    m = bilinear_model(hidden=8, n_iter=10, second_order=True, mean=mean, std=std, lam=3.0, layout="2d")
pp = pretrain_prior(m, b, budget=budget, seed=0)
lam_b = bayes_lambda(b, pp["val_one_step_mse"], std)
print(kind, pp, "bayes lam", lam_b, flush=True)
x, y, mk = tensors(b.val)
n = 16
x, y, mk = x[:n], y[:n], mk[:n]
z = m.normalize(y) * mk
R = lambda xh: float(((m.denormalize(xh) - x) ** 2).mean()) / b.scale
m.eval()
for p in m.parameters(): p.requires_grad_(False)
for scale in [1.0, 0.1, 0.01]:
    lam = lam_b * scale
    xv = z.clone().requires_grad_(True)
    t0 = time.time()
    for s in range(3):
        ls = lam * 10.0 ** (s - 2)
        with torch.no_grad(): m.cost.log_lambda.fill_(math.log(ls))
        opt = torch.optim.LBFGS([xv], lr=1, max_iter=1000, history_size=20, line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15)
        def closure():
            opt.zero_grad(); u = m.cost(xv, z, mk, m.prior(xv)).sum()*8000; u.backward(); return u
        opt.step(closure)
    print(f"{kind} lbfgs lam {lam:.4g} R={R(xv.detach()):.4g} t={time.time()-t0:.0f}s", flush=True)
