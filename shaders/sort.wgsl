// Cell binning of the particles, without float atomics: count particles per grid cell
// (`bin`, or the previous substep's G2P, see g2p.wgsl), prefix-sum the counts row by row
// (rows without particles are skipped), and list each cell's particles; anchored particles
// are left out (see NOT_BINNED). The order inside a cell
// (from atomicAdd) is not deterministic; the stress stage ranks by particle index, so
// everything downstream is. Also lists the active node blocks for P2G and the grid.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var state: texture_storage_2d<rgba32float, read>; // particle state texels (see state_texel)
@group(0) @binding(2) var<storage, read_write> cell_count: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> particle_bin: array<vec2<u32>>; // cell, slot
@group(0) @binding(4) var<storage, read_write> rows: array<atomic<u32>>; // row counts, then row starts
@group(0) @binding(5) var<storage, read_write> cell_start: array<u32>; // res^3 + 1 entries
@group(0) @binding(6) var<storage, read_write> sorted_id: array<u32>;
@group(0) @binding(7) var<storage, read_write> active_blocks: array<u32>; // dispatch args (3), list
@group(0) @binding(8) var<storage, read_write> block_mark: array<atomic<u32>>; // per cell block
@group(0) @binding(9) var ctl: texture_storage_2d<rgba32float, read>; // control records as texels (see ctl_at)

@compute @workgroup_size(64)
fn bin(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    if (p >= params.n_particles) {
        return;
    }
    if ((ctl_at(ctl, p).flags & FLAG_ANCHORED) != 0u) {
        particle_bin[p] = vec2<u32>(NOT_BINNED, 0u);
        return;
    }
    let at = bin_place(textureLoad(state, state_texel(p, 0u)).xyz * params.inv_dx, params.res);
    let slot = atomicAdd(&cell_count[at.x], 1u);
    // Only a mark that the row is not empty (a plain store where it is missing, cheaper than
    // counting here): scan_rows replaces it with the row's count.
    if (atomicLoad(&rows[at.y]) == 0u) {
        atomicStore(&rows[at.y], 1u);
    }
    particle_bin[p] = vec2<u32>(at.x, slot);
}

fn n_rows() -> u32 {
    return params.res * params.res;
}

// Marks the node blocks that receive P2G mass from the particles of cell block cb: its own
// and the blocks just above it (a particle's stencil reaches two cells past its base cell,
// and blocks are >= 4 wide). A plain store where a mark is missing, as every writer stores 1.
fn mark_node_blocks(cb: vec3<u32>) {
    let nb = blocks_per_axis(params.res);
    for (var dz = 0u; dz < 2u; dz++) {
        for (var dy = 0u; dy < 2u; dy++) {
            for (var dx = 0u; dx < 2u; dx++) {
                let bc = cb + vec3<u32>(dx, dy, dz);
                if (all(bc < nb)) {
                    let b = block_id(bc, params.res);
                    if (atomicLoad(&block_mark[b]) == 0u) {
                        atomicStore(&block_mark[b], 1u);
                    }
                }
            }
        }
    }
}

// Per non-empty row of cells (its mark comes from `bin`): the row's count, and the marks on
// the node blocks its particles reach. Empty rows cost one load, so the dense part of a
// substep stays small.
@compute @workgroup_size(64)
fn scan_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if (r >= n_rows() || atomicLoad(&rows[r]) == 0u) {
        return;
    }
    let yz = vec2<u32>(r % params.res, r / params.res) / BLOCK.yz;
    var last = 0xffffffffu;
    var sum = 0u;
    for (var x = 0u; x < params.res; x++) {
        let c = atomicLoad(&cell_count[r * params.res + x]);
        sum += c;
        if (c > 0u && (x >> 3u) != last) {
            last = x >> 3u;
            mark_node_blocks(vec3<u32>(last, yz));
        }
    }
    atomicStore(&rows[r], sum);
}

var<workgroup> chunk_sum: array<u32, 256>;
var<workgroup> chunk_active: array<u32, 256>;

// One workgroup: exclusive prefix sum of the row sums, and the list of the marked (active)
// node blocks, whose marks it clears for the next substep.
@compute @workgroup_size(256)
fn scan_global(@builtin(local_invocation_index) t: u32) {
    let total = n_rows();
    let chunk = (total + 255u) / 256u;
    let lo = min(t * chunk, total);
    let hi = min(lo + chunk, total);
    let nbt = n_blocks(params.res);
    let bchunk = (nbt + 255u) / 256u;
    let blo = min(t * bchunk, nbt);
    let bhi = min(blo + bchunk, nbt);
    var sum = 0u;
    for (var r = lo; r < hi; r++) {
        sum += atomicLoad(&rows[r]);
    }
    var act = 0u;
    for (var b = blo; b < bhi; b++) {
        act += select(0u, 1u, atomicLoad(&block_mark[b]) != 0u);
    }
    chunk_sum[t] = sum;
    chunk_active[t] = act;
    workgroupBarrier();
    if (t == 0u) {
        var s = 0u;
        var a = 0u;
        for (var i = 0u; i < 256u; i++) {
            let cs = chunk_sum[i];
            let ca = chunk_active[i];
            chunk_sum[i] = s;
            chunk_active[i] = a;
            s += cs;
            a += ca;
        }
        active_blocks[0] = a;
        active_blocks[1] = 1u;
        active_blocks[2] = 1u;
        cell_start[params.res * total] = s;
    }
    workgroupBarrier();
    var s = chunk_sum[t];
    for (var r = lo; r < hi; r++) {
        let c = atomicLoad(&rows[r]);
        atomicStore(&rows[total + r], s);
        s += c;
    }
    var a = chunk_active[t];
    for (var b = blo; b < bhi; b++) {
        if (atomicLoad(&block_mark[b]) != 0u) {
            atomicStore(&block_mark[b], 0u);
            active_blocks[3u + a] = b;
            a += 1u;
        }
    }
}

// Exclusive prefix of the cell counts within every non-empty row (P2G skips empty rows, so
// their cell starts are never read).
@compute @workgroup_size(64)
fn scan_cells(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if (r >= n_rows() || atomicLoad(&rows[r]) == 0u) {
        return;
    }
    var s = atomicLoad(&rows[n_rows() + r]);
    for (var x = 0u; x < params.res; x++) {
        let i = r * params.res + x;
        cell_start[i] = s;
        s += atomicLoad(&cell_count[i]);
    }
}

@compute @workgroup_size(64)
fn scatter(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    if (p >= params.n_particles) {
        return;
    }
    let bin = particle_bin[p];
    if (bin.x != NOT_BINNED) {
        sorted_id[cell_start[bin.x] + bin.y] = p;
    }
}

// After P2G: empty the counts of the cells this substep used, ready for the next binning
// (the forward pass does this in G2P; the backward pass's reverse substeps use this).
@compute @workgroup_size(64)
fn unbin(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    if (p >= params.n_particles) {
        return;
    }
    let cell = particle_bin[p].x;
    if (cell == NOT_BINNED) {
        return;
    }
    atomicStore(&cell_count[cell], 0u);
    atomicStore(&rows[cell / params.res], 0u);
}
