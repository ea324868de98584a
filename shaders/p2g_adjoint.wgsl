// Adjoint of P2G, per particle: a gather over its 27 nodes of the adjoints of node momentum
// and mass, m_i = sum w m, mv_i = sum w (m v + A (node - xg) dx). It adds the adjoints of v
// and x (through the weights and the offsets) to the particle's adjoint and writes the
// adjoint of A = m C - dt V (4 / dx^2) tau for the stress stage's adjoint. It reads the
// forward P2G record of the particle (position, mass, momentum, A) at its sorted slot.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> node_adj: array<vec4<f32>>; // adjoint of (mv, m)
@group(0) @binding(2) var<storage, read> slot: array<u32>;
@group(0) @binding(3) var<storage, read> records: array<P2gRecord>;
@group(0) @binding(4) var<storage, read_write> adj: array<Particle>;
@group(0) @binding(5) var<storage, read_write> a_adj: array<mat3x3<f32>>;

@compute @workgroup_size(64)
fn p2g_adjoint(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    if (p >= params.n_particles) {
        return;
    }
    let sl = slot[p];
    if (sl == NOT_BINNED) {
        // Anchored: no record, and every node the particle touches is stopped, so its
        // adjoint is zero (grid_update_adjoint): P2G passes nothing back to the particle.
        a_adj[p] = mat3x3<f32>(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
        return;
    }
    let rec = records[sl];
    let xg = rec.xg_m.xyz;
    let m = rec.xg_m.w;
    let mv = rec.mv_a.xyz;
    let a = record_affine(rec);
    let s = stencil(xg, params.res);
    var s0 = vec3<f32>(0.0);
    var abar = mat3x3<f32>(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
    var fx_adj = vec3<f32>(0.0);
    for (var oz = 0; oz < 3; oz++) {
        for (var oy = 0; oy < 3; oy++) {
            let iyz = s.idx[1][oy] + s.idx[2][oz];
            for (var ox = 0; ox < 3; ox++) {
                let o = vec3<i32>(ox, oy, oz);
                let w = stencil_weight(s, o);
                let gw = stencil_gradient(s, o);
                let n = node_adj[s.idx[0][ox] + iyz];
                let dpos = vec3<f32>(s.d[0][ox], s.d[1][oy], s.d[2][oz]) * params.dx;
                let wn = w * n.xyz;
                s0 += wn;
                abar += mat3x3<f32>(wn * dpos.x, wn * dpos.y, wn * dpos.z);
                fx_adj += gw * (m * n.w + dot(n.xyz, mv + a * dpos));
            }
        }
    }
    fx_adj -= params.dx * (transpose(a) * s0); // d(dpos)/d(fx) = -dx I
    var out = adj[p];
    out.x += vec4<f32>(params.inv_dx * fx_adj, 0.0);
    out.v += vec4<f32>(m * s0, 0.0);
    adj[p] = out;
    a_adj[p] = abar;
}
