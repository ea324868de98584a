// Particle-to-grid transfer as a gather: every grid node of an active block sums, in a fixed
// order, the records of the particles whose stencils cover it. Those lie in rows of three
// cells; with cells indexed x-fastest, each row is one contiguous run of the cell-sorted
// records. No atomics, so the sums are bit-reproducible; the order is fixed: rows by (z, y),
// within a row by cell, within a cell by particle index. On a CPU adapter the cost is the
// per-lane gather of records, so each lane owns sixteen nodes (a 4 x 4 column in y and z) that
// share most of their rows, and every record it loads serves all of them.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> active_blocks: array<u32>;
@group(0) @binding(2) var<storage, read> cell_start: array<u32>;
@group(0) @binding(3) var<storage, read> records: array<P2gRecord>;
@group(0) @binding(4) var<storage, read_write> grid: array<GridMomentum>;
@group(0) @binding(5) var<storage, read> row_count: array<u32>; // particles per cell row
@group(0) @binding(6) var<storage, read> anchor_mask: array<u32>; // per node: 1 if an anchor touches it

// The momentum and mass a particle gives four nodes along y (columns y .. y + 3): weights
// `w`, affine momentum `q` at the first node, rising by `up` from node to node.
fn column(w: vec4<f32>, q: vec3<f32>, up: vec3<f32>, m: f32) -> mat4x4<f32> {
    return mat4x4<f32>(w.x * vec4<f32>(q, m), w.y * vec4<f32>(q + up, m), w.z * vec4<f32>(q + 2.0 * up, m), w.w * vec4<f32>(q + 3.0 * up, m));
}

// Writes the four nodes of a column (grid index `i` for y, then + 8 per node).
fn store_column(i: u32, acc: mat4x4<f32>) {
    for (var k = 0u; k < 4u; k++) {
        var g: GridMomentum;
        g.mv = acc[k].xyz;
        g.m = acc[k].w;
        g.m_anchor = f32(anchor_mask[i + 8u * k]);
        grid[i + 8u * k] = g;
    }
}

// One lane per 4 x 4 nodes (y .. y + 3) x (z .. z + 3) of an active 8 x 4 x 4 block: one
// accumulator (a column of four nodes along y) per z.
@compute @workgroup_size(8)
fn p2g(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let b = active_blocks[3u + wg.x];
    let node = vec3<i32>(block_coord(b, params.res) * BLOCK + vec3<u32>(l, 0u, 0u));
    let nodef = vec3<f32>(node);
    let hi = i32(params.res) - 3;
    let x0 = max(node.x - 2, 0);
    let x1 = min(node.x, hi);
    let zero = mat4x4<f32>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    var acc0 = zero;
    var acc1 = zero;
    var acc2 = zero;
    var acc3 = zero;
    for (var cz = node.z - 2; cz <= node.z + 3; cz++) {
        for (var cy = node.y - 2; cy <= node.y + 3; cy++) {
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
                let wx = bspline_at(d.x);
                let wy = vec4<f32>(bspline_at(d.y), bspline_at(d.y - 1.0), bspline_at(d.y - 2.0), bspline_at(d.y - 3.0));
                let wz = wx * vec4<f32>(bspline_at(d.z), bspline_at(d.z - 1.0), bspline_at(d.z - 2.0), bspline_at(d.z - 3.0));
                let m = rec.xg_m.w;
                let a = record_affine(rec);
                let p0 = rec.mv_a.xyz - a * (d * params.dx);
                let up = a[1] * params.dx;
                let fw = a[2] * params.dx;
                acc0 += column(wy * wz.x, p0, up, m);
                acc1 += column(wy * wz.y, p0 + fw, up, m);
                acc2 += column(wy * wz.z, p0 + 2.0 * fw, up, m);
                acc3 += column(wy * wz.w, p0 + 3.0 * fw, up, m);
            }
        }
    }
    let i = (b << 7u) | l;
    store_column(i, acc0);
    store_column(i + 32u, acc1);
    store_column(i + 64u, acc2);
    store_column(i + 96u, acc3);
}
