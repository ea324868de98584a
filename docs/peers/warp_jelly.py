# jelly-drop scenario of SCENARIO.md in NVIDIA Warp (CPU), for a same-day peer figure
import sys, time
import numpy as np
import warp as wp

n = 32; res = 64; dt = 1e-4
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
vy0 = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
dx = 1.0 / res; inv_dx = float(res)
s = 0.3 / n; vol = s ** 3; rho = 1000.0; mass = vol * rho
E = 1e5; nu = 0.3
mu = E / (2 * (1 + nu)); lam = E * nu / ((1 + nu) * (1 - 2 * nu))

wp.init()
dev = "cpu"

@wp.func
def axis_weight(f: float, i: int) -> float:
    # quadratic B-spline weight of node i (0, 1, 2) at offset f from the base node
    d = 1.5 - f
    w = 0.5 * d * d
    if i == 1:
        d = f - 1.0
        w = 0.75 - d * d
    if i == 2:
        d = f - 0.5
        w = 0.5 * d * d
    return w


@wp.func
def node_weight(fx: wp.vec3, i: int, j: int, k: int) -> float:
    return axis_weight(fx[0], i) * axis_weight(fx[1], j) * axis_weight(fx[2], k)


@wp.kernel
def p2g(x: wp.array(dtype=wp.vec3), v: wp.array(dtype=wp.vec3), C: wp.array(dtype=wp.mat33),
        F: wp.array(dtype=wp.mat33), gv: wp.array3d(dtype=wp.vec3), gm: wp.array3d(dtype=float),
        inv_dx: float, dx: float, dt: float, vol: float, mass: float, mu: float, lam: float):
    p = wp.tid()
    xp = x[p] * inv_dx
    base = wp.vec3i(int(xp[0] - 0.5), int(xp[1] - 0.5), int(xp[2] - 0.5))
    fx = xp - wp.vec3(float(base[0]), float(base[1]), float(base[2]))
    Fp = F[p]
    U = wp.mat33(); sig = wp.vec3(); V = wp.mat33()
    wp.svd3(Fp, U, sig, V)
    R = U * wp.transpose(V)
    J = wp.determinant(Fp)
    tau = 2.0 * mu * (Fp - R) * wp.transpose(Fp) + wp.identity(n=3, dtype=float) * (lam * J * (J - 1.0))
    stress = tau * (-dt * vol * 4.0 * inv_dx * inv_dx)
    affine = stress + C[p] * mass
    mv = v[p] * mass
    for i in range(3):
        for j in range(3):
            for k in range(3):
                weight = node_weight(fx, i, j, k)
                dpos = (wp.vec3(float(i), float(j), float(k)) - fx) * dx
                wp.atomic_add(gv, base[0] + i, base[1] + j, base[2] + k, weight * (mv + affine * dpos))
                wp.atomic_add(gm, base[0] + i, base[1] + j, base[2] + k, weight * mass)

@wp.kernel
def grid_update(gv: wp.array3d(dtype=wp.vec3), gm: wp.array3d(dtype=float), dt: float, res: int):
    i, j, k = wp.tid()
    m = gm[i, j, k]
    if m > 0.0:
        vv = gv[i, j, k] / m + wp.vec3(0.0, -9.8, 0.0) * dt
        if i < 3 and vv[0] < 0.0:
            vv = wp.vec3(0.0, vv[1], vv[2])
        if i > res - 3 and vv[0] > 0.0:
            vv = wp.vec3(0.0, vv[1], vv[2])
        if j < 3 and vv[1] < 0.0:
            vv = wp.vec3(vv[0], 0.0, vv[2])
        if j > res - 3 and vv[1] > 0.0:
            vv = wp.vec3(vv[0], 0.0, vv[2])
        if k < 3 and vv[2] < 0.0:
            vv = wp.vec3(vv[0], vv[1], 0.0)
        if k > res - 3 and vv[2] > 0.0:
            vv = wp.vec3(vv[0], vv[1], 0.0)
        gv[i, j, k] = vv

@wp.kernel
def g2p(x: wp.array(dtype=wp.vec3), v: wp.array(dtype=wp.vec3), C: wp.array(dtype=wp.mat33),
        F: wp.array(dtype=wp.mat33), gv: wp.array3d(dtype=wp.vec3), inv_dx: float, dx: float, dt: float):
    p = wp.tid()
    xp = x[p] * inv_dx
    base = wp.vec3i(int(xp[0] - 0.5), int(xp[1] - 0.5), int(xp[2] - 0.5))
    fx = xp - wp.vec3(float(base[0]), float(base[1]), float(base[2]))
    nv = wp.vec3()
    nC = wp.mat33()
    for i in range(3):
        for j in range(3):
            for k in range(3):
                weight = node_weight(fx, i, j, k)
                dpos = (wp.vec3(float(i), float(j), float(k)) - fx) * dx
                g = gv[base[0] + i, base[1] + j, base[2] + k]
                nv = nv + g * weight
                nC = nC + wp.outer(g, dpos) * (4.0 * inv_dx * inv_dx * weight)
    v[p] = nv
    C[p] = nC
    F[p] = (wp.identity(n=3, dtype=float) + nC * dt) * F[p]
    x[p] = x[p] + nv * dt

idx = (np.arange(n) + 0.5) * s + 0.35
X = np.stack(np.meshgrid(idx, idx, idx, indexing="ij"), -1).reshape(-1, 3).astype(np.float32)
N = X.shape[0]
x = wp.array(X, dtype=wp.vec3, device=dev)
V0 = np.zeros_like(X); V0[:, 1] = vy0
v = wp.array(V0, dtype=wp.vec3, device=dev)
C = wp.zeros(N, dtype=wp.mat33, device=dev)
F = wp.array(np.tile(np.eye(3, dtype=np.float32), (N, 1, 1)), dtype=wp.mat33, device=dev)
gv = wp.zeros((res, res, res), dtype=wp.vec3, device=dev)
gm = wp.zeros((res, res, res), dtype=float, device=dev)

def step():
    gv.zero_(); gm.zero_()
    wp.launch(p2g, dim=N, inputs=[x, v, C, F, gv, gm, inv_dx, dx, dt, vol, mass, mu, lam], device=dev)
    wp.launch(grid_update, dim=(res, res, res), inputs=[gv, gm, dt, res], device=dev)
    wp.launch(g2p, dim=N, inputs=[x, v, C, F, gv, inv_dx, dx, dt], device=dev)

for _ in range(5):
    step()
wp.synchronize()
t0 = time.perf_counter()
for _ in range(steps):
    step()
wp.synchronize()
t = time.perf_counter() - t0
y = x.numpy()[:, 1].astype(np.float64)
print(f"warp {wp.__version__} cpu: particle-steps/s {N*steps/t:.4e}  seconds {t:.4f}  mean y {y.mean():.5f} std y {y.std():.5f} min y {y.min():.5f}")
