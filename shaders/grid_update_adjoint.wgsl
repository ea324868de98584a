// Adjoint of the grid update, per node of the active blocks. Given the adjoint of the node's
// final velocity (gathered from G2P's adjoint records into `grid_adj.mv`), it writes the
// adjoints of the node's momentum and mass: v = mask * e^(-damping dt) (mv / m + dt g), where
// the mask zeroes what anchors, walls and the ground zeroed in the forward pass (their
// conditions are piecewise constant, so they pass no derivative of their own).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> active_blocks: array<u32>;
@group(0) @binding(2) var<storage, read> grid: array<GridMomentum>;
@group(0) @binding(3) var<storage, read> grid_adj: array<GridMomentum>; // mv: adjoint of v
@group(0) @binding(4) var<storage, read_write> node_adj: array<vec4<f32>>; // adjoint of (mv, m)

@compute @workgroup_size(128)
fn grid_update_adjoint(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let b = active_blocks[3u + wg.x];
    let node = block_node(b, l, params.res);
    let i = (b << 7u) | l;
    let g = grid[i];
    var out = vec4<f32>(0.0);
    if (g.m > 0.0) {
        let decay = damping_decay(params);
        let v = (g.mv / g.m + params.dt * params.gravity.xyz) * decay;
        let keep = boundary_keep(params, node, v, g.m_anchor > 0.0);
        let u = grid_adj[i].mv * keep * decay; // adjoint of mv / m
        // d(mv/m)/dm = -(mv/m)/m: never m^2, which underflows for nodes at a stencil's edge
        out = vec4<f32>(u / g.m, -dot(u, g.mv / g.m) / g.m);
    }
    node_adj[i] = out;
}
