// Adjoint of G2P (reverse mode). Given the adjoint of a particle's state after the substep
// (x', v', C', F'), it writes the particle's share of the adjoint before it (x through the
// B-spline weights and x' = x + dt v', F through F' = (I + dt C') F) and, at the particle's
// place in the cell-sorted order, a record in P2G's layout whose gather gives each grid node
// the adjoint of its velocity: sum over particles of w (v'_adj + B_adj (node - xg)). The
// poke's indicator is piecewise constant (no derivative); the drag spring is linear.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> particles_in: array<Particle>;
@group(0) @binding(2) var grid_v: texture_storage_2d<rgba32float, read>; // xyz per node (the texel table of P2G or the tape)
@group(0) @binding(3) var<storage, read> ctl: array<Ctl>;
@group(0) @binding(4) var<storage, read> adj_out: array<Particle>;
@group(0) @binding(5) var<storage, read_write> adj_in: array<Particle>;
@group(0) @binding(6) var<storage, read> slot: array<u32>; // record index (stress stage)
@group(0) @binding(7) var records: texture_storage_2d<rgba32float, write>; // see record_texel

@compute @workgroup_size(64)
fn g2p_adjoint(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    if (p >= params.n_particles) {
        return;
    }
    let pt = particles_in[p];
    let a = adj_out[p];
    let xg = pt.x.xyz * params.inv_dx;
    let zero3 = mat3x3<f32>(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
    var out: Particle;
    out.v = vec4<f32>(0.0);
    out.c = zero3;
    var rec: P2gRecord;
    rec.xg_m = vec4<f32>(xg, 0.0);
    rec.mv_a = vec4<f32>(0.0);
    rec.a1 = vec4<f32>(0.0);
    rec.a2 = vec4<f32>(0.0);
    let c = ctl[p];
    if ((c.flags & FLAG_ANCHORED) != 0u) {
        // x' = x, F' = F; v' and C' are zero whatever the grid does. No record: anchored
        // particles are not binned.
        out.x = a.x;
        out.f = a.f;
        adj_in[p] = out;
        return;
    }
    var xo = a.x.xyz;
    var vo = a.v.xyz;
    if (params.drag_on != 0u && (c.flags & FLAG_DRAGGED) != 0u) {
        // v'' = v' (1 - dt d) + dt k (target + offset - x')
        xo -= params.dt * params.drag_stiffness * vo;
        vo *= 1.0 - params.dt * params.drag_target.w;
    }
    let v_adj = vo + params.dt * xo;                    // adjoint of v' = sum w v_i
    let c_adj = a.c + params.dt * a.f * transpose(pt.f); // adjoint of C'
    let b_adj = (4.0 * params.inv_dx) * c_adj;           // adjoint of B (C' = 4/dx B)
    let s = stencil(xg, params.res);
    var b = zero3;
    var fx_adj = vec3<f32>(0.0);
    var vp = vec3<f32>(0.0);
    for (var oz = 0; oz < 3; oz++) {
        for (var oy = 0; oy < 3; oy++) {
            let iyz = s.idx[1][oy] + s.idx[2][oz];
            for (var ox = 0; ox < 3; ox++) {
                let o = vec3<i32>(ox, oy, oz);
                let w = stencil_weight(s, o);
                let gw = stencil_gradient(s, o);
                let gv = textureLoad(grid_v, texel(s.idx[0][ox] + iyz)).xyz;
                let dpos = vec3<f32>(s.d[0][ox], s.d[1][oy], s.d[2][oz]);
                let wgv = w * gv;
                vp += wgv;
                b += mat3x3<f32>(wgv * dpos.x, wgv * dpos.y, wgv * dpos.z);
                fx_adj += gw * dot(gv, v_adj + b_adj * dpos);
            }
        }
    }
    fx_adj -= transpose(b_adj) * vp; // d(dpos)/d(fx) = -I
    let id = mat3x3<f32>(vec3<f32>(1.0, 0.0, 0.0), vec3<f32>(0.0, 1.0, 0.0), vec3<f32>(0.0, 0.0, 1.0));
    let cmat = (4.0 * params.inv_dx) * b;
    out.x = vec4<f32>(xo + params.inv_dx * fx_adj, 0.0);
    out.f = transpose(id + params.dt * cmat) * a.f;
    adj_in[p] = out;
    // P2G's gather forms sum w (mv + A (node - xg) dx): mv = v_adj, A = B_adj / dx.
    let am = params.inv_dx * b_adj;
    rec.mv_a = vec4<f32>(v_adj, am[0].x);
    rec.a1 = vec4<f32>(am[0].yz, am[1].xy);
    rec.a2 = vec4<f32>(am[1].z, am[2]);
    let r = slot[p];
    textureStore(records, record_texel(r, 0u), rec.xg_m);
    textureStore(records, record_texel(r, 1u), rec.mv_a);
    textureStore(records, record_texel(r, 2u), rec.a1);
    textureStore(records, record_texel(r, 3u), rec.a2);
}
