import time, torch, sys
from varda.core.model import build_model
torch.set_num_threads(1)
def unet2d(hp, hs, kp=3, ks=3, pool=(2,1), depth=1):
    return build_model({"prior": {"type":"unet","ndim":2,"hidden":hp,"depth":depth,"kernel":kp,"pool":list(pool),"periodic":[False,True],"bilinear":True},
      "solver":{"type":"lstm","ndim":2,"hidden":hs,"kernel":ks,"periodic":[False,True]},"axes":["time","site"],"patch_shape":[200,40],"n_iter":4,"second_order":True})
def fold(hp, hs):
    from varda.benchmarks.l96 import unet_model
    return unet_model(hidden_prior=hp, hidden_solver=hs, n_iter=4)
cfgs = {"fold32": lambda: fold(32,32), "fold128": lambda: fold(128,128), "2d8": lambda: unet2d(8,8), "2d16": lambda: unet2d(16,16), "2d16k5": lambda: unet2d(16,16,kp=(3,5),ks=(3,5))}
if __name__ == "__main__":
  B, T, K = 32, 40, 4
  for name in sys.argv[1:]:
      m = cfgs[name](); m.train()
      y = torch.randn(B,1,T,40); mk = (torch.rand(B,1,T,40)<0.125).float(); x=torch.randn(B,1,T,40)
      opt = torch.optim.Adam(m.parameters())
      for i in range(3):
          t0=time.perf_counter()
          xh = m(y*mk, mk, n_iter=K); loss=((xh-x)**2).mean()+0.05*((x-m.prior(x))**2).mean()
          opt.zero_grad(); loss.backward(); opt.step()
          dt=time.perf_counter()-t0
      print(name, sum(p.numel() for p in m.parameters()), f"{dt*1000/(B*K*T/200):.1f} ms per 200-step-sample-iter", flush=True)
