// Mesh view: the deformed triangle mesh with per-vertex normals, lit by one directional
// light plus ambient.

struct View {
    view_proj: mat4x4<f32>,
    light: vec4<f32>,    // direction towards the light (world), w unused
    colour: vec4<f32>,
}

@group(0) @binding(0) var<uniform> view: View;

struct VsOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) normal: vec3<f32>,
}

@vertex
fn vs(@location(0) position: vec3<f32>, @location(1) normal: vec3<f32>) -> VsOut {
    var out: VsOut;
    out.pos = view.view_proj * vec4<f32>(position, 1.0);
    out.normal = normal;
    return out;
}

@fragment
fn fs(in: VsOut, @builtin(front_facing) front: bool) -> @location(0) vec4<f32> {
    let n = normalize(select(-in.normal, in.normal, front));
    let diffuse = max(dot(n, normalize(view.light.xyz)), 0.0);
    return vec4<f32>(view.colour.rgb * (0.3 + 0.7 * diffuse), 1.0);
}
