import numpy as np, time
from varda.datasets.lorenz96 import l96_tendency
x = np.random.randn(40)+8
t=time.perf_counter()
for _ in range(100000): l96_tendency(x)
print("roll", (time.perf_counter()-t)/1e5*1e6, "us")
ip1 = np.roll(np.arange(40),-1); im1=np.roll(np.arange(40),1); im2=np.roll(np.arange(40),2)
def f(x, F=8.0):
    return (x[ip1]-x[im2])*x[im1]-x+F
t=time.perf_counter()
for _ in range(100000): f(x)
print("idx", (time.perf_counter()-t)/1e5*1e6, "us")
xp = np.empty(43)
def g(x, F=8.0):
    xp[2:42]=x; xp[0:2]=x[38:40]; xp[42]=x[0]
    return (xp[3:43]-xp[0:40])*xp[1:41]-x+F
t=time.perf_counter()
for _ in range(100000): g(x)
print("pad", (time.perf_counter()-t)/1e5*1e6, "us")
print(np.abs(f(x)-l96_tendency(x)).max(), np.abs(g(x)-l96_tendency(x)).max())
