use crate::artifacts::BuildDir;
use crate::pipeline;
use clap::Args;
use std::path::PathBuf;

/// `snarkml setup`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  snarkml setup build/ --srs srs.bin")]
pub struct SetupCmd {
    /// Build directory (from `snarkml compile`).
    pub build: PathBuf,
    /// The SRS file (from `snarkml srs gen`).
    #[arg(long)]
    pub srs: PathBuf,
}

impl SetupCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let build = BuildDir::new(&self.build);
        let (info, secs) = super::timed("generating keys", || pipeline::setup(&build, &self.srs))?;
        println!(
            "keys written to {} in {secs:.2}s (k = {}, vk {}…)",
            build.root().display(),
            info.k,
            &info.vk_hash[..16]
        );
        if info.srs_insecure {
            println!("note: the SRS is a development one: fine for a local anvil (chain id 31337), refused elsewhere without --insecure-srs");
        }
        Ok(())
    }
}
