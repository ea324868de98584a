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

// One lane per 4 x 4 nodes (y .. y + 3) x (z .. z + 3) of an active 8 x 4 x 4 block.
@compute @workgroup_size(8)
fn p2g(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let b = active_blocks[3u + wg.x];
    let node = vec3<i32>(block_coord(b, params.res) * BLOCK + vec3<u32>(l, 0u, 0u));
    let nodef = vec3<f32>(node);
    let hi = i32(params.res) - 3;
    let x0 = max(node.x - 2, 0);
    let x1 = min(node.x, hi);
    var acc: array<vec4<f32>, 16>; // y + (k & 3), z + (k >> 2)
    for (var k = 0; k < 16; k++) {
        acc[k] = vec4<f32>(0.0);
    }
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
                let w0 = wy * wz.x;
                let q0 = p0;
                acc[0] += w0.x * vec4<f32>(q0, m);
                acc[1] += w0.y * vec4<f32>(q0 + up, m);
                acc[2] += w0.z * vec4<f32>(q0 + 2.0 * up, m);
                acc[3] += w0.w * vec4<f32>(q0 + 3.0 * up, m);
                let w1 = wy * wz.y;
                let q1 = p0 + 1.0 * fw;
                acc[4] += w1.x * vec4<f32>(q1, m);
                acc[5] += w1.y * vec4<f32>(q1 + up, m);
                acc[6] += w1.z * vec4<f32>(q1 + 2.0 * up, m);
                acc[7] += w1.w * vec4<f32>(q1 + 3.0 * up, m);
                let w2 = wy * wz.z;
                let q2 = p0 + 2.0 * fw;
                acc[8] += w2.x * vec4<f32>(q2, m);
                acc[9] += w2.y * vec4<f32>(q2 + up, m);
                acc[10] += w2.z * vec4<f32>(q2 + 2.0 * up, m);
                acc[11] += w2.w * vec4<f32>(q2 + 3.0 * up, m);
                let w3 = wy * wz.w;
                let q3 = p0 + 3.0 * fw;
                acc[12] += w3.x * vec4<f32>(q3, m);
                acc[13] += w3.y * vec4<f32>(q3 + up, m);
                acc[14] += w3.z * vec4<f32>(q3 + 2.0 * up, m);
                acc[15] += w3.w * vec4<f32>(q3 + 3.0 * up, m);
            }
        }
    }
    let i = (b << 7u) | l;
    for (var k = 0u; k < 16u; k++) {
        let j = i + 8u * (k & 3u) + 32u * (k >> 2u);
        var g: GridMomentum;
        g.mv = acc[k].xyz;
        g.m = acc[k].w;
        g.m_anchor = f32(anchor_mask[j]);
        grid[j] = g;
    }
}
