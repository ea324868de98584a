use anyhow::Result;
use clap::Parser;
use physdreamer::cli::{run, Cli};

fn main() -> Result<()> {
    physdreamer::gpu::size_software_threads();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    run(Cli::parse())
}
