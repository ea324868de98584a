// Per particle: Kirchhoff stress of the elastic model and the P2G record
// (mass, momentum, m C - dt V (4/dx^2) tau), written at the particle's place in the
// cell-sorted order (cell start + rank of the particle index within its cell); that place is
// kept in `slot` for the adjoint stages. Anchored particles have none (slot NOT_BINNED).
// P2G reads the records as texels, copied from their buffer after this stage (on a CPU
// adapter a memory copy costs a fraction of storing texels here, which it does lane by lane
// and component by component). The slots are written only where the parameters ask (the
// backward pass and tests read them).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var state: texture_storage_2d<rgba32float, read>; // particle state texels (see state_texel)
@group(0) @binding(2) var material: texture_storage_2d<rgba32float, read>; // E, nu, mass, volume (texel p)
@group(0) @binding(3) var ctl: texture_storage_2d<rgba32float, read>; // control records as texels (see ctl_at)
@group(0) @binding(4) var<storage, read> cell_count: array<u32>;
@group(0) @binding(5) var<storage, read> cell_start: array<u32>;
@group(0) @binding(6) var<storage, read> sorted_id: array<u32>;
@group(0) @binding(7) var<storage, read_write> records: array<P2gRecord>;
@group(0) @binding(8) var<storage, read_write> slot: array<u32>; // each particle's record index

@compute @workgroup_size(64)
fn stress(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    if (p >= params.n_particles) {
        return;
    }
    if ((ctl_at(ctl, p).flags & FLAG_ANCHORED) != 0u) {
        if (params.keep_buffers != 0u) {
            slot[p] = NOT_BINNED;
        }
        return;
    }
    let pt = load_state(state, p);
    let xg = pt.x.xyz * params.inv_dx;
    let cell = cell_index(base_cell(xg, params.res), params.res);
    let start = cell_start[cell];
    let count = cell_count[cell];
    var rank = 0u;
    for (var i = 0u; i < count; i++) {
        rank += select(0u, 1u, sorted_id[start + i] < p);
    }
    let mat = textureLoad(material, texel(p));
    let lm = lame(mat.x, mat.y);
    let m = mat.z;
    let tau = kirchhoff(pt.f, lm.x, lm.y, params.material);
    let k = params.dt * mat.w * 4.0 * params.inv_dx * params.inv_dx;
    let a = m * pt.c - k * tau;
    var rec: P2gRecord;
    rec.xg_m = vec4<f32>(xg, m);
    rec.mv_a = vec4<f32>(m * pt.v.xyz, a[0].x);
    rec.a1 = vec4<f32>(a[0].yz, a[1].xy);
    rec.a2 = vec4<f32>(a[1].z, a[2]);
    records[start + rank] = rec;
    if (params.keep_buffers != 0u) {
        slot[p] = start + rank;
    }
}
