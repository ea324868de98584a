// Grid update on every node of the active blocks: velocity from momentum, gravity, damping,
// anchoring (every node an anchored particle touches stops), the domain
// walls and the ground plane.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> active_blocks: array<u32>;
@group(0) @binding(2) var<storage, read> grid: array<GridMomentum>;
@group(0) @binding(3) var<storage, read_write> grid_v: array<f32>; // xyz per node
@group(0) @binding(4) var grid_v_tex: texture_storage_2d<rgba32float, write>; // the same, for G2P

@compute @workgroup_size(128)
fn grid_update(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let b = active_blocks[3u + wg.x];
    let node = block_node(b, l, params.res);
    let i = (b << 7u) | l;
    let g = grid[i];
    var v = vec3<f32>(0.0);
    if (g.m > 0.0) {
        v = (g.mv / g.m + params.dt * params.gravity.xyz) * damping_decay(params);
        v *= boundary_keep(params, node, v, g.m_anchor > 0.0);
    }
    grid_v[3u * i] = v.x;
    grid_v[3u * i + 1u] = v.y;
    grid_v[3u * i + 2u] = v.z;
    textureStore(grid_v_tex, texel(i), vec4<f32>(v, 0.0));
}
