use crate::artifacts::BuildDir;
use crate::stored::Stored;
use clap::Args;
use eyre::Result;
use snarkml_circuits::layout::optimize;
use snarkml_circuits::layout::Plan;
use snarkml_circuits::quantize::CompiledModel;
use std::collections::BTreeMap;
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
        let build = BuildDir::new(&self.build);
        build.require(&build.model(), "compile")?;
        let model = CompiledModel::load(&build.model())?;
        let plan = Plan::build(&model, model.layout.width, None)?;
        let total = plan.rows.max(1) as f64;
        let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
        let mut layers = Vec::new();
        for rows in &plan.layers {
            let layer = model.layers.iter().find(|l| l.node() == rows.node);
            let k = layer.map_or("inputs/outputs", |l| l.op().kind().name());
            let n = rows.end - rows.start;
            *by_kind.entry(k).or_default() += n;
            layers.push((rows.node.clone(), k, n));
        }
        let table = model.tables.rows();
        // Every one of the 2^k rows costs the same share of the proof (the cost model of
        // `compile --optimize`): a layer's predicted time is its rows' share of the total.
        let columns = optimize::Columns::of(&model, model.layout.width);
        let (predicted, _) = optimize::CostModel::MEASURED.predict(model.layout.k, columns);
        let per_row = predicted / (1u64 << model.layout.k) as f64;
        if self.json {
            let layers: Vec<_> = layers
                .iter()
                .map(|(node, k, n)| {
                    serde_json::json!({
                        "node": node, "kind": k, "rows": n, "predicted_s": *n as f64 * per_row,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "k": model.layout.k, "width": model.layout.width, "rows": plan.rows,
                    "table_rows": table, "layers": layers, "by_kind": by_kind,
                    "predicted_prove_s": predicted,
                })
            );
            return Ok(());
        }
        println!(
            "{}: k = {} ({} rows available), width {}, {} rows used, lookup table {} rows",
            model.name,
            model.layout.k,
            1usize << model.layout.k,
            model.layout.width,
            plan.rows,
            table
        );
        println!(
            "{:<28} {:<15} {:>8} {:>7} {:>12}",
            "layer", "kind", "rows", "share", "predicted"
        );
        for (node, k, n) in &layers {
            println!(
                "{node:<28} {k:<15} {n:>8} {:>6.1}% {:>11.3}s",
                *n as f64 / total * 100.0,
                *n as f64 * per_row
            );
        }
        println!("by kind of work:");
        for (k, n) in &by_kind {
            println!(
                "  {k:<15} {n:>8} {:>6.1}% {:>11.3}s",
                *n as f64 / total * 100.0,
                *n as f64 * per_row
            );
        }
        println!(
            "  {:<15} {table:>8} (beside the layout, in their own columns) {:>8.3}s",
            "lookup tables",
            table as f64 * per_row
        );
        println!(
            "predicted proving time {predicted:.2}s for 2^{} rows (cost model of `compile --optimize`)",
            model.layout.k
        );
        println!(
            "Proving time follows the circuit size 2^k, set here by {}; rows are the cost each layer adds.",
            if table > plan.rows { "the lookup table" } else { "the layout rows" }
        );
        Ok(())
    }
}
