// Marks every grid node that an anchored particle touches (B-spline weight > 0). P2G hands
// the mark to the grid update as the node's anchor flag, and the grid update stops the node.
// Anchored particles never move, so the marks are made when the particle state is set or
// restored, not every substep, and the particles themselves stay out of the binning and P2G.
// Every write stores the same value, so the order of the writes does not matter.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> particles: array<Particle>;
@group(0) @binding(2) var<storage, read> ctl: array<Ctl>;
@group(0) @binding(3) var<storage, read_write> mask: array<atomic<u32>>; // cleared first

@compute @workgroup_size(64)
fn anchor_mask(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    if (p >= params.n_particles || (ctl[p].flags & FLAG_ANCHORED) == 0u) {
        return;
    }
    let s = stencil(particles[p].x.xyz * params.inv_dx, params.res);
    for (var oz = 0; oz < 3; oz++) {
        for (var oy = 0; oy < 3; oy++) {
            for (var ox = 0; ox < 3; ox++) {
                if (stencil_weight(s, vec3<i32>(ox, oy, oz)) > 0.0) {
                    atomicStore(&mask[s.idx[0][ox] + s.idx[1][oy] + s.idx[2][oz]], 1u);
                }
            }
        }
    }
}
