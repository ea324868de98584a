// Particle-to-grid transfer as a gather: one invocation per node of an active block sums,
// in a fixed order, the records of the particles whose stencils cover it. Those lie in 3x3
// rows of three cells each; with cells indexed x-fastest, each row is one contiguous run of
// the cell-sorted records. No atomics, so the sums are bit-reproducible; the order is fixed:
// rows by (dz, dy), within a row by cell, within a cell by particle index.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> active_blocks: array<u32>;
@group(0) @binding(2) var<storage, read> cell_start: array<u32>;
@group(0) @binding(3) var<storage, read> records: array<P2gRecord>;
@group(0) @binding(4) var<storage, read_write> grid: array<GridMomentum>;
@group(0) @binding(5) var<storage, read> row_count: array<u32>; // particles per cell row

// One lane per node of an active block.
@compute @workgroup_size(128)
fn p2g(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let b = active_blocks[3u + wg.x];
    let node = vec3<i32>(block_coord(b, params.res) * BLOCK + vec3<u32>(l & 7u, (l >> 3u) & 3u, l >> 5u));
    let nodef = vec3<f32>(node);
    let hi = i32(params.res) - 3;
    let x0 = max(node.x - 2, 0);
    let x1 = min(node.x, hi);
    var acc = vec4<f32>(0.0);
    var ma = 0.0;
    for (var dz = 0; dz < 3; dz++) {
        let cz = node.z - dz;
        for (var dy = 0; dy < 3; dy++) {
            let cy = node.y - dy;
            if (cz < 0 || cz > hi || cy < 0 || cy > hi || x0 > x1) {
                continue;
            }
            if (row_count[u32(cz) * params.res + u32(cy)] == 0u) {
                continue;
            }
            let r0 = cell_start[cell_index(vec3<i32>(x0, cy, cz), params.res)];
            let r1 = cell_start[cell_index(vec3<i32>(x1, cy, cz), params.res) + 1u];
            for (var r = r0; r < r1; r++) {
                let rec = records[r];
                let d = rec.xg_m.xyz - nodef;
                let w = bspline_at(d.x) * bspline_at(d.y) * bspline_at(d.z);
                let m = abs(rec.xg_m.w);
                acc += w * vec4<f32>(rec.mv_a.xyz - record_affine(rec) * (d * params.dx), m);
                ma += select(0.0, w * m, rec.xg_m.w < 0.0);
            }
        }
    }
    var g: GridMomentum;
    g.mv = acc.xyz;
    g.m = acc.w;
    g.m_anchor = ma;
    grid[(b << 7u) | l] = g;
}

