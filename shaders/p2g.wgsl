// Particle-to-grid transfer as a gather: every grid node of an active block sums, in a fixed
// order, the records of the particles whose stencils cover it. Those lie in rows of three
// cells; with cells indexed x-fastest, each row is one contiguous run of the cell-sorted
// records. No atomics, so the sums are bit-reproducible; the order is fixed: rows by (z, y),
// within a row by cell, within a cell by particle index. On a CPU adapter the cost is the
// per-lane gather of records, so each lane owns sixteen neighbouring nodes that share most of
// their cells, and every record it loads serves all of them.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> active_blocks: array<u32>;
@group(0) @binding(2) var<storage, read> cell_start: array<u32>;
@group(0) @binding(3) var records: texture_2d<f32>; // P2G records, see record_texel
@group(0) @binding(4) var<storage, read_write> grid: array<GridMomentum>;
@group(0) @binding(5) var<storage, read> row_count: array<u32>; // particles per cell row
@group(0) @binding(6) var<storage, read> anchor_mask: array<u32>; // per node: 1 if an anchor touches it

// The momentum and mass a particle gives four nodes along z (z .. z + 3): weights `w`,
// momentum `pz[k]` at node k of the column (before the y offset `dy`), mass `m`.
fn column(w: vec4<f32>, pz: mat4x3<f32>, dy: vec3<f32>, m: f32) -> mat4x4<f32> {
    return mat4x4<f32>(w.x * vec4<f32>(pz[0] + dy, m), w.y * vec4<f32>(pz[1] + dy, m), w.z * vec4<f32>(pz[2] + dy, m), w.w * vec4<f32>(pz[3] + dy, m));
}

fn load_record(r: u32) -> P2gRecord {
    return P2gRecord(
        textureLoad(records, record_texel(r, 0u), 0),
        textureLoad(records, record_texel(r, 1u), 0),
        textureLoad(records, record_texel(r, 2u), 0),
        textureLoad(records, record_texel(r, 3u), 0),
    );
}

// Writes the four nodes of a column (grid index `i` for z, then + 32 per node).
fn store_column(i: u32, acc: mat4x4<f32>) {
    for (var k = 0u; k < 4u; k++) {
        var g: GridMomentum;
        g.mv = acc[k].xyz;
        g.m = acc[k].w;
        g.m_anchor = f32(anchor_mask[i + 32u * k]);
        grid[i + 32u * k] = g;
    }
}

// The momenta at the four nodes (x, y0, z .. z + 3) of a record at offset `d` from the
// node (x, y0, z), before the y offset: p - A d dx, then + k dx A_z.
fn momenta(rec: P2gRecord, a: mat3x3<f32>, d: vec3<f32>) -> mat4x3<f32> {
    let p0 = rec.mv_a.xyz - a * (d * params.dx);
    let fw = a[2] * params.dx;
    return mat4x3<f32>(p0, p0 + fw, p0 + 2.0 * fw, p0 + 3.0 * fw);
}

// One lane per 2 x 2 x 4 nodes (x, x + 1) x (y, y + 1) x (z .. z + 3) of an active
// 8 x 4 x 4 block (lanes 0-3 the lower half in y, 4-7 the upper): one accumulator (a column
// of four nodes along z) per (x, y). Of the tiles of sixteen nodes, this one spans the fewest
// cells (4 x 4 x 6), so each lane loads the fewest records.
@compute @workgroup_size(8)
fn p2g(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let b = active_blocks[3u + wg.x];
    let lx = 2u * (l & 3u);
    let ly = 2u * (l >> 2u);
    let base = vec3<i32>(block_coord(b, params.res) * BLOCK);
    let node = base + vec3<i32>(i32(lx), i32(ly), 0);
    // Offsets are taken from (x, block y, block z) and (x + 1, ...), then shifted by whole
    // numbers in y and z, so every weight and momentum is computed exactly as for a lane
    // of one node column.
    let n0 = vec3<f32>(vec3<i32>(node.x, base.y, base.z));
    let n1 = n0 + vec3<f32>(1.0, 0.0, 0.0);
    let yl = f32(ly);
    let hi = i32(params.res) - 3;
    let x0 = max(node.x - 2, 0);
    let x1 = min(node.x + 1, hi);
    let zero = mat4x4<f32>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    var acc00 = zero; // (x, y)
    var acc01 = zero; // (x, y + 1)
    var acc10 = zero; // (x + 1, y)
    var acc11 = zero; // (x + 1, y + 1)
    for (var cz = node.z - 2; cz <= node.z + 3; cz++) {
        for (var cy = node.y - 2; cy <= node.y + 1; cy++) {
            if (cz < 0 || cz > hi || cy < 0 || cy > hi || x0 > x1) {
                continue;
            }
            if (row_count[u32(cz) * params.res + u32(cy)] == 0u) {
                continue;
            }
            let r0 = cell_start[cell_index(vec3<i32>(x0, cy, cz), params.res)];
            let r1 = cell_start[cell_index(vec3<i32>(x1, cy, cz), params.res) + 1u];
            for (var r = r0; r < r1; r++) {
                let rec = load_record(r);
                let d0 = rec.xg_m.xyz - n0;
                let d1 = rec.xg_m.xyz - n1;
                let bz = vec4<f32>(bspline_at(d0.z), bspline_at(d0.z - 1.0), bspline_at(d0.z - 2.0), bspline_at(d0.z - 3.0));
                let wz0 = bspline_at(d0.x) * bz;
                let wz1 = bspline_at(d1.x) * bz;
                let wy0 = bspline_at(d0.y - yl);
                let wy1 = bspline_at(d0.y - (yl + 1.0));
                let m = rec.xg_m.w;
                let a = record_affine(rec);
                let up = a[1] * params.dx;
                let dy0 = yl * up;
                let dy1 = (yl + 1.0) * up;
                let p0 = momenta(rec, a, d0);
                let p1 = momenta(rec, a, d1);
                acc00 += column(wy0 * wz0, p0, dy0, m);
                acc01 += column(wy1 * wz0, p0, dy1, m);
                acc10 += column(wy0 * wz1, p1, dy0, m);
                acc11 += column(wy1 * wz1, p1, dy1, m);
            }
        }
    }
    let i = (b << 7u) | (lx + 8u * ly);
    store_column(i, acc00);
    store_column(i + 8u, acc01);
    store_column(i + 1u, acc10);
    store_column(i + 9u, acc11);
}
