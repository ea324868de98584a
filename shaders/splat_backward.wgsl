// The backward pass of the differentiable splat rasteriser (src/render/differentiable/
// splat_backward.rs), the same image model and chain rule as the CPU pass
// (src/render/differentiable/backward.rs). The CPU keeps the forward tape: the projected
// splats front to back and the 16×16 tiles' lists of them.
//
// Every (tile, splat) entry owns one slot per pixel of its pixel box within the tile, the
// slots of all entries laid out one after another (`entry_slot`, from the CPU).
//
// blend:  one thread a pixel walks its tile's list front to back and writes, in the slot of
//         every splat whose box holds the pixel, the transmittance before it, its alpha and
//         e^power (zero: not blended). It then walks the list back to front carrying the
//         colour B of everything behind (background first, B ← α·c + (1 − α)·B) and
//         overwrites each blended slot with the pixel's partials: ∂L/∂centre (x, y),
//         ∂L/∂opacity and ∂L/∂colour. No division by 1 − α, no underflow of T.
// gather: one thread an entry adds its slots in order. No atomics, a fixed order: the sums
//         do not depend on scheduling.
//
// The image is done in bands of whole tile rows (band.x ..< band.y pixel rows, band.z the
// band's first slot, entries.xy its entries) so that the slot buffers stay within the
// device's binding size.

struct Params {
    size: vec4<u32>,       // width, height, tiles per row, 0
    band: vec4<u32>,       // first pixel row, end pixel row, first slot of the band, 0
    entries: vec4<u32>,    // first and end tile entry of the band, 0, 0
    background: vec4<f32>,
};

struct Splat {
    centre_opacity: vec4<f32>, // centre x, y (pixels), opacity, 0
    conic: vec4<f32>,          // a, b, c: power = -½(a dx² + c dy²) - b dx dy
    colour: vec4<f32>,
    bbox: vec4<u32>,           // pixel box x0, x1, y0, y1
};

const TILE: u32 = 16u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> splats: array<Splat>;
@group(0) @binding(2) var<storage, read> tile_offsets: array<u32>;
@group(0) @binding(3) var<storage, read> tile_entries: array<u32>;
@group(0) @binding(4) var<storage, read> entry_slot: array<u32>;
@group(0) @binding(5) var<storage, read> d_image: array<vec4<f32>>;
// splats each pixel blended
@group(0) @binding(6) var<storage, read_write> pixel_blends: array<u32>;
// per slot: (T, α, ±e^power (negative: α at the 0.99 cap), 1) → (∂cx, ∂cy, ∂opacity, 1);
// zero where the pixel does not blend the splat
@group(0) @binding(7) var<storage, read_write> slot_a: array<vec4<f32>>;
// per slot: ∂colour
@group(0) @binding(8) var<storage, read_write> slot_b: array<vec4<f32>>;
// per tile entry: (∂cx, ∂cy, ∂opacity, 0), (∂r, ∂g, ∂b, 0)
@group(0) @binding(9) var<storage, read_write> entry_grad: array<vec4<f32>>;

// The pixel box of a splat within tile t: x0, x1, y0, y1 (empty when x0 >= x1 or y0 >= y1).
fn box_in_tile(b: vec4<u32>, t: u32) -> vec4<u32> {
    let tx = (t % params.size.z) * TILE;
    let ty = (t / params.size.z) * TILE;
    return vec4<u32>(
        max(b.x, tx),
        min(b.y, min(tx + TILE, params.size.x)),
        max(b.z, ty),
        min(b.w, min(ty + TILE, params.size.y)),
    );
}

// Slot of pixel (x, y) of entry e, whose box within its tile is r; -1 outside the box.
fn slot_of(e: u32, r: vec4<u32>, x: u32, y: u32) -> i32 {
    if x < r.x || x >= r.y || y < r.z || y >= r.w {
        return -1;
    }
    return i32(entry_slot[e] - params.band.z + (y - r.z) * (r.y - r.x) + x - r.x);
}

@compute @workgroup_size(8, 8)
fn blend(@builtin(global_invocation_id) id: vec3<u32>) {
    let x = id.x;
    let y = params.band.x + id.y;
    if x >= params.size.x || y >= params.band.y {
        return;
    }
    let p = y * params.size.x + x;
    let t = (y / TILE) * params.size.z + x / TILE;
    let first = tile_offsets[t];
    let end = tile_offsets[t + 1u];
    let centre = vec2<f32>(f32(x) + 0.5, f32(y) + 0.5);
    var n = 0u;
    var trans = 1.0;
    for (var e = first; e < end; e++) {
        let i = tile_entries[e];
        let slot = slot_of(e, box_in_tile(splats[i].bbox, t), x, y);
        if slot < 0 {
            continue;
        }
        // the reference's per-splat rule (src/render/differentiable.rs `hit`)
        let s = splats[i];
        let d = s.centre_opacity.xy - centre;
        let k = s.conic;
        let power = -0.5 * (k.x * d.x * d.x + k.z * d.y * d.y) - k.y * d.x * d.y;
        var rec = vec4<f32>(0.0);
        if power >= -4.5 && power <= 0.0 {
            let gauss = exp(power);
            let raw = s.centre_opacity.z * gauss;
            let alpha = min(raw, 0.99);
            if alpha >= 1.0 / 255.0 {
                rec = vec4<f32>(trans, alpha, select(gauss, -gauss, raw >= 0.99), 1.0);
                trans *= 1.0 - alpha;
                n += 1u;
            }
        }
        slot_a[slot] = rec;
    }
    pixel_blends[p] = n;

    let grad = d_image[p].xyz;
    var behind = params.background.xyz;
    for (var e = end; e > first; e--) {
        let i = tile_entries[e - 1u];
        let slot = slot_of(e - 1u, box_in_tile(splats[i].bbox, t), x, y);
        if slot < 0 {
            continue;
        }
        let r = slot_a[slot];
        if r.w == 0.0 {
            continue;
        }
        let a = r.y;
        let s = splats[i];
        let c = s.colour.xyz;
        slot_b[slot] = vec4<f32>(grad * (r.x * a), 0.0);
        var part = vec3<f32>(0.0);
        if r.z > 0.0 {
            let d_alpha = r.x * dot(grad, c - behind);
            let d_power = d_alpha * a;
            let d = s.centre_opacity.xy - centre;
            let q = s.conic;
            part = vec3<f32>(
                -d_power * (q.x * d.x + q.y * d.y),
                -d_power * (q.z * d.y + q.y * d.x),
                d_alpha * r.z,
            );
        }
        slot_a[slot] = vec4<f32>(part, 1.0);
        behind = c * a + behind * (1.0 - a);
    }
}

@compute @workgroup_size(64)
fn gather(@builtin(global_invocation_id) id: vec3<u32>,
          @builtin(num_workgroups) groups: vec3<u32>) {
    let e = params.entries.x + id.x + id.y * groups.x * 64u;
    if e >= params.entries.y {
        return;
    }
    var a = vec3<f32>(0.0);
    var c = vec3<f32>(0.0);
    for (var s = entry_slot[e]; s < entry_slot[e + 1u]; s++) {
        let r = slot_a[s - params.band.z];
        if r.w != 0.0 {
            a += r.xyz;
            c += slot_b[s - params.band.z].xyz;
        }
    }
    entry_grad[2u * e] = vec4<f32>(a, 0.0);
    entry_grad[2u * e + 1u] = vec4<f32>(c, 0.0);
}
