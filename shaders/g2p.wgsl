// Grid-to-particle transfer: velocity and APIC affine field from the 27 nodes,
// F <- (I + dt C) F, x <- x + dt v; then the poke and the drag spring. Anchored particles stay
// put. Non-finite state or a particle leaving the grid is recorded (first substep, particle).
// The node velocities come from the texel table P2G writes (a texel fetch is cheap
// on a CPU adapter, where a storage load is done lane by lane), so every particle reads its
// own 27 nodes. It also empties the particle's cell count and row count (the sort's `unbin`,
// done here to save a pass: P2G, the last reader of the counts, has run) and, where
// `bin_next` is set, bins the new position for the next substep into the other set of
// counts (the sort's `bin`, done here to save a pass and a read of the state; substeps
// alternate between the two sets with the particle buffers).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var state_in: texture_storage_2d<rgba32float, read>; // particle state texels (see state_texel)
@group(0) @binding(2) var<storage, read_write> particles_out: array<Particle>;
@group(0) @binding(3) var grid_v: texture_storage_2d<rgba32float, read>; // xyz per node (see texel)
@group(0) @binding(4) var ctl: texture_storage_2d<rgba32float, read>; // control records as texels (see ctl_at)
@group(0) @binding(5) var<storage, read_write> error: array<atomic<u32>>; // step*4+kind, particle, max speed bits
@group(0) @binding(6) var<storage, read_write> cell_count: array<u32>;
@group(0) @binding(7) var<storage, read_write> rows: array<u32>; // row counts, then row starts
@group(0) @binding(8) var<storage, read_write> next_count: array<atomic<u32>>; // the next substep's counts
@group(0) @binding(9) var<storage, read_write> next_rows: array<atomic<u32>>; // and row marks
@group(0) @binding(10) var<storage, read_write> next_bin: array<vec2<u32>>; // cell, slot

// The sort's `bin` for the particle's new position x.
fn bin_next(p: u32, x: vec3<f32>) {
    let at = bin_place(x * params.inv_dx, params.res);
    next_bin[p] = vec2<u32>(at.x, atomicAdd(&next_count[at.x], 1u));
    if (atomicLoad(&next_rows[at.y]) == 0u) {
        atomicStore(&next_rows[at.y], 1u);
    }
}

fn report(p: u32, kind: u32) {
    atomicMin(&error[0], params.step * 4u + kind);
    atomicMin(&error[1], p);
}

// The velocities of the three nodes ox = 0, 1, 2 at grid indices ix + iyz (one per column).
fn node_row(ix: vec3<u32>, iyz: u32) -> mat3x3<f32> {
    let g = ix + iyz;
    return mat3x3<f32>(
        textureLoad(grid_v, texel(g.x)).xyz,
        textureLoad(grid_v, texel(g.y)).xyz,
        textureLoad(grid_v, texel(g.z)).xyz,
    );
}

// Adds the three nodes (0..2, oy, oz) of `row` to the particle's velocity and B matrix.
fn gather_row(s: Stencil, oy: i32, oz: i32, row: mat3x3<f32>, v: ptr<function, vec3<f32>>, b: ptr<function, mat3x3<f32>>) {
    for (var ox = 0; ox < 3; ox++) {
        let wgv = stencil_weight(s, vec3<i32>(ox, oy, oz)) * row[ox];
        *v += wgv;
        *b += mat3x3<f32>(wgv * s.d[0][ox], wgv * s.d[1][oy], wgv * s.d[2][oz]);
    }
}

// The rest of the transfer for particle p (control record c), from its velocity v and B
// matrix.
fn update(p: u32, c: Ctl, pt_in: Particle, v_grid: vec3<f32>, b: mat3x3<f32>) {
    var pt = pt_in;
    var v = v_grid;
    let cmat = (4.0 * params.inv_dx) * b;
    let id = mat3x3<f32>(vec3<f32>(1.0, 0.0, 0.0), vec3<f32>(0.0, 1.0, 0.0), vec3<f32>(0.0, 0.0, 1.0));
    pt.f = (id + params.dt * cmat) * pt.f;
    pt.c = cmat;
    let x = pt.x.xyz + params.dt * v;
    if (params.poke_on != 0u && distance(x, params.poke_centre.xyz) < params.poke_centre.w) {
        v += params.dt * params.poke_force.xyz;
    }
    if (params.drag_on != 0u && (c.flags & FLAG_DRAGGED) != 0u) {
        let a = params.drag_stiffness * (params.drag_target.xyz + c.offset - x) - params.drag_target.w * v;
        v += params.dt * a;
    }
    pt.x = vec4<f32>(x, 0.0);
    pt.v = vec4<f32>(v, 0.0);
    particles_out[p] = pt;
    if (params.bin_next != 0u) {
        bin_next(p, x);
    }
    var bad = false;
    for (var k = 0; k < 3; k++) {
        bad = bad || not_finite(x[k]) || not_finite(v[k]) || not_finite(pt.f[k].x) || not_finite(pt.f[k].y) || not_finite(pt.f[k].z);
    }
    if (bad) {
        report(p, 1u);
        return;
    }
    if (params.report_speed != 0u) {
        atomicMax(&error[2], bitcast<u32>(length(v)));
    }
    let xn = x * params.inv_dx;
    if (any(xn < vec3<f32>(0.5)) || any(xn >= vec3<f32>(f32(params.res) - 1.5))) {
        report(p, 2u);
    }
}

@compute @workgroup_size(64)
fn g2p(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    if (p >= params.n_particles) {
        return;
    }
    var pt: Particle;
    pt.x = textureLoad(state_in, state_texel(p, 0u));
    pt.f = mat3x3<f32>(textureLoad(state_in, state_texel(p, 5u)).xyz, textureLoad(state_in, state_texel(p, 6u)).xyz, textureLoad(state_in, state_texel(p, 7u)).xyz);
    let c = ctl_at(ctl, p);
    if ((c.flags & FLAG_ANCHORED) != 0u) {
        pt.v = vec4<f32>(0.0);
        pt.c = mat3x3<f32>(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
        particles_out[p] = pt;
        if (params.bin_next != 0u) {
            next_bin[p] = vec2<u32>(NOT_BINNED, 0u);
        }
        return;
    }
    let xg = pt.x.xyz * params.inv_dx;
    let at = bin_place(xg, params.res);
    cell_count[at.x] = 0u;
    rows[at.y] = 0u;
    let s = stencil(xg, params.res);
    var v = vec3<f32>(0.0);
    var b = mat3x3<f32>(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
    let ix = s.idx[0];
    gather_row(s, 0, 0, node_row(ix, s.idx[1].x + s.idx[2].x), &v, &b);
    gather_row(s, 1, 0, node_row(ix, s.idx[1].y + s.idx[2].x), &v, &b);
    gather_row(s, 2, 0, node_row(ix, s.idx[1].z + s.idx[2].x), &v, &b);
    gather_row(s, 0, 1, node_row(ix, s.idx[1].x + s.idx[2].y), &v, &b);
    gather_row(s, 1, 1, node_row(ix, s.idx[1].y + s.idx[2].y), &v, &b);
    gather_row(s, 2, 1, node_row(ix, s.idx[1].z + s.idx[2].y), &v, &b);
    gather_row(s, 0, 2, node_row(ix, s.idx[1].x + s.idx[2].z), &v, &b);
    gather_row(s, 1, 2, node_row(ix, s.idx[1].y + s.idx[2].z), &v, &b);
    gather_row(s, 2, 2, node_row(ix, s.idx[1].z + s.idx[2].z), &v, &b);
    update(p, c, pt, v, b);
}
