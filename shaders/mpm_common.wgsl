// Shared by every MPM stage: per-substep parameters, the particle and grid layouts,
// quadratic B-spline weights and the elasticity models. Prepended to each stage's source.

struct Params {
    res: u32,            // grid nodes per axis
    n_particles: u32,
    material: u32,       // 0 fixed-corotated, 1 neo-Hookean
    wall: u32,           // 0 none, 1 slip, 2 sticky
    wall_cells: u32,
    step: u32,           // global substep index, for error reports
    ground_on: u32,
    ground_sticky: u32,
    dx: f32,
    inv_dx: f32,
    dt: f32,
    time: f32,           // simulation time at the start of this substep
    gravity: vec4<f32>,  // xyz gravity, w grid damping rate (1/s)
    ground_y: f32,
    poke_on: u32,
    drag_on: u32,
    drag_stiffness: f32,
    poke_centre: vec4<f32>, // xyz centre, w radius
    poke_force: vec4<f32>,  // xyz acceleration, w unused
    drag_target: vec4<f32>, // xyz target, w damping
    report_speed: u32,      // 1: g2p records the largest particle speed
    keep_buffers: u32,      // 1: also write record slots (stress), grid sums and velocities (P2G)
    bin_next: u32,          // 1: g2p bins the new positions for the next substep (see g2p.wgsl)
    _pad2: u32,
}

// One particle's state; a substep reads one array of these and writes another.
struct Particle {
    x: vec4<f32>,        // position (m), w unused
    v: vec4<f32>,        // velocity (m/s), w unused
    c: mat3x3<f32>,      // APIC affine velocity field
    f: mat3x3<f32>,      // deformation gradient
}

// What P2G needs of one particle, written in cell-sorted order by the stress stage: 16 floats
// (P2G is bound by loading these, so nothing is padded). A = m C - dt V (4 / dx^2) tau is
// stored column-major across the spare lanes.
struct P2gRecord {
    xg_m: vec4<f32>,     // position in grid units; mass (anchored particles have no record)
    mv_a: vec4<f32>,     // momentum m v; A[0][0]
    a1: vec4<f32>,       // A[0][1], A[0][2], A[1][0], A[1][1]
    a2: vec4<f32>,       // A[1][2], A[2][0], A[2][1], A[2][2]
}

// Tables of rgba32float texels in a 2D texture, texel i at (i % 4096, i / 4096): the P2G
// records (four texels each, copied from their buffer) and the grid velocities (one a node,
// stored by P2G) are read from there by P2G and G2P, because on a CPU adapter a texel fetch
// costs a fraction of a storage-buffer load, which is done lane by lane.
const TEXELS_PER_ROW: u32 = 4096u;

fn texel(i: u32) -> vec2<u32> {
    return vec2<u32>(i % TEXELS_PER_ROW, i / TEXELS_PER_ROW);
}

// The texel of component `k` (0..3) of record `r`.
fn record_texel(r: u32, k: u32) -> vec2<u32> {
    return texel(4u * r + k);
}

// The particle state as texels, eight a particle (x, v, the columns of C, those of F): a
// byte copy of the particle buffer made before every substep, from which the binning,
// stress and G2P stages read it.
fn state_texel(p: u32, k: u32) -> vec2<u32> {
    return texel(8u * p + k);
}

fn load_state(t: texture_storage_2d<rgba32float, read>, p: u32) -> Particle {
    var pt: Particle;
    pt.x = textureLoad(t, state_texel(p, 0u));
    pt.v = textureLoad(t, state_texel(p, 1u));
    pt.c = mat3x3<f32>(textureLoad(t, state_texel(p, 2u)).xyz, textureLoad(t, state_texel(p, 3u)).xyz, textureLoad(t, state_texel(p, 4u)).xyz);
    pt.f = mat3x3<f32>(textureLoad(t, state_texel(p, 5u)).xyz, textureLoad(t, state_texel(p, 6u)).xyz, textureLoad(t, state_texel(p, 7u)).xyz);
    return pt;
}

fn record_affine(r: P2gRecord) -> mat3x3<f32> {
    return mat3x3<f32>(vec3<f32>(r.mv_a.w, r.a1.xy), vec3<f32>(r.a1.zw, r.a2.x), r.a2.yzw);
}

// Grid momentum after P2G.
struct GridMomentum {
    mv: vec3<f32>,
    m: f32,
    m_anchor: f32,       // 1 where an anchored particle touches the node (anchor_mask), else 0
}

// Per-particle control: drag offset from the grab point and flag bits.
struct Ctl {
    offset: vec3<f32>,
    flags: u32,
}

// Control record p from its texel table (texel p: the offset, then the flags as a float).
fn ctl_at(t: texture_storage_2d<rgba32float, read>, p: u32) -> Ctl {
    let c = textureLoad(t, texel(p));
    return Ctl(c.xyz, whole_u32(c.w));
}

// A float holding a whole number in [0, 2^23) as that integer: adding 2^23 puts it in the
// mantissa's low bits exactly. The same as u32(w) there, but WGSL's float-to-integer
// conversion saturates, which a CPU adapter does lane by lane; this is two vector operations.
fn whole_u32(w: f32) -> u32 {
    return bitcast<u32>(w + 8388608.0) - 0x4b000000u;
}

const FLAG_ANCHORED: u32 = 1u;
const FLAG_DRAGGED: u32 = 2u;

// The cell (particle_bin) and record slot (slot) of an anchored particle: anchored particles
// are not binned and have no P2G record. They never move, so what they do to the grid, stop
// every node they touch, is a per-node mark (anchor_mask.wgsl) made when the state is set.
const NOT_BINNED: u32 = 0xffffffffu;

// Cells are indexed row by row (x fastest), so the three cells under a row of a node's
// stencil are one contiguous run of the cell-sorted particles.
fn cell_index(c: vec3<i32>, res: u32) -> u32 {
    return cell_row(c, res) * res + u32(c.x);
}

// Where a particle at grid position xg is binned: its base cell's index and row.
fn bin_place(xg: vec3<f32>, res: u32) -> vec2<u32> {
    let bc = base_cell(xg, res);
    return vec2<u32>(cell_index(bc, res), cell_row(bc, res));
}

// The row (z, y) of cell c, `cell_index(c) / res` without the division (a CPU adapter
// divides lane by lane).
fn cell_row(c: vec3<i32>, res: u32) -> u32 {
    return u32(c.z * i32(res) + c.y);
}

// Grid nodes use a block-major index: blocks of 8 x 4 x 4 nodes (one workgroup of P2G and of
// the grid stages each), blocks in x-fastest order, so the 128 nodes of a block are
// contiguous. Cells are grouped into blocks the same way for the active-block marks.
const BLOCK: vec3<u32> = vec3<u32>(8u, 4u, 4u);

fn blocks_per_axis(res: u32) -> vec3<u32> {
    return vec3<u32>(res) / BLOCK;
}

fn n_blocks(res: u32) -> u32 {
    let n = blocks_per_axis(res);
    return n.x * n.y * n.z;
}

fn block_coord(b: u32, res: u32) -> vec3<u32> {
    let n = blocks_per_axis(res);
    return vec3<u32>(b % n.x, (b / n.x) % n.y, b / (n.x * n.y));
}

fn block_id(bc: vec3<u32>, res: u32) -> u32 {
    let n = blocks_per_axis(res);
    return (bc.z * n.y + bc.y) * n.x + bc.x;
}

// Node coordinates of lane l (0..127) of block b: x fastest within the 8 x 4 x 4 block.
fn block_node(b: u32, l: u32, res: u32) -> vec3<u32> {
    return block_coord(b, res) * BLOCK + vec3<u32>(l & 7u, (l >> 3u) & 3u, l >> 5u);
}

// Grid damping over one substep: e^(-rate dt), exactly 1 without damping.
fn damping_decay(p: Params) -> f32 {
    if (p.gravity.w > 0.0) {
        return exp(-p.gravity.w * p.dt);
    }
    return 1.0;
}

// The 3 x 3 x 3 nodes around a particle, axis by axis: node (ox, oy, oz) has the weight
// w[0][ox] * w[1][oy] * w[2][oz], the offset (d[0][ox], d[1][oy], d[2][oz]) from the particle
// in cells, and the grid index idx[0][ox] + idx[1][oy] + idx[2][oz]: the block-major index
// (block_id << 7) | (lane z << 5) | (lane y << 3) | lane x is a sum of per-axis parts in
// separate bits (each axis's share of the block id, and its lane bits). dw holds the
// weights' derivatives with respect to the particle's position (in cells).
struct Stencil {
    w: mat3x3<f32>,
    dw: mat3x3<f32>,
    d: mat3x3<f32>,
    idx: array<vec3<u32>, 3>,
}

fn stencil(xg: vec3<f32>, res: u32) -> Stencil {
    let base = base_cell(xg, res);
    let fx = xg - vec3<f32>(base);
    let n = vec3<u32>(base);
    var s: Stencil;
    for (var a = 0; a < 3; a++) {
        s.w[a] = vec3<f32>(bspline(fx[a], 0), bspline(fx[a], 1), bspline(fx[a], 2));
        s.dw[a] = vec3<f32>(bspline_d(fx[a], 0), bspline_d(fx[a], 1), bspline_d(fx[a], 2));
        s.d[a] = vec3<f32>(0.0, 1.0, 2.0) - fx[a];
    }
    s.idx = stencil_index(n, res);
    return s;
}

// The per-axis grid index parts (Stencil.idx) of the nodes around base cell n.
fn stencil_index(n: vec3<u32>, res: u32) -> array<vec3<u32>, 3> {
    let nb = blocks_per_axis(res);
    let c = n.x + vec3<u32>(0u, 1u, 2u);
    let cy = n.y + vec3<u32>(0u, 1u, 2u);
    let cz = n.z + vec3<u32>(0u, 1u, 2u);
    return array<vec3<u32>, 3>(
        ((c >> vec3<u32>(3u)) << vec3<u32>(7u)) | (c & vec3<u32>(7u)),
        (((cy >> vec3<u32>(2u)) * nb.x) << vec3<u32>(7u)) | ((cy & vec3<u32>(3u)) << vec3<u32>(3u)),
        (((cz >> vec3<u32>(2u)) * (nb.x * nb.y)) << vec3<u32>(7u)) | ((cz & vec3<u32>(3u)) << vec3<u32>(5u)),
    );
}

fn stencil_weight(s: Stencil, o: vec3<i32>) -> f32 {
    return s.w[0][o.x] * (s.w[1][o.y] * s.w[2][o.z]);
}

// The gradient of node o's weight with respect to the particle's position (in cells).
fn stencil_gradient(s: Stencil, o: vec3<i32>) -> vec3<f32> {
    let w = vec3<f32>(s.w[0][o.x], s.w[1][o.y], s.w[2][o.z]);
    let d = vec3<f32>(s.dw[0][o.x], s.dw[1][o.y], s.dw[2][o.z]);
    return vec3<f32>(d.x * w.y * w.z, w.x * d.y * w.z, w.x * w.y * d.z);
}

// Base cell of a particle at grid-unit position xg: the lowest of the 3^3 nodes it touches.
// Clamped as floats and converted exactly (see whole_u32), then clamped as integers too, so
// that even a position that is not a number gives a cell of the grid.
fn base_cell(xg: vec3<f32>, res: u32) -> vec3<i32> {
    let hi = i32(res) - 3;
    let f = clamp(floor(xg - vec3<f32>(0.5)), vec3<f32>(0.0), vec3<f32>(f32(hi)));
    let b = bitcast<vec3<i32>>(f + vec3<f32>(8388608.0)) - vec3<i32>(0x4b000000);
    return clamp(b, vec3<i32>(0), vec3<i32>(hi));
}

// Quadratic B-spline weight at distance d (in cells) from the particle.
fn bspline_at(d: f32) -> f32 {
    let a = abs(d);
    let t = max(1.5 - a, 0.0);
    return select(0.5 * t * t, 0.75 - a * a, a < 0.5);
}

// Quadratic B-spline weight of node offset o (0, 1, 2) for fractional position fx in [0.5, 1.5).
fn bspline(fx: f32, o: i32) -> f32 {
    if (o == 0) {
        let t = 1.5 - fx;
        return 0.5 * t * t;
    } else if (o == 1) {
        let t = fx - 1.0;
        return 0.75 - t * t;
    }
    let t = fx - 0.5;
    return 0.5 * t * t;
}

// Derivative of bspline(fx, o) with respect to fx.
fn bspline_d(fx: f32, o: i32) -> f32 {
    if (o == 0) {
        return fx - 1.5;
    } else if (o == 1) {
        return 2.0 * (1.0 - fx);
    }
    return fx - 0.5;
}

// Which velocity components anchors, walls and the ground keep (1) or stop (0) at grid node
// `node`, whose velocity after gravity and damping is `v_free`: an anchored particle stops the
// node, sticky walls stop it, slip walls stop the outward component, the ground stops it
// (sticky) or its downward component (slip). The grid update multiplies by this mask; its
// adjoint applies the same mask.
fn boundary_keep(p: Params, node: vec3<u32>, v_free: vec3<f32>, anchored: bool) -> vec3<f32> {
    var keep = select(vec3<f32>(1.0), vec3<f32>(0.0), anchored);
    if (p.wall != 0u) {
        let v = v_free * keep;
        let lo = node < vec3<u32>(p.wall_cells);
        let hi = node > vec3<u32>(p.res - p.wall_cells);
        if (p.wall == 2u) {
            if (any(lo) || any(hi)) {
                keep = vec3<f32>(0.0);
            }
        } else {
            keep = select(keep, vec3<f32>(0.0), (lo & (v < vec3<f32>(0.0))) | (hi & (v > vec3<f32>(0.0))));
        }
    }
    if (p.ground_on != 0u && f32(node.y) * p.dx <= p.ground_y) {
        if (p.ground_sticky != 0u) {
            keep = vec3<f32>(0.0);
        } else if (v_free.y * keep.y < 0.0) {
            keep.y = 0.0;
        }
    }
    return keep;
}

// The grid update of one node (coordinates `node`) from its sums g: velocity from momentum
// and mass, gravity, damping, then what anchors, walls and the ground keep; zero where no
// mass arrived.
fn node_velocity(p: Params, g: GridMomentum, node: vec3<u32>) -> vec3<f32> {
    var v = vec3<f32>(0.0);
    if (g.m > 0.0) {
        v = (g.mv / g.m + p.dt * p.gravity.xyz) * damping_decay(p);
        v *= boundary_keep(p, node, v, g.m_anchor > 0.0);
    }
    return v;
}

// True for NaN or +-inf (checked on the bits: compilers may fold x != x away).
fn not_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}

fn lame(e: f32, nu: f32) -> vec2<f32> {
    let mu = e / (2.0 * (1.0 + nu));
    let lambda = e * nu / ((1.0 + nu) * (1.0 - 2.0 * nu));
    return vec2<f32>(mu, lambda);
}

// Jacobi rotation zeroing s[p][q] of symmetric s (r is the third index); accumulates it into
// v. With J the identity but J[p][p] = J[q][q] = c, J[q][p] = sn (row p, column q) and
// J[p][q] = -sn, s <- J^T s J and v <- v J, written out for the entries that change:
// s_pp -= t s_pq, s_qq += t s_pq, s_pq = 0, (s_rp, s_rq) <- (c s_rp - sn s_rq, sn s_rp + c s_rq),
// and the same mix of v's columns p and q.
fn jacobi_pair(s: ptr<function, mat3x3<f32>>, v: ptr<function, mat3x3<f32>>, p: i32, q: i32, r: i32) {
    let spq = (*s)[q][p];
    if (abs(spq) < 1e-30) {
        return;
    }
    let theta = ((*s)[q][q] - (*s)[p][p]) / (2.0 * spq);
    let t = sign(theta) / (abs(theta) + sqrt(theta * theta + 1.0));
    let tt = select(t, 1.0, theta == 0.0);
    let c = 1.0 / sqrt(tt * tt + 1.0);
    let sn = tt * c;
    let srp = (*s)[p][r];
    let srq = (*s)[q][r];
    let new_rp = c * srp - sn * srq;
    let new_rq = sn * srp + c * srq;
    (*s)[p][p] = (*s)[p][p] - tt * spq;
    (*s)[q][q] = (*s)[q][q] + tt * spq;
    (*s)[q][p] = 0.0;
    (*s)[p][q] = 0.0;
    (*s)[p][r] = new_rp;
    (*s)[r][p] = new_rp;
    (*s)[q][r] = new_rq;
    (*s)[r][q] = new_rq;
    let vp = (*v)[p];
    let vq = (*v)[q];
    (*v)[p] = c * vp - sn * vq;
    (*v)[q] = sn * vp + c * vq;
}

fn any_orthogonal(u: vec3<f32>) -> vec3<f32> {
    var a = vec3<f32>(1.0, 0.0, 0.0);
    if (abs(u.x) > 0.6) {
        a = vec3<f32>(0.0, 1.0, 0.0);
    }
    return normalize(a - dot(a, u) * u);
}

// Signed SVD F = U diag(s) V^T with U, V rotations and the smallest singular value carrying
// the sign of det F (fixed-corotated elasticity uses R = U V^T; its adjoint needs U, s, V).
// From a Jacobi eigen-solve of F^T F: a pure function of F, robust at F = I (repeated
// singular values) and for inverted F.
struct Svd {
    u: mat3x3<f32>,
    s: vec3<f32>,
    v: mat3x3<f32>,
}

fn svd_of(f: mat3x3<f32>) -> Svd {
    var s = transpose(f) * f;
    var v = mat3x3<f32>(vec3<f32>(1.0, 0.0, 0.0), vec3<f32>(0.0, 1.0, 0.0), vec3<f32>(0.0, 0.0, 1.0));
    for (var sweep = 0; sweep < 6; sweep++) {
        let off = s[1][0] * s[1][0] + s[2][0] * s[2][0] + s[2][1] * s[2][1];
        let diag = s[0][0] * s[0][0] + s[1][1] * s[1][1] + s[2][2] * s[2][2];
        if (off <= 1e-14 * diag) {
            break;
        }
        jacobi_pair(&s, &v, 0, 1, 2);
        jacobi_pair(&s, &v, 0, 2, 1);
        jacobi_pair(&s, &v, 1, 2, 0);
    }
    // Sort eigenvalues (squared singular values) descending, with V's columns.
    var ev = vec3<f32>(s[0][0], s[1][1], s[2][2]);
    if (ev.x < ev.y) { ev = ev.yxz; v = mat3x3<f32>(v[1], v[0], -v[2]); }
    if (ev.y < ev.z) { ev = ev.xzy; v = mat3x3<f32>(v[0], v[2], -v[1]); }
    if (ev.x < ev.y) { ev = ev.yxz; v = mat3x3<f32>(v[1], v[0], -v[2]); }
    if (determinant(v) < 0.0) {
        v[2] = -v[2];
    }
    var out: Svd;
    out.v = v;
    let b = f * v;
    let n0 = length(b[0]);
    if (!(n0 > 1e-20)) {
        out.u = v;
        out.s = vec3<f32>(0.0);
        return out;
    }
    let u0 = b[0] / n0;
    var u1 = b[1] - dot(u0, b[1]) * u0;
    let n1 = length(u1);
    if (n1 > 1e-6 * n0) {
        u1 = u1 / n1;
    } else {
        u1 = any_orthogonal(u0);
    }
    out.u = mat3x3<f32>(u0, u1, cross(u0, u1));
    out.s = vec3<f32>(n0, dot(out.u[1], b[1]), dot(out.u[2], b[2]));
    return out;
}

// Rotation R = U V^T of the signed SVD (see svd_of).
fn rotation_of(f: mat3x3<f32>) -> mat3x3<f32> {
    let d = svd_of(f);
    return d.u * transpose(d.v);
}

// Kirchhoff stress tau of the chosen model.
fn kirchhoff(f: mat3x3<f32>, mu: f32, lambda: f32, model: u32) -> mat3x3<f32> {
    let j = determinant(f);
    let id = mat3x3<f32>(vec3<f32>(1.0, 0.0, 0.0), vec3<f32>(0.0, 1.0, 0.0), vec3<f32>(0.0, 0.0, 1.0));
    if (model == 0u) {
        let r = rotation_of(f);
        return 2.0 * mu * (f - r) * transpose(f) + (lambda * j * (j - 1.0)) * id;
    }
    // neo-Hookean; J is floored at 1e-6 so that inverted particles push back instead of failing
    let lj = log(max(j, 1e-6));
    return mu * (f * transpose(f) - id) + (lambda * lj) * id;
}
