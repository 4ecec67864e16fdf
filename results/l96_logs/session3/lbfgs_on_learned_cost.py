import time, torch, sys
torch.set_num_threads(1)
import varda
from varda.benchmarks.l96 import load_benchmark, tensors
b = load_benchmark("full")
m = varda.load("l96-unet-joint"); m.eval()
x, y, mk = tensors(b.val)
n = 16
x, y, mk = x[:n], y[:n], mk[:n]
z = m.normalize(y) * mk; xt = m.normalize(x)
R = lambda xh: float(((m.denormalize(xh) - x) ** 2).mean()) / b.scale
with torch.no_grad():
    for K in [10, 15, 20, 30, 50]:
        print("LSTM K", K, R(m(z, mk, n_iter=K)), flush=True)
lam0 = float(m.cost.lam)
print("lambda", lam0)
for scale in [1.0, 0.3, 3.0]:
  for init in ["lstm", "y"]:
    with torch.no_grad():
        x0 = m(z, mk, n_iter=15) if init == "lstm" else z.clone()
    xv = x0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([xv], lr=1, max_iter=1000, history_size=20, line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15)
    with torch.no_grad(): m.cost.log_lambda.fill_(torch.log(torch.tensor(lam0*scale)))
    def closure():
        opt.zero_grad(); u = m.cost(xv, z, mk, m.prior(xv)).sum()*8000; u.backward(); return u
    t0=time.time(); opt.step(closure)
    print(f"lbfgs lam x{scale} init={init} R={R(xv.detach()):.4g} t={time.time()-t0:.0f}s", flush=True)
