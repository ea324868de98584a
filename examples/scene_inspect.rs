//! Prints the `inspect` report of a scene file: `cargo run --release --example scene_inspect -- SCENE.toml`.

fn main() -> anyhow::Result<()> {
    let _ = env_logger::try_init();
    for arg in std::env::args().skip(1) {
        println!(
            "{}",
            physdreamer::scene::inspect(std::path::Path::new(&arg))?
        );
    }
    Ok(())
}
