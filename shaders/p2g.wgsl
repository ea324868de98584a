// Particle-to-grid transfer as a gather, and the grid update of the summed nodes: every grid
// node of an active block sums, in a fixed order, the records of the particles whose stencils
// cover it. Those lie in rows of three cells; with cells indexed x-fastest, each row is one
// contiguous run of the cell-sorted records. No atomics, so the sums are bit-reproducible;
// the order is fixed: rows by (z, y), within a row by cell, within a cell by particle index.
// On a CPU adapter the cost is the per-lane gather of records, so each lane owns sixteen
// neighbouring nodes that share most of their cells, and every record it loads serves all
// of them. Entry `p2g` then turns each node's sums into its velocity (gravity, damping,
// anchors, walls, ground: `node_velocity`) and writes that as the texel G2P reads; the sums
// and velocities go to their buffers only where the parameters ask (the backward pass and
// tests read them), as storage writes cost a CPU adapter a loop a lane. Entry `gather` writes
// the raw sums: the backward pass runs it on the adjoint records.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> active_blocks: array<u32>;
@group(0) @binding(2) var<storage, read> cell_start: array<u32>;
@group(0) @binding(3) var records: texture_storage_2d<rgba32float, read>; // P2G records, see record_texel
@group(0) @binding(4) var<storage, read_write> grid: array<GridMomentum>;
@group(0) @binding(5) var<storage, read> row_count: array<u32>; // particles per cell row
@group(0) @binding(6) var<storage, read> anchor_mask: array<u32>; // per node: 1 if an anchor touches it
@group(0) @binding(7) var<storage, read_write> grid_v: array<f32>; // xyz per node (entry p2g)
@group(0) @binding(8) var grid_v_tex: texture_storage_2d<rgba32float, write>; // the same, for G2P

fn load_record(r: u32) -> P2gRecord {
    return P2gRecord(
        textureLoad(records, record_texel(r, 0u)),
        textureLoad(records, record_texel(r, 1u)),
        textureLoad(records, record_texel(r, 2u)),
        textureLoad(records, record_texel(r, 3u)),
    );
}

// Node k (along z) of a column of sums (grid index `i` for z, then + 32 per node).
fn column_node(i: u32, acc: mat4x4<f32>, k: u32) -> GridMomentum {
    var g: GridMomentum;
    g.mv = acc[k].xyz;
    g.m = acc[k].w;
    g.m_anchor = f32(anchor_mask[i + 32u * k]);
    return g;
}

// Writes the sums of the four nodes of a column.
fn store_column(i: u32, acc: mat4x4<f32>) {
    for (var k = 0u; k < 4u; k++) {
        grid[i + 32u * k] = column_node(i, acc, k);
    }
}

// The grid update of the four nodes of a column of block b: their velocities as texels, and
// where the parameters ask, sums and velocities to their buffers.
fn update_column(b: u32, i: u32, acc: mat4x4<f32>) {
    for (var k = 0u; k < 4u; k++) {
        let j = i + 32u * k;
        let g = column_node(i, acc, k);
        let v = node_velocity(params, g, block_node(b, j & 127u, params.res));
        textureStore(grid_v_tex, texel(j), vec4<f32>(v, 0.0));
        if (params.keep_buffers != 0u) {
            grid[j] = g;
            grid_v[3u * j] = v.x;
            grid_v[3u * j + 1u] = v.y;
            grid_v[3u * j + 2u] = v.z;
        }
    }
}

// A lane's sixteen nodes (see p2g): four columns of four nodes along z, (x, y), (x, y + 1),
// (x + 1, y), (x + 1, y + 1), each node's momentum and mass.
struct Tile {
    c00: mat4x4<f32>,
    c01: mat4x4<f32>,
    c10: mat4x4<f32>,
    c11: mat4x4<f32>,
}

// Where a lane's tile lies: its first node, that node's column offsets (n0 for x, n1 for
// x + 1, both at the block's y and z), its y within the block (yl), the cells x0 ..= x1 its
// particles can lie in, and the last base cell (hi).
struct TileAt {
    node: vec3<i32>,
    n0: vec3<f32>,
    n1: vec3<f32>,
    yl: f32,
    x0: i32,
    x1: i32,
    hi: i32,
}

// Adds a particle to node k along z of the four columns: weights w = (wy0, wy1, wx0, wx1)
// and bz along z, momenta q0 (column x) and q1 (column x + 1) before the y offsets dy0, dy1.
fn add_node(tile: ptr<function, Tile>, k: u32, w: vec4<f32>, bz: f32, q0: vec3<f32>, q1: vec3<f32>, dy0: vec3<f32>, dy1: vec3<f32>, m: f32) {
    let wz0 = w.z * bz;
    let wz1 = w.w * bz;
    (*tile).c00[k] += (w.x * wz0) * vec4<f32>(q0 + dy0, m);
    (*tile).c01[k] += (w.y * wz0) * vec4<f32>(q0 + dy1, m);
    (*tile).c10[k] += (w.x * wz1) * vec4<f32>(q1 + dy0, m);
    (*tile).c11[k] += (w.y * wz1) * vec4<f32>(q1 + dy1, m);
}

// Adds the particles whose base cells lie at z = node z + kz to the tile. They reach its
// nodes k0 ..= k1 along z only (a particle's weights vanish past its 3 x 3 x 3 stencil), so
// the other nodes are skipped: adding exact zeros would not change a bit of the sums.
fn slab(tile: ptr<function, Tile>, t: TileAt, kz: i32, k0: u32, k1: u32) {
    let cz = t.node.z + kz;
    if (cz < 0 || cz > t.hi || t.x0 > t.x1) {
        return;
    }
    for (var cy = t.node.y - 2; cy <= t.node.y + 1; cy++) {
        if (cy < 0 || cy > t.hi) {
            continue;
        }
        if (row_count[u32(cz) * params.res + u32(cy)] == 0u) {
            continue;
        }
        let r0 = cell_start[cell_index(vec3<i32>(t.x0, cy, cz), params.res)];
        let r1 = cell_start[cell_index(vec3<i32>(t.x1, cy, cz), params.res) + 1u];
        for (var r = r0; r < r1; r++) {
            let rec = load_record(r);
            let d0 = rec.xg_m.xyz - t.n0;
            let d1 = rec.xg_m.xyz - t.n1;
            let wx0 = bspline_at(d0.x);
            let wx1 = bspline_at(d1.x);
            let wy0 = bspline_at(d0.y - t.yl);
            let wy1 = bspline_at(d0.y - (t.yl + 1.0));
            let m = rec.xg_m.w;
            let a = record_affine(rec);
            let up = a[1] * params.dx;
            let dy0 = t.yl * up;
            let dy1 = (t.yl + 1.0) * up;
            // momenta at the nodes (x, y0, z) and (x + 1, y0, z): p - A d dx; node k along z
            // adds k dx A_z
            let p0 = rec.mv_a.xyz - a * (d0 * params.dx);
            let p1 = rec.mv_a.xyz - a * (d1 * params.dx);
            let fw = a[2] * params.dx;
            // (k0 and k1 are constants: every test below is decided at compile time)
            let w = vec4<f32>(wy0, wy1, wx0, wx1);
            if (k0 == 0u) {
                add_node(tile, 0u, w, bspline_at(d0.z), p0, p1, dy0, dy1, m);
            }
            if (k0 <= 1u && k1 >= 1u) {
                add_node(tile, 1u, w, bspline_at(d0.z - 1.0), p0 + fw, p1 + fw, dy0, dy1, m);
            }
            if (k0 <= 2u && k1 >= 2u) {
                add_node(tile, 2u, w, bspline_at(d0.z - 2.0), p0 + 2.0 * fw, p1 + 2.0 * fw, dy0, dy1, m);
            }
            if (k1 == 3u) {
                add_node(tile, 3u, w, bspline_at(d0.z - 3.0), p0 + 3.0 * fw, p1 + 3.0 * fw, dy0, dy1, m);
            }
        }
    }
}

// One lane per 2 x 2 x 4 nodes (x, x + 1) x (y, y + 1) x (z .. z + 3) of an active
// 8 x 4 x 4 block (lanes 0-3 the lower half in y, 4-7 the upper): one accumulator (a column
// of four nodes along z) per (x, y). Of the tiles of sixteen nodes, this one spans the fewest
// cells (4 x 4 x 6), so each lane loads the fewest records. The tile's sums, and in `at` the
// grid index of its first node.
fn gather_tile(b: u32, l: u32, at: ptr<function, u32>) -> Tile {
    let lx = 2u * (l & 3u);
    let ly = 2u * (l >> 2u);
    let base = vec3<i32>(block_coord(b, params.res) * BLOCK);
    let node = base + vec3<i32>(i32(lx), i32(ly), 0);
    // Offsets are taken from (x, block y, block z) and (x + 1, ...), then shifted by whole
    // numbers in y and z, so every weight and momentum is computed exactly as for a lane
    // of one node column.
    var t: TileAt;
    t.node = node;
    t.n0 = vec3<f32>(vec3<i32>(node.x, base.y, base.z));
    t.n1 = t.n0 + vec3<f32>(1.0, 0.0, 0.0);
    t.yl = f32(ly);
    t.hi = i32(params.res) - 3;
    t.x0 = max(node.x - 2, 0);
    t.x1 = min(node.x + 1, t.hi);
    let zero = mat4x4<f32>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    var tile = Tile(zero, zero, zero, zero);
    slab(&tile, t, -2, 0u, 0u);
    slab(&tile, t, -1, 0u, 1u);
    slab(&tile, t, 0, 0u, 2u);
    slab(&tile, t, 1, 1u, 3u);
    slab(&tile, t, 2, 2u, 3u);
    slab(&tile, t, 3, 3u, 3u);
    *at = (b << 7u) | (lx + 8u * ly);
    return tile;
}

// The forward substep's P2G and grid update.
@compute @workgroup_size(8)
fn p2g(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let b = active_blocks[3u + wg.x];
    var i: u32;
    let tile = gather_tile(b, l, &i);
    update_column(b, i, tile.c00);
    update_column(b, i + 8u, tile.c01);
    update_column(b, i + 1u, tile.c10);
    update_column(b, i + 9u, tile.c11);
}

// The sums alone (the backward pass's gather of adjoint records).
@compute @workgroup_size(8)
fn gather(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let b = active_blocks[3u + wg.x];
    var i: u32;
    let tile = gather_tile(b, l, &i);
    store_column(i, tile.c00);
    store_column(i + 8u, tile.c01);
    store_column(i + 1u, tile.c10);
    store_column(i + 9u, tile.c11);
}
