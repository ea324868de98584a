// Gaussian-splat rendering (see src/render/splat.rs; the CPU mirror is src/render/reference.rs).
//
// Three entry-point groups share this file:
// * `project` (compute): EWA projection of every Gaussian with its (deformed) 3D covariance,
//   0.3 px low-pass dilation, 3-sigma extents, SH colour along the view direction rotated into
//   the Gaussian's rest frame, and a back-to-front depth key for the sort.
// * `vs_splat` / `fs_splat`: one instanced quad per Gaussian in sorted order; the fragment
//   evaluates the 2D Gaussian, cuts it at 3 sigma (Mahalanobis distance 3), clamps alpha to 0.99,
//   drops alpha < 1/255 and emits premultiplied colour for "over" blending.
// * `vs_full` / `fs_resolve`: composites the accumulated colour over the background.

struct View {
    world_to_camera: mat4x4<f32>,
    // Camera centre (world), w unused.
    centre: vec4<f32>,
    // fx, fy, cx, cy (pixels).
    intrinsics: vec4<f32>,
    // width, height, near plane, unused.
    size: vec4<f32>,
    // Gaussian count, SH degree, SH floats per Gaussian, padded key count.
    counts: vec4<u32>,
    // Background colour (rgb), unused.
    background: vec4<f32>,
};

struct Gaussian {
    // Centre (world) and opacity alpha.
    mean_alpha: vec4<f32>,
    // Covariance xx, xy, xz, yy.
    cov_a: vec4<f32>,
    // Covariance yz, zz, unused, unused.
    cov_b: vec4<f32>,
    // Local rotation (rest -> current) as a quaternion x, y, z, w; SH is evaluated along R^T d.
    rot: vec4<f32>,
};

struct Projected {
    // Pixel centre x, y and quad half-extents x, y.
    centre_ext: vec4<f32>,
    // Conic (inverse 2D covariance) a, b, c and opacity.
    conic_alpha: vec4<f32>,
    // Colour rgb; w = 1 when visible, 0 when culled.
    colour: vec4<f32>,
};

@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var<storage, read> gaussians: array<Gaussian>;
@group(0) @binding(2) var<storage, read> sh: array<f32>;
@group(0) @binding(3) var<storage, read_write> projected: array<Projected>;
@group(0) @binding(4) var<storage, read_write> keys: array<vec2<u32>>;
@group(0) @binding(5) var<storage, read> projected_in: array<Projected>;
@group(0) @binding(6) var<storage, read> order: array<vec2<u32>>;
@group(0) @binding(7) var accum: texture_2d<f32>;

const SH_C0: f32 = 0.28209479177387814;
const SH_C1: f32 = 0.4886025119029199;
const SH_C2 = array<f32, 5>(1.0925484305920792, -1.0925484305920792, 0.31539156525252005,
                            -1.0925484305920792, 0.5462742152960396);
const SH_C3 = array<f32, 7>(-0.5900435899266435, 2.890611442640554, -0.4570457994644658,
                            0.3731763325901154, -0.4570457994644658, 1.445305721320277,
                            -0.5900435899266435);

/// Coefficient `k` (0 = DC) of Gaussian `i`, rgb.
fn coeff(base: u32, k: u32) -> vec3<f32> {
    let o = base + 3u * k;
    return vec3<f32>(sh[o], sh[o + 1u], sh[o + 2u]);
}

/// Colour of Gaussian `i` seen along unit direction `d` (its rest frame), 3DGS `eval_sh` + 0.5,
/// clamped at 0.
fn sh_colour(i: u32, d: vec3<f32>) -> vec3<f32> {
    let deg = view.counts.y;
    let base = i * view.counts.z;
    var c = SH_C0 * coeff(base, 0u);
    if (deg >= 1u) {
        let x = d.x;
        let y = d.y;
        let z = d.z;
        c = c - SH_C1 * y * coeff(base, 1u) + SH_C1 * z * coeff(base, 2u) - SH_C1 * x * coeff(base, 3u);
        if (deg >= 2u) {
            let xx = x * x;
            let yy = y * y;
            let zz = z * z;
            c = c + SH_C2[0] * x * y * coeff(base, 4u) + SH_C2[1] * y * z * coeff(base, 5u)
                + SH_C2[2] * (2.0 * zz - xx - yy) * coeff(base, 6u)
                + SH_C2[3] * x * z * coeff(base, 7u) + SH_C2[4] * (xx - yy) * coeff(base, 8u);
            if (deg >= 3u) {
                c = c + SH_C3[0] * y * (3.0 * xx - yy) * coeff(base, 9u)
                    + SH_C3[1] * x * y * z * coeff(base, 10u)
                    + SH_C3[2] * y * (4.0 * zz - xx - yy) * coeff(base, 11u)
                    + SH_C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy) * coeff(base, 12u)
                    + SH_C3[4] * x * (4.0 * zz - xx - yy) * coeff(base, 13u)
                    + SH_C3[5] * z * (xx - yy) * coeff(base, 14u)
                    + SH_C3[6] * x * (xx - 3.0 * yy) * coeff(base, 15u);
            }
        }
    }
    return max(c + vec3<f32>(0.5), vec3<f32>(0.0));
}

/// `v` rotated by the inverse of unit quaternion `q` (x, y, z, w).
fn rotate_inv(q: vec4<f32>, v: vec3<f32>) -> vec3<f32> {
    let u = -q.xyz;
    let t = 2.0 * cross(u, v);
    return v + q.w * t + cross(u, t);
}

@compute @workgroup_size(64)
fn project(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let n = view.counts.x;
    if (i >= view.counts.w) {
        return;
    }
    if (i >= n) {
        keys[i] = vec2<u32>(0xffffffffu, 0xffffffffu);
        return;
    }
    keys[i] = vec2<u32>(0xffffffffu, i);
    projected[i] = Projected(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    let g = gaussians[i];
    let alpha = g.mean_alpha.w;
    let t = (view.world_to_camera * vec4<f32>(g.mean_alpha.xyz, 1.0)).xyz;
    if (!(t.z >= view.size.z) || !(alpha >= 1.0 / 255.0)) {
        return;
    }
    let fx = view.intrinsics.x;
    let fy = view.intrinsics.y;
    let cx = view.intrinsics.z;
    let cy = view.intrinsics.w;
    let w = view.size.x;
    let h = view.size.y;
    // The Jacobian is taken at the centre clamped to 15 % outside the image, as 3DGS does.
    let tx = clamp(t.x / t.z, (-0.15 * w - cx) / fx, (1.15 * w - cx) / fx) * t.z;
    let ty = clamp(t.y / t.z, (-0.15 * h - cy) / fy, (1.15 * h - cy) / fy) * t.z;
    let j0 = vec3<f32>(fx / t.z, 0.0, -fx * tx / (t.z * t.z));
    let j1 = vec3<f32>(0.0, fy / t.z, -fy * ty / (t.z * t.z));
    let wt = transpose(mat3x3<f32>(view.world_to_camera[0].xyz, view.world_to_camera[1].xyz,
                                   view.world_to_camera[2].xyz));
    let r0 = wt * j0;
    let r1 = wt * j1;
    let sigma = mat3x3<f32>(g.cov_a.xyz, vec3<f32>(g.cov_a.y, g.cov_a.w, g.cov_b.x),
                            vec3<f32>(g.cov_a.z, g.cov_b.x, g.cov_b.y));
    let s0 = sigma * r0;
    let s1 = sigma * r1;
    let a = dot(r0, s0) + 0.3;
    let b = dot(r0, s1);
    let c = dot(r1, s1) + 0.3;
    let det = a * c - b * b;
    if (!(det > 0.0)) {
        return;
    }
    let conic = vec3<f32>(c / det, -b / det, a / det);
    let m = vec2<f32>(fx * t.x / t.z + cx, fy * t.y / t.z + cy);
    let ext = vec2<f32>(3.0 * sqrt(a) + 0.5, 3.0 * sqrt(c) + 0.5);
    if (m.x + ext.x < 0.0 || m.x - ext.x > w || m.y + ext.y < 0.0 || m.y - ext.y > h) {
        return;
    }
    let d = rotate_inv(g.rot, normalize(g.mean_alpha.xyz - view.centre.xyz));
    projected[i] = Projected(vec4<f32>(m, ext), vec4<f32>(conic, alpha),
                             vec4<f32>(sh_colour(i, d), 1.0));
    // Back to front: larger depth first (positive floats order like their bits).
    keys[i] = vec2<u32>(~bitcast<u32>(t.z), i);
}

struct SplatOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) @interpolate(flat) centre: vec2<f32>,
    @location(1) @interpolate(flat) conic_alpha: vec4<f32>,
    @location(2) @interpolate(flat) colour: vec3<f32>,
};

@vertex
fn vs_splat(@builtin(vertex_index) v: u32, @builtin(instance_index) inst: u32) -> SplatOut {
    var out: SplatOut;
    let p = projected_in[order[inst].y];
    out.centre = p.centre_ext.xy;
    out.conic_alpha = p.conic_alpha;
    out.colour = p.colour.xyz;
    if (p.colour.w == 0.0) {
        out.pos = vec4<f32>(2.0, 2.0, 0.5, 1.0); // degenerate: culled
        return out;
    }
    let corner = vec2<f32>(f32(v & 1u) * 2.0 - 1.0, f32(v >> 1u) * 2.0 - 1.0);
    let px = p.centre_ext.xy + corner * p.centre_ext.zw;
    out.pos = vec4<f32>(px.x / view.size.x * 2.0 - 1.0, 1.0 - px.y / view.size.y * 2.0, 0.5, 1.0);
    return out;
}

@fragment
fn fs_splat(in: SplatOut) -> @location(0) vec4<f32> {
    let d = in.centre - in.pos.xy;
    let k = in.conic_alpha;
    let power = -0.5 * (k.x * d.x * d.x + k.z * d.y * d.y) - k.y * d.x * d.y;
    if (power > 0.0 || power < -4.5) {
        discard;
    }
    let alpha = min(0.99, k.w * exp(power));
    if (alpha < 1.0 / 255.0) {
        discard;
    }
    return vec4<f32>(in.colour * alpha, alpha);
}

@vertex
fn vs_full(@builtin(vertex_index) v: u32) -> @builtin(position) vec4<f32> {
    let uv = vec2<f32>(f32((v << 1u) & 2u), f32(v & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.5, 1.0);
}

@fragment
fn fs_resolve(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let a = textureLoad(accum, vec2<i32>(pos.xy), 0);
    let rgb = a.rgb + view.background.rgb * (1.0 - a.a);
    return clamp(vec4<f32>(rgb, a.a), vec4<f32>(0.0), vec4<f32>(1.0));
}
