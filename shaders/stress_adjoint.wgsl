// Adjoint of the stress stage, per particle: from the adjoint of A = m C - k tau(F, mu,
// lambda), k = dt V 4 / dx^2, the adjoints of C and F, and (accumulated over the substeps of
// a clip) of ln E and nu through the Lame parameters. The fixed-corotated rotation's
// derivative uses the signed SVD F = U S V^T: dR = U K V^T with K_ij = (P_ij - P_ji) /
// (s_i + s_j), P = U^T dF V; its adjoint stays finite at repeated singular values (F = I)
// and clamps s_i + s_j away from zero (two vanishing or opposite singular values).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> particles_in: array<Particle>;
@group(0) @binding(2) var<storage, read> material: array<vec4<f32>>; // E, nu, mass, volume
@group(0) @binding(3) var<storage, read> a_adj: array<mat3x3<f32>>;
@group(0) @binding(4) var<storage, read_write> adj: array<Particle>;
@group(0) @binding(5) var<storage, read_write> material_adj: array<vec4<f32>>; // d ln E, d nu

fn frobenius(a: mat3x3<f32>, b: mat3x3<f32>) -> f32 {
    return dot(a[0], b[0]) + dot(a[1], b[1]) + dot(a[2], b[2]);
}

fn cofactor(f: mat3x3<f32>) -> mat3x3<f32> {
    return mat3x3<f32>(cross(f[1], f[2]), cross(f[2], f[0]), cross(f[0], f[1]));
}

fn trace3(a: mat3x3<f32>) -> f32 {
    return a[0].x + a[1].y + a[2].z;
}

// 1 / (s_i + s_j), kept finite.
fn inv_pair(a: f32, b: f32) -> f32 {
    let d = a + b;
    return 1.0 / select(d, select(-1e-6, 1e-6, d >= 0.0), abs(d) < 1e-6);
}

// Adjoint of R = U V^T carried to F (see the file head).
fn rotation_adjoint(d: Svd, r_adj: mat3x3<f32>) -> mat3x3<f32> {
    let m = transpose(d.u) * r_adj * d.v; // m[col][row]
    let k01 = (m[1].x - m[0].y) * inv_pair(d.s.x, d.s.y);
    let k02 = (m[2].x - m[0].z) * inv_pair(d.s.x, d.s.z);
    let k12 = (m[2].y - m[1].z) * inv_pair(d.s.y, d.s.z);
    // K is skew: K_01 = k01, K_10 = -k01, ...
    let k = mat3x3<f32>(vec3<f32>(0.0, -k01, -k02), vec3<f32>(k01, 0.0, -k12), vec3<f32>(k02, k12, 0.0));
    return d.u * k * transpose(d.v);
}

@compute @workgroup_size(64)
fn stress_adjoint(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    if (p >= params.n_particles) {
        return;
    }
    let abar = a_adj[p];
    if (all(abar[0] == vec3<f32>(0.0)) && all(abar[1] == vec3<f32>(0.0)) && all(abar[2] == vec3<f32>(0.0))) {
        return; // every term below is a multiple of abar (anchored particles, for one)
    }
    let f = particles_in[p].f;
    let mat = material[p];
    let e = mat.x;
    let nu = mat.y;
    let lm = lame(e, nu);
    let mu = lm.x;
    let lambda = lm.y;
    let k = params.dt * mat.w * 4.0 * params.inv_dx * params.inv_dx;
    let tb = -k * abar; // adjoint of tau
    let j = determinant(f);
    let tr = trace3(tb);
    let id = mat3x3<f32>(vec3<f32>(1.0, 0.0, 0.0), vec3<f32>(0.0, 1.0, 0.0), vec3<f32>(0.0, 0.0, 1.0));
    var f_adj: mat3x3<f32>;
    var mu_adj: f32;
    var lambda_adj: f32;
    if (params.material == 0u) {
        // tau = 2 mu (F - R) F^T + lambda J (J - 1) I
        let d = svd_of(f);
        let r = d.u * transpose(d.v);
        mu_adj = 2.0 * frobenius(tb, (f - r) * transpose(f));
        lambda_adj = tr * j * (j - 1.0);
        f_adj = 2.0 * mu * (tb * f + transpose(tb) * (f - r))
            + (lambda * (2.0 * j - 1.0) * tr) * cofactor(f)
            + rotation_adjoint(d, -2.0 * mu * tb * f);
    } else {
        // tau = mu (F F^T - I) + lambda ln(max(J, 1e-6)) I
        mu_adj = frobenius(tb, f * transpose(f) - id);
        lambda_adj = tr * log(max(j, 1e-6));
        f_adj = mu * (tb + transpose(tb)) * f;
        if (j > 1e-6) {
            f_adj += (lambda * tr / j) * cofactor(f);
        }
    }
    var out = adj[p];
    out.c += mat.z * abar;
    out.f += f_adj;
    adj[p] = out;
    // mu and lambda are proportional to E: d/d ln E = mu mu_adj + lambda lambda_adj.
    let one_nu = 1.0 + nu;
    let one_2nu = 1.0 - 2.0 * nu;
    let dmu_dnu = -mu / one_nu;
    let dlambda_dnu = e * (1.0 + 2.0 * nu * nu) / (one_nu * one_nu * one_2nu * one_2nu);
    material_adj[p] += vec4<f32>(mu * mu_adj + lambda * lambda_adj, dmu_dnu * mu_adj + dlambda_dnu * lambda_adj, 0.0, 0.0);
}
