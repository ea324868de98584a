// The grid of one substep on the backward pass's tape: `store` copies the momentum, mass,
// anchor flag and velocity of every node of the active blocks (after the grid update) to
// a compact list, block by block in active-list order; `load` puts them back before the
// substep's adjoint stages, which then need not rerun P2G and the grid update (the
// velocities also as the texels that `g2p_adjoint` reads). The tape
// holds `arrayLength(tape) / 256` blocks; `store` skips blocks beyond that and records the
// largest active-block count it saw, so the caller can grow the tape and run again.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> active_blocks: array<u32>;
@group(0) @binding(2) var<storage, read_write> grid: array<GridMomentum>;
@group(0) @binding(3) var<storage, read_write> grid_v: array<f32>; // xyz per node
@group(0) @binding(4) var<storage, read_write> tape: array<vec4<f32>>; // 2 per node
@group(0) @binding(5) var<storage, read_write> high_water: array<atomic<u32>>;
@group(0) @binding(6) var grid_v_tex: texture_storage_2d<rgba32float, write>; // grid_v's texels

fn capacity() -> u32 {
    return arrayLength(&tape) / 256u;
}

// Node l of the wg-th active block: its grid index and its first entry on the tape.
fn places(wg: u32, l: u32) -> vec2<u32> {
    return vec2<u32>((active_blocks[3u + wg] << 7u) | l, 2u * ((wg << 7u) | l));
}

@compute @workgroup_size(128)
fn store(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    if (wg.x == 0u && l == 0u) {
        atomicMax(&high_water[0], active_blocks[0]);
    }
    if (wg.x >= capacity()) {
        return;
    }
    let at = places(wg.x, l);
    let i = at.x;
    let t = at.y;
    let g = grid[i];
    tape[t] = vec4<f32>(g.mv, g.m);
    tape[t + 1u] = vec4<f32>(grid_v[3u * i], grid_v[3u * i + 1u], grid_v[3u * i + 2u], g.m_anchor);
}

@compute @workgroup_size(128)
fn load(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    if (wg.x >= capacity()) {
        return;
    }
    let at = places(wg.x, l);
    let i = at.x;
    let t = at.y;
    let a = tape[t];
    let b = tape[t + 1u];
    var g: GridMomentum;
    g.mv = a.xyz;
    g.m = a.w;
    g.m_anchor = b.w;
    grid[i] = g;
    grid_v[3u * i] = b.x;
    grid_v[3u * i + 1u] = b.y;
    grid_v[3u * i + 2u] = b.z;
    textureStore(grid_v_tex, texel(i), vec4<f32>(b.xyz, 0.0));
}
