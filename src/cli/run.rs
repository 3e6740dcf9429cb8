use crate::artifacts::BuildDir;
use crate::pipeline;
use clap::Args;
use std::path::PathBuf;

/// `snarkml run`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml run build/ --input input.json\n  snarkml run build/ --input input.json --json"
)]
pub struct RunCmd {
    /// Build directory (from `snarkml compile`).
    pub build: PathBuf,
    /// Input file: {"input_data": [[…flat floats of input 0…], …]}.
    #[arg(long)]
    pub input: PathBuf,
    /// Print the outputs as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `snarkml mock`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  snarkml mock build/ --input input.json")]
pub struct MockCmd {
    /// Build directory (from `snarkml compile`).
    pub build: PathBuf,
    /// Input file.
    #[arg(long)]
    pub input: PathBuf,
    /// Print JSON: {satisfied, rows, k, seconds} (a split build: {satisfied, segments: [k…],
    /// rows: […], seconds}).
    #[arg(long)]
    pub json: bool,
}

impl RunCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let outputs = pipeline::run(&BuildDir::new(&self.build), &self.input)?;
        if self.json {
            let out: Vec<_> = outputs
                .iter()
                .map(
                    |t| serde_json::json!({ "name": t.name, "shape": t.shape, "values": t.values }),
                )
                .collect();
            super::print(true, serde_json::json!({ "outputs": out }), || {})?;
        } else {
            for t in &outputs {
                let shown: Vec<String> = t.values.iter().map(|v| format!("{v:.6}")).collect();
                println!("{} {:?}: [{}]", t.name, t.shape, shown.join(", "));
            }
        }
        Ok(())
    }
}

impl MockCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let build = BuildDir::new(&self.build);
        if build.is_split() {
            let (segments, secs) =
                super::timed("checking the constraints of every segment", || {
                    pipeline::split::mock_split(&build, &self.input)
                })?;
            let ks: Vec<u32> = segments.iter().map(|m| m.layout.k).collect();
            let value = serde_json::json!({
                "satisfied": true,
                "segments": ks,
                "rows": segments.iter().map(|m| m.rows).collect::<Vec<_>>(),
                "seconds": secs,
            });
            return super::print(self.json, value, || {
                println!(
                    "all constraints of {} segments satisfied on the chained tensors (k = {ks:?}, {secs:.2}s)",
                    segments.len()
                );
            });
        }
        let (model, secs) = super::timed("checking constraints", || {
            pipeline::mock(&BuildDir::new(&self.build), &self.input)
        })?;
        let value = serde_json::json!({
            "satisfied": true,
            "rows": model.rows,
            "k": model.layout.k,
            "seconds": secs,
        });
        super::print(self.json, value, || {
            println!(
                "all constraints satisfied ({} rows, k = {}, {secs:.2}s)",
                model.rows, model.layout.k
            );
        })
    }
}
