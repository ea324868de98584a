// Deterministic bitonic sort of (key, index) pairs, ascending by key then index (see
// src/render/depth_sort.rs). The pair count is a power of two; padding pairs are (max, max).
//
// `sort_local` sorts (or, with `p.k` = block size, merges) blocks of 512 pairs in workgroup
// memory: every step with a compare distance below 512 runs there. `sort_global` is one
// compare-exchange step of distance `p.j` >= 512 across the whole buffer.

struct Params {
    // Compare distance (global step).
    j: u32,
    // Bitonic sequence size of this stage; 0 for the full local sort of each block.
    k: u32,
    // Pair count (power of two).
    count: u32,
    // Unused.
    pad: u32,
};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> keys: array<vec2<u32>>;

const BLOCK: u32 = 512u;
var<workgroup> tile: array<vec2<u32>, 512>;

fn less(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.x < b.x || (a.x == b.x && a.y < b.y);
}

/// Compare-exchange of tile[i] and tile[l] (l > i) in direction `up`.
fn cmp_tile(i: u32, l: u32, up: bool) {
    let a = tile[i];
    let b = tile[l];
    if (less(b, a) == up) {
        tile[i] = b;
        tile[l] = a;
    }
}

@compute @workgroup_size(256)
fn sort_local(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let base = (wg.x + wg.y * 65535u) * BLOCK;
    let t = lid.x;
    tile[t] = keys[base + t];
    tile[t + 256u] = keys[base + t + 256u];
    workgroupBarrier();
    if (p.k == 0u) {
        // Full bitonic sort of the block (sizes 2..512).
        for (var k = 2u; k <= BLOCK; k = k << 1u) {
            for (var j = k >> 1u; j > 0u; j = j >> 1u) {
                let i = (t / j) * 2u * j + (t % j);
                cmp_tile(i, i + j, ((base + i) & k) == 0u);
                workgroupBarrier();
            }
        }
    } else {
        // The tail of stage k: distances 256..1.
        for (var j = BLOCK >> 1u; j > 0u; j = j >> 1u) {
            let i = (t / j) * 2u * j + (t % j);
            cmp_tile(i, i + j, ((base + i) & p.k) == 0u);
            workgroupBarrier();
        }
    }
    keys[base + t] = tile[t];
    keys[base + t + 256u] = tile[t + 256u];
}

@compute @workgroup_size(256)
fn sort_global(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.x + gid.y * 65535u * 256u;
    if (t >= p.count / 2u) {
        return;
    }
    let j = p.j;
    let i = (t / j) * 2u * j + (t % j);
    let l = i + j;
    let a = keys[i];
    let b = keys[l];
    if (less(b, a) == ((i & p.k) == 0u)) {
        keys[i] = b;
        keys[l] = a;
    }
}
