//! Crops a 3DGS `.ply` to an axis-aligned box with the crate's own reader and writer.
//!
//! ```text
//! cargo run --release --example crop_splat -- IN.ply OUT.ply MINX MINY MINZ MAXX MAXY MAXZ
//! ```
//! The output is binary little-endian with the layout `x y z f_dc_0..2 f_rest_* opacity
//! scale_0..2 rot_0..3`; the input's header comments are kept and one line records the crop.
//! An `opacity` of `+inf` is written as the clamped logit 20 (see `splat_ply`).

use std::path::Path;

use anyhow::{bail, Context};
use glam::Vec3;
use physdreamer::scene::ply::{Header, PlyFormat};
use physdreamer::scene::GaussianSplats;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 8 {
        bail!("usage: crop_splat IN.ply OUT.ply MINX MINY MINZ MAXX MAXY MAXZ");
    }
    let nums: Vec<f32> = args[2..]
        .iter()
        .map(|a| {
            a.parse::<f32>()
                .with_context(|| format!("`{a}` is not a number"))
        })
        .collect::<Result<_, _>>()?;
    let (lo, hi) = (
        Vec3::new(nums[0], nums[1], nums[2]),
        Vec3::new(nums[3], nums[4], nums[5]),
    );
    let input = Path::new(&args[0]);
    let splats = GaussianSplats::read(input)?;
    let bytes = std::fs::read(input)?;
    let mut comments = Header::parse(&bytes)
        .map(|h| h.comments)
        .unwrap_or_default();
    let keep: Vec<bool> = splats
        .position
        .iter()
        .map(|p| p.cmpge(lo).all() && p.cmple(hi).all())
        .collect();
    let out = splats.select(&keep);
    comments.push(format!(
        "Cropped by physdreamer examples/crop_splat.rs to x,y,z in [{}, {}, {}]..[{}, {}, {}]: {} of {} Gaussians kept",
        lo.x,
        lo.y,
        lo.z,
        hi.x,
        hi.y,
        hi.z,
        out.len(),
        splats.len()
    ));
    out.write(
        Path::new(&args[1]),
        PlyFormat::BinaryLittleEndian,
        &comments,
    )?;
    println!(
        "kept {} of {} Gaussians -> {}",
        out.len(),
        splats.len(),
        args[1]
    );
    Ok(())
}
