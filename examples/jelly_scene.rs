//! Writes the procedural jelly scene: a jelly block on an anchored pedestal, as a scene TOML
//! plus a 3DGS `.ply` of its surface Gaussians.
//!
//! ```text
//! cargo run --release --example jelly_scene [-- OUT.toml]   # default: data/default.toml
//! ```
//! The splat file goes to `jelly/jelly.ply` beside the TOML file.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data/default.toml"));
    physdreamer::scene::procedural::write_jelly_scene(&out, "jelly/jelly.ply")?;
    let report = physdreamer::scene::inspect(&out)?;
    println!("wrote {}\n{report}", out.display());
    Ok(())
}
