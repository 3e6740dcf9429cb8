use crate::artifacts::BuildDir;
use crate::pipeline;
use clap::Args;
use eyre::Result;
use std::path::PathBuf;

/// `snarkml profile`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  snarkml profile build/\n  snarkml profile build/ --json")]
pub struct ProfileCmd {
    /// Build directory (from `snarkml compile`).
    pub build: PathBuf,
    /// Print the profile as JSON.
    #[arg(long)]
    pub json: bool,
}

impl ProfileCmd {
    pub(super) fn run(self) -> Result<()> {
        let p = pipeline::profile(&BuildDir::new(&self.build))?;
        if self.json {
            return super::print(true, serde_json::to_value(&p)?, || {});
        }
        let total = p.rows.max(1) as f64;
        let per_row = p.seconds_per_row();
        println!(
            "{}: k = {} ({} rows available), width {}, {} rows used, lookup table {} rows",
            p.model,
            p.k,
            1usize << p.k,
            p.width,
            p.rows,
            p.table_rows
        );
        println!(
            "{:<28} {:<15} {:>8} {:>7} {:>12} {:>9}",
            "layer", "kind", "rows", "share", "predicted", "error"
        );
        for l in &p.layers {
            let error = l
                .error
                .map_or_else(|| "-".to_owned(), |e| format!("{:.2}%", e * 100.0));
            println!(
                "{:<28} {:<15} {:>8} {:>6.1}% {:>11.3}s {:>9}",
                l.node,
                l.kind,
                l.rows,
                l.rows as f64 / total * 100.0,
                l.predicted_s,
                error
            );
        }
        println!("by kind of work:");
        for (k, n) in &p.by_kind {
            println!(
                "  {k:<15} {n:>8} {:>6.1}% {:>11.3}s",
                *n as f64 / total * 100.0,
                *n as f64 * per_row
            );
        }
        println!(
            "  {:<15} {:>8} (beside the layout, in their own columns) {:>8.3}s",
            "lookup tables",
            p.table_rows,
            p.table_rows as f64 * per_row
        );
        println!(
            "predicted proving time {:.2}s for 2^{} rows (cost model of `compile --optimize`)",
            p.predicted_prove_s, p.k
        );
        println!(
            "Proving time follows the circuit size 2^k, set here by {}; rows are the cost each layer adds.",
            if p.table_rows > p.rows { "the lookup table" } else { "the layout rows" }
        );
        if let Some(split) = &p.split {
            print_split(&self.build, p.rows, split);
        }
        Ok(())
    }
}

/// A split build's segments, after the whole model's profile.
fn print_split(build: &std::path::Path, whole_rows: usize, split: &pipeline::SplitProfile) {
    println!(
        "\nsplit into {} segments, each a circuit of its own (the profile above is the whole model as one):",
        split.segments.len()
    );
    println!(
        "{:<9} {:<9} {:>3} {:>9} {:>15} {:>11}",
        "segment", "layers", "k", "rows", "inputs/outputs", "predicted"
    );
    for (j, s) in split.segments.iter().enumerate() {
        let p = &s.profile;
        println!(
            "{:<9} {:<9} {:>3} {:>9} {:>15} {:>10.2}s",
            j + 1,
            format!("{}..{}", s.layers[0], s.layers[1]),
            p.k,
            p.rows,
            p.by_kind.get("inputs/outputs").copied().unwrap_or(0),
            p.predicted_prove_s
        );
    }
    println!(
        "the cuts add {} rows to the whole model's {whole_rows} ({:.1} %): the tensors crossing them, packed and hashed on both sides and range-checked after",
        split.boundary_rows,
        split.boundary_rows as f64 / whole_rows.max(1) as f64 * 100.0
    );
    println!(
        "one segment layer by layer: snarkml profile {}",
        build.join("segment-J").display()
    );
}
