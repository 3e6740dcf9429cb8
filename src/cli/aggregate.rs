use crate::artifacts::BuildDir;
use crate::pipeline::aggregate::{Layout, Stage};
use crate::pipeline::{self, AggregateReport, AggregateRequest};
use clap::Args;
use snarkml_circuits::aggregation::{Expose, DEFAULT_K};
use snarkml_circuits::io::AggregatedProofFile;
use std::path::PathBuf;

/// `snarkml aggregate`.
#[derive(Debug, Args)]
#[command(after_help = "\
Expose (what the aggregated proof shows after the 12 accumulator limbs):
  none            nothing
  all             every instance of every inner proof, in order
  a comma list of:
    instance:P:I  instance I of proof P
    sum:I         the sum over all proofs of instance I
    equal:I       instance I, constrained equal in every proof (shown once)
    chain:IN:OUT  proof p's instance OUT equals proof p+1's instance IN (shows the first IN
                  and the last OUT)
    link:P:OUT:IN proof P's instance OUT equals proof P+1's instance IN (shows nothing)
    link:P:OUT:Q:IN proof P's instance OUT equals proof Q's instance IN (Q > P; shows nothing)
A split build (compile --segments) given as the one --build takes its split proof file (or one
proof per segment, in order) and is aggregated exposing the model's inputs, outputs and weights
commitments, every cut linked inside (in layers: each cut in the circuit that holds both sides).

Examples:
  snarkml prove build/ --input a.json -o p1.json --for-aggregation
  snarkml prove build/ --input b.json -o p2.json --for-aggregation
  snarkml aggregate p1.json p2.json --build build/ --srs srs20.bin -o aggr/
  snarkml aggregate p1.json q1.json --build build/ --build other/ --srs srs20.bin --expose all
  snarkml aggregate split.json --build split-build/ --srs srs21.bin -o aggr/
  snarkml gen-verifier aggr/ --aggregated && snarkml deploy aggr/
  snarkml verify-onchain aggr/ aggr/proof.json")]
pub struct AggregateCmd {
    /// Proof files to aggregate, in order (made with `snarkml prove --for-aggregation`).
    #[arg(required = true)]
    pub proofs: Vec<PathBuf>,
    /// Build directory of the proofs' model(s); repeat for proofs of several models.
    #[arg(long = "build", required = true)]
    pub builds: Vec<PathBuf>,
    /// SRS file with at least 2^k points: the one the builds were set up from.
    #[arg(long)]
    pub srs: PathBuf,
    /// log2 of the aggregation circuit's rows (more rows, fewer columns: a cheaper verifier).
    #[arg(long, default_value_t = DEFAULT_K)]
    pub k: u32,
    /// What the aggregated proof exposes of the inner proofs' public instances.
    #[arg(long, default_value = "none")]
    pub expose: String,
    #[command(flatten)]
    pub layout: LayoutOpts,
    /// Aggregation directory to write.
    #[arg(short, long, default_value = "aggr")]
    pub out: PathBuf,
    #[command(flatten)]
    pub cache: CacheOpts,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// How proofs are arranged into aggregation circuits.
#[derive(Debug, Args)]
pub struct LayoutOpts {
    /// At most this many proofs per aggregation circuit; more are aggregated in layers
    /// (0: all in one circuit, whose memory grows with the count).
    #[arg(long, default_value_t = Layout::default().arity)]
    pub arity: usize,
    /// Skip the final one-proof aggregation (faster, but a bigger verifier and more gas).
    #[arg(long)]
    pub no_compress: bool,
}

impl LayoutOpts {
    /// The layout asked for.
    pub fn layout(&self) -> Layout {
        Layout {
            arity: self.arity,
            compress: !self.no_compress,
        }
    }
}

/// Where proving keys are cached.
#[derive(Debug, Args)]
pub struct CacheOpts {
    /// Where proving keys are cached [default: $SNARKML_CACHE_DIR, else ~/.cache/snarkml].
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

impl CacheOpts {
    /// The cache directory, the default one unless given.
    pub fn dir(self) -> PathBuf {
        self.cache_dir.unwrap_or_else(pipeline::default_cache_dir)
    }
}

/// Prints the exposed values of an aggregated proof.
pub(super) fn print_exposed(file: &AggregatedProofFile) {
    if file.exposed.is_empty() {
        println!("  exposes nothing but the accumulator");
    } else {
        // Small values (counts, flags) read as numbers; commitments stay 0x-prefixed hex.
        let shown: Vec<String> = file
            .exposed
            .iter()
            .map(|v| {
                let digits = v.trim_start_matches("0x").trim_start_matches('0');
                if digits.is_empty() {
                    return "0".to_owned();
                }
                u64::from_str_radix(digits, 16).map_or_else(|_| v.clone(), |n| n.to_string())
            })
            .collect();
        println!("  exposes ({}): {}", file.expose, shown.join(", "));
    }
}

impl AggregateCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        if let [one] = self.builds.as_slice() {
            let build = BuildDir::new(one);
            if build.is_split() {
                return self.run_split(&build);
            }
        }
        let expose: Expose = self.expose.parse()?;
        let req = AggregateRequest {
            proofs: self.proofs,
            builds: self.builds,
            srs: self.srs,
            k: self.k,
            expose,
            layout: self.layout.layout(),
            cache_dir: self.cache.dir(),
        };
        let out = BuildDir::new(&self.out);
        let report = with_progress(|p| pipeline::aggregate(&req, &out, p))?;
        print_report(self.json, &out, &report)
    }
}

impl AggregateCmd {
    /// A split build's segment proofs, in one circuit, the chain checked inside.
    fn run_split(self, build: &BuildDir) -> eyre::Result<()> {
        if self.expose != "none" {
            eyre::bail!(
                "--expose: the aggregation of a split model exposes the model's inputs, outputs and weights commitments, its segments linked inside (leave out --expose)"
            );
        }
        let out = BuildDir::new(&self.out);
        let cache = self.cache.dir();
        let report = with_progress(|p| {
            pipeline::split::aggregate_split(
                build,
                &self.proofs,
                &self.srs,
                self.k,
                self.layout.layout(),
                &cache,
                &out,
                p,
            )
        })?;
        print_report(self.json, &out, &report)
    }
}

/// Runs an aggregation with a progress bar: two positions (keys, proof) per aggregation of
/// the tree.
pub(super) fn with_progress<T>(
    run: impl FnOnce(&mut dyn FnMut(Stage)) -> eyre::Result<T>,
) -> eyre::Result<T> {
    let bar = super::progress_bar(3);
    let (mut steps, mut step, mut layer, mut per_step) = (0, 0, 0, 0u64);
    let result = super::stdout_to_stderr(|| {
        run(&mut |stage| {
            // Positions within the current aggregation: 1 for its keys, 2 for its proof.
            let (offset, what) = match stage {
                // (No plain line here: a refused inner proof is then the only line on stderr.)
                Stage::CheckInner => {
                    return super::progress_step(&bar, 0, "checking inner proofs");
                }
                Stage::Plan { steps: n, cost } => {
                    steps = n;
                    per_step = cost.prove_s / n.max(1) as u64;
                    if cost.worth_a_warning() {
                        eprintln!(
                            "note: this aggregation ({n} circuits) is predicted to take about {} min to prove, plus up to {} min of key generation the first time, and {:.1} GiB of memory on a 2-core machine (BENCHMARKS.md \"Aggregation\"); fewer, larger proofs (a bigger audit --chunk-size) or verifying the proofs one by one on-chain avoid it",
                            cost.prove_s.div_ceil(60),
                            cost.keygen_s.div_ceil(60),
                            cost.peak_mib as f64 / 1024.0
                        );
                    }
                    if let Some(b) = &bar {
                        b.set_length(1 + 2 * n as u64);
                    }
                    return;
                }
                Stage::Step {
                    step: s, layer: l, ..
                } => {
                    (step, layer) = (s, l);
                    return;
                }
                Stage::Keygen => (1, "generating keys (cached for next time)"),
                Stage::LoadKeys => (1, "reading cached keys"),
                Stage::Prove => (2, "proving"),
            };
            let left = per_step * (steps - step) as u64;
            let msg = format!(
                "aggregation {}/{steps} (layer {layer}): {what}, about {} min of proving left",
                step + 1,
                left.div_ceil(60)
            );
            match &bar {
                Some(_) => super::progress_step(&bar, offset + 2 * step as u64, &msg),
                // Not a terminal (a log, CI): plain lines.
                None => eprintln!("{msg}"),
            }
        })
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    result
}

/// Prints what an aggregation made.
pub(super) fn print_report(
    json: bool,
    out: &BuildDir,
    report: &AggregateReport,
) -> eyre::Result<()> {
    if json {
        let v = serde_json::json!({
            "out": out.root(),
            "proof": out.proof(),
            "inner": report.info.inner.len(),
            "k": report.info.k,
            "vk_hash": report.info.vk_hash,
            "num_instances": report.info.num_instances,
            "expose": report.proof.expose,
            "exposed": report.proof.exposed,
            "cache_hit": report.cache_hit,
            "layers": report.info.layers,
            "aggregations": report.steps,
            "keys_generated": report.keys_generated,
            "keygen_secs": report.keygen_secs,
            "prove_secs": report.prove_secs,
            "proof_bytes": report.proof.proof_bytes()?.len(),
        });
        return super::print(true, v, || {});
    }
    let c = &report.info.shape.config;
    println!(
        "aggregated {} proofs into {} ({} bytes) with {} aggregation circuits in {} layers",
        report.info.inner.len(),
        out.proof().display(),
        report.proof.proof_bytes()?.len(),
        report.steps,
        report.info.layers.len()
    );
    let keys = if report.cache_hit {
        "keys from cache".to_owned()
    } else {
        format!(
            "keygen of {} circuits {:.1}s",
            report.keys_generated, report.keygen_secs
        )
    };
    println!(
        "  final circuit k={}, {} advice + {} lookup columns; {keys}, prove {:.1}s",
        c.degree, c.num_advice, c.num_lookup_advice, report.prove_secs
    );
    print_exposed(&report.proof);
    Ok(())
}
