// Particle view: every particle a lit sphere impostor (an instanced camera-facing quad),
// coloured by its kind (anchored, dragged, free) or by log10 of its Young's modulus.
// Reads the solver's particle, material and control buffers directly.

struct View {
    view_proj: mat4x4<f32>,
    right: vec4<f32>,       // camera right (world), w = sphere radius
    up: vec4<f32>,          // camera up (world), w = colour mode: 0 kind, 1 E field
    highlight: vec4<f32>,   // picked point xyz, w = highlight radius (0: none)
    log_e: vec4<f32>,       // log10 E at the colour map's ends (x, y)
}

struct Particle {
    x: vec4<f32>,
    v: vec4<f32>,
    c: mat3x3<f32>,
    f: mat3x3<f32>,
}

struct Ctl {
    offset: vec3<f32>,
    flags: u32,
}

@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var<storage, read> particles: array<Particle>;
@group(0) @binding(2) var<storage, read> material: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> ctl: array<Ctl>;

struct VsOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) uv: vec2<f32>,
    @location(1) colour: vec3<f32>,
}

// A perceptual blue-green-yellow ramp (viridis-like) for t in [0, 1].
fn ramp(t: f32) -> vec3<f32> {
    let c0 = vec3<f32>(0.267, 0.005, 0.329);
    let c1 = vec3<f32>(0.128, 0.567, 0.551);
    let c2 = vec3<f32>(0.993, 0.906, 0.144);
    let s = clamp(t, 0.0, 1.0);
    return select(mix(c1, c2, (s - 0.5) * 2.0), mix(c0, c1, s * 2.0), s < 0.5);
}

@vertex
fn vs(@builtin(vertex_index) vi: u32, @builtin(instance_index) i: u32) -> VsOut {
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, -1.0), vec2<f32>(1.0, 1.0),
        vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, 1.0), vec2<f32>(-1.0, 1.0));
    let uv = corners[vi];
    let centre = particles[i].x.xyz;
    let world = centre + (uv.x * view.right.xyz + uv.y * view.up.xyz) * view.right.w;
    var out: VsOut;
    out.pos = view.view_proj * vec4<f32>(world, 1.0);
    out.uv = uv;
    let flags = ctl[i].flags;
    var colour = vec3<f32>(0.85, 0.55, 0.35);
    if (view.up.w > 0.5) {
        let t = (log(material[i].x) / log(10.0) - view.log_e.x) / max(view.log_e.y - view.log_e.x, 1e-6);
        colour = ramp(t);
    } else if ((flags & 1u) != 0u) {
        colour = vec3<f32>(0.45, 0.47, 0.52);
    }
    if ((flags & 2u) != 0u) {
        colour = vec3<f32>(0.2, 0.6, 1.0);
    }
    if (view.highlight.w > 0.0 && distance(centre, view.highlight.xyz) < view.highlight.w) {
        colour = mix(colour, vec3<f32>(1.0, 1.0, 1.0), 0.6);
    }
    out.colour = colour;
    return out;
}

@fragment
fn fs(in: VsOut) -> @location(0) vec4<f32> {
    let r2 = dot(in.uv, in.uv);
    if (r2 > 1.0) {
        discard;
    }
    let n = vec3<f32>(in.uv, sqrt(1.0 - r2));
    let light = normalize(vec3<f32>(0.4, 0.6, 0.7));
    let shade = 0.35 + 0.65 * max(dot(n, light), 0.0);
    return vec4<f32>(in.colour * shade, 1.0);
}
