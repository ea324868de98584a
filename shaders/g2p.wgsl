// Grid-to-particle transfer: velocity and APIC affine field from the 27 nodes,
// F <- (I + dt C) F, x <- x + dt v; then the poke and the drag spring. Non-finite state or a
// particle leaving the grid is recorded (first substep, particle).
// One lane per grid cell of an active block: it loads the 27 nodes around the cell once and
// updates every particle binned there (their stencils share those nodes), instead of every
// particle loading its 27 nodes; each particle's arithmetic is the same as on its own. The
// lane also empties its cell's count and row count for the next binning (the sort's `unbin`,
// done here to save a pass: P2G, the last reader of the counts, has run). Anchored particles,
// not binned, stay put (`g2p_anchored`).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> particles_in: array<Particle>;
@group(0) @binding(2) var<storage, read_write> particles_out: array<Particle>;
@group(0) @binding(3) var grid_v: texture_2d<f32>; // xyz per node (see texel)
@group(0) @binding(4) var<storage, read> ctl: array<Ctl>;
@group(0) @binding(5) var<storage, read_write> error: array<atomic<u32>>; // step*4+kind, particle, max speed bits
@group(0) @binding(6) var<storage, read> active_blocks: array<u32>;
@group(0) @binding(7) var<storage, read> cell_start: array<u32>;
@group(0) @binding(8) var<storage, read> sorted_id: array<u32>;
@group(0) @binding(9) var<storage, read_write> cell_count: array<u32>;
@group(0) @binding(10) var<storage, read_write> rows: array<u32>; // row counts, then row starts

fn report(p: u32, kind: u32) {
    atomicMin(&error[0], params.step * 4u + kind);
    atomicMin(&error[1], p);
}

// The velocities of the three nodes ox = 0, 1, 2 at grid indices ix + iyz (one per column).
fn node_row(ix: vec3<u32>, iyz: u32) -> mat3x3<f32> {
    let g = ix + iyz;
    return mat3x3<f32>(
        textureLoad(grid_v, texel(g.x), 0).xyz,
        textureLoad(grid_v, texel(g.y), 0).xyz,
        textureLoad(grid_v, texel(g.z), 0).xyz,
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

@compute @workgroup_size(128)
fn g2p(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let block = active_blocks[3u + wg.x];
    let node = block_node(block, l, params.res); // the cell's lowest node
    let cell = cell_index(vec3<i32>(node), params.res);
    let count = cell_count[cell];
    if (count == 0u) {
        return;
    }
    cell_count[cell] = 0u;
    rows[cell / params.res] = 0u;
    let start = cell_start[cell];
    let idx = stencil_index(node, params.res);
    let ix = idx[0];
    let g00 = node_row(ix, idx[1].x + idx[2].x);
    let g01 = node_row(ix, idx[1].y + idx[2].x);
    let g02 = node_row(ix, idx[1].z + idx[2].x);
    let g10 = node_row(ix, idx[1].x + idx[2].y);
    let g11 = node_row(ix, idx[1].y + idx[2].y);
    let g12 = node_row(ix, idx[1].z + idx[2].y);
    let g20 = node_row(ix, idx[1].x + idx[2].z);
    let g21 = node_row(ix, idx[1].y + idx[2].z);
    let g22 = node_row(ix, idx[1].z + idx[2].z);
    for (var k = 0u; k < count; k++) {
        let p = sorted_id[start + k];
        var pt: Particle;
        pt.x = particles_in[p].x;
        pt.f = particles_in[p].f;
        let s = stencil(pt.x.xyz * params.inv_dx, params.res);
        var v = vec3<f32>(0.0);
        var b = mat3x3<f32>(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
        gather_row(s, 0, 0, g00, &v, &b);
        gather_row(s, 1, 0, g01, &v, &b);
        gather_row(s, 2, 0, g02, &v, &b);
        gather_row(s, 0, 1, g10, &v, &b);
        gather_row(s, 1, 1, g11, &v, &b);
        gather_row(s, 2, 1, g12, &v, &b);
        gather_row(s, 0, 2, g20, &v, &b);
        gather_row(s, 1, 2, g21, &v, &b);
        gather_row(s, 2, 2, g22, &v, &b);
        update(p, pt, v, b);
    }
}

// The rest of the transfer for particle p, from its velocity v and B matrix.
fn update(p: u32, pt_in: Particle, v_grid: vec3<f32>, b: mat3x3<f32>) {
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
    if (params.drag_on != 0u) {
        let c = ctl[p];
        if ((c.flags & FLAG_DRAGGED) != 0u) {
            let a = params.drag_stiffness * (params.drag_target.xyz + c.offset - x) - params.drag_target.w * v;
            v += params.dt * a;
        }
    }
    pt.x = vec4<f32>(x, 0.0);
    pt.v = vec4<f32>(v, 0.0);
    particles_out[p] = pt;
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

// Anchored particles keep their position and F, at rest.
@compute @workgroup_size(64)
fn g2p_anchored(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    if (p >= params.n_particles || (ctl[p].flags & FLAG_ANCHORED) == 0u) {
        return;
    }
    var pt: Particle;
    pt.x = particles_in[p].x;
    pt.f = particles_in[p].f;
    pt.v = vec4<f32>(0.0);
    pt.c = mat3x3<f32>(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
    particles_out[p] = pt;
}
