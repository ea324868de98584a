# jelly-drop scenario of SCENARIO.md in Taichi (CPU, 2 threads), for a same-day peer figure
import sys, time
import numpy as np
import taichi as ti
ti.init(arch=ti.cpu, cpu_max_num_threads=2, default_fp=ti.f32)
n = 32; res = 64; dt = 1e-4
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
vy0 = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
dx = 1.0 / res; inv_dx = float(res)
s = 0.3 / n; vol = s ** 3; mass = vol * 1000.0
E = 1e5; nu = 0.3
mu = E / (2 * (1 + nu)); lam = E * nu / ((1 + nu) * (1 - 2 * nu))
N = n ** 3
x = ti.Vector.field(3, float, N); v = ti.Vector.field(3, float, N)
C = ti.Matrix.field(3, 3, float, N); F = ti.Matrix.field(3, 3, float, N)
gv = ti.Vector.field(3, float, (res, res, res)); gm = ti.field(float, (res, res, res))

@ti.kernel
def init(vy: float):
    for p in x:
        i = p // (n * n); j = (p // n) % n; k = p % n
        x[p] = ti.Vector([i + 0.5, j + 0.5, k + 0.5]) * s + 0.35
        v[p] = ti.Vector([0.0, vy, 0.0]); F[p] = ti.Matrix.identity(float, 3); C[p] = ti.Matrix.zero(float, 3, 3)

@ti.kernel
def substep():
    for I in ti.grouped(gm):
        gv[I] = ti.Vector.zero(float, 3); gm[I] = 0.0
    for p in x:
        base = int(x[p] * inv_dx - 0.5)
        fx = x[p] * inv_dx - base.cast(float)
        w = [0.5 * (1.5 - fx) ** 2, 0.75 - (fx - 1.0) ** 2, 0.5 * (fx - 0.5) ** 2]
        U, sig, V = ti.svd(F[p])
        R = U @ V.transpose()
        J = F[p].determinant()
        tau = 2.0 * mu * (F[p] - R) @ F[p].transpose() + ti.Matrix.identity(float, 3) * lam * J * (J - 1.0)
        affine = -dt * vol * 4.0 * inv_dx * inv_dx * tau + mass * C[p]
        for i, j, k in ti.static(ti.ndrange(3, 3, 3)):
            off = ti.Vector([i, j, k])
            dpos = (off.cast(float) - fx) * dx
            weight = w[i][0] * w[j][1] * w[k][2]
            gv[base + off] += weight * (mass * v[p] + affine @ dpos)
            gm[base + off] += weight * mass
    for I in ti.grouped(gm):
        if gm[I] > 0:
            vv = gv[I] / gm[I] + dt * ti.Vector([0.0, -9.8, 0.0])
            for d in ti.static(range(3)):
                if I[d] < 3 and vv[d] < 0: vv[d] = 0.0
                if I[d] > res - 3 and vv[d] > 0: vv[d] = 0.0
            gv[I] = vv
    for p in x:
        base = int(x[p] * inv_dx - 0.5)
        fx = x[p] * inv_dx - base.cast(float)
        w = [0.5 * (1.5 - fx) ** 2, 0.75 - (fx - 1.0) ** 2, 0.5 * (fx - 0.5) ** 2]
        nv = ti.Vector.zero(float, 3); nC = ti.Matrix.zero(float, 3, 3)
        for i, j, k in ti.static(ti.ndrange(3, 3, 3)):
            off = ti.Vector([i, j, k])
            dpos = (off.cast(float) - fx) * dx
            weight = w[i][0] * w[j][1] * w[k][2]
            g = gv[base + off]
            nv += weight * g; nC += 4.0 * inv_dx * inv_dx * weight * g.outer_product(dpos)
        v[p] = nv; C[p] = nC
        F[p] = (ti.Matrix.identity(float, 3) + dt * nC) @ F[p]
        x[p] += dt * nv

init(vy0)
for _ in range(5): substep()
ti.sync(); t0 = time.perf_counter()
for _ in range(steps): substep()
ti.sync(); t = time.perf_counter() - t0
y = x.to_numpy()[:, 1].astype(np.float64)
print(f"taichi {ti.__version__} cpu x2: particle-steps/s {N*steps/t:.4e}  seconds {t:.4f}  mean y {y.mean():.5f} std y {y.std():.5f} min y {y.min():.5f}")
