use crate::artifacts::BuildDir;
use crate::pipeline::aggregate::{Layout, Stage};
use crate::pipeline::aggregate_cost::TreeLoad;
use crate::pipeline::aggregate_tree::{NodeId, Tree};
use crate::pipeline::{self, AggregateReport, AggregateRequest, Aggregated, KeyCache};
use crate::stored::Stored;
use clap::Args;
use snarkml_circuits::aggregation::{Expose, DEFAULT_K};
use snarkml_circuits::io::{AggregatedProofFile, ProofFile};
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

Steps (one aggregation of the tree at a time, e.g. one task each on a cluster): `--tree`
prints the tree's steps, layer by layer; `--step L:G` proves group G of layer L alone from
the node files of the layer below (OUT/nodes/), writing its own; the steps of one layer are
independent, and the top step writes OUT as a whole-tree run does. A whole-tree run reuses
the node files already made from the same proofs (a rerun resumes).

Examples:
  snarkml prove build/ --input a.json -o p1.json --for-aggregation
  snarkml prove build/ --input b.json -o p2.json --for-aggregation
  snarkml aggregate p1.json p2.json --build build/ --srs srs20.bin -o aggr/
  snarkml aggregate p1.json q1.json --build build/ --build other/ --srs srs20.bin --expose all
  snarkml aggregate split.json --build split-build/ --srs srs21.bin -o aggr/
  snarkml aggregate p*.json --build build/ --srs srs21.bin -o aggr/ --tree
  snarkml aggregate p*.json --build build/ --srs srs21.bin -o aggr/ --step 0:1
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
    #[command(flatten)]
    pub steps: StepOpts,
    /// Aggregation directory to write.
    #[arg(short, long, default_value = "aggr")]
    pub out: PathBuf,
    #[command(flatten)]
    pub cache: CacheOpts,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One step of the aggregation tree at a time.
#[derive(Debug, Args)]
pub struct StepOpts {
    /// Prove only this aggregation of the tree (LAYER:GROUP, see --tree), from the node files
    /// of the layer below in OUT/nodes/.
    #[arg(long)]
    pub step: Option<NodeId>,
    /// Print the aggregation tree's steps, layer by layer, with each step's predicted time and
    /// memory, and prove nothing.
    #[arg(long, conflicts_with = "step")]
    pub tree: bool,
    /// With --tree: the machines the steps are spread over (each layer's steps at once), for
    /// the predicted wall time.
    #[arg(long, requires = "tree", default_value_t = 1)]
    pub machines: usize,
}

/// Prints the steps of the aggregation tree `load` (its steps' proofs and public instances) at
/// `k`, each step's predicted time and memory, and the predicted wall time on `machines`
/// machines.
pub(super) fn print_tree(json: bool, k: u32, load: &TreeLoad, machines: usize) -> eyre::Result<()> {
    use crate::pipeline::aggregate_cost::{
        keygen_seconds, step_peak_mib, step_seconds, tree_seconds, StepLoad,
    };
    let tree = Tree {
        layers: load
            .layers
            .iter()
            .map(|steps| steps.iter().map(|s| s.proofs).collect())
            .collect(),
    };
    let n: usize = tree.layers.first().map_or(0, |l| l.iter().sum());
    let machines = machines.max(1);
    let predicted = |s: &StepLoad| {
        serde_json::json!({
            "proofs": s.proofs,
            "instances": s.instances,
            "prove_seconds": step_seconds(*s, k),
            "keygen_seconds": keygen_seconds(s.instances, k),
            "memory_bytes": step_peak_mib(*s, k) << 20,
        })
    };
    let wall = |m: usize| {
        (
            tree_seconds(load, k, m, false),
            tree_seconds(load, k, m, true),
        )
    };
    let ((one, one_keys), (on, on_keys)) = (wall(1), wall(machines));
    let steps: Vec<Vec<String>> = tree
        .layers
        .iter()
        .enumerate()
        .map(|(layer, groups)| {
            (0..groups.len())
                .map(|group| NodeId { layer, group }.to_string())
                .collect()
        })
        .collect();
    let v = serde_json::json!({
        "proofs": n,
        "k": k,
        "layers": tree.layers,
        "steps": steps,
        "top": tree.top().to_string(),
        "predicted": {
            "steps": load.layers.iter().map(|l| l.iter().map(predicted).collect::<Vec<_>>()).collect::<Vec<_>>(),
            "one_machine_seconds": one,
            "one_machine_seconds_with_keygen": one_keys,
            "machines": machines,
            "seconds": on,
            "seconds_with_keygen": on_keys,
        },
    });
    super::print(json, v, || {
        println!(
            "{n} proofs, {} aggregations in {} layers (steps of a layer are independent):",
            steps.iter().map(Vec::len).sum::<usize>(),
            steps.len()
        );
        for (l, (loads, names)) in load.layers.iter().zip(&steps).enumerate() {
            let each: Vec<String> = names
                .iter()
                .zip(loads)
                .map(|(name, s)| format!("{name} ({} proofs)", s.proofs))
                .collect();
            println!("  layer {l}: {}", each.join(", "));
            // The first of the slowest (the steps of a layer often tie).
            let slowest = (0..loads.len())
                .rev()
                .max_by(|&a, &b| step_seconds(loads[a], k).total_cmp(&step_seconds(loads[b], k)));
            if let Some(i) = slowest {
                let s = loads[i];
                println!(
                    "    slowest step {}: ~{:.0} s to prove (+{:.0} s of keys the first time), {:.1} GiB; its proofs carry {} public instances",
                    names[i],
                    step_seconds(s, k),
                    keygen_seconds(s.instances, k),
                    step_peak_mib(s, k) as f64 / 1024.0,
                    s.instances
                );
            }
        }
        println!(
            "  predicted on 2-core machines (k = {k}): {one:.0} s on one machine ({one_keys:.0} s with keys), {on:.0} s on {machines} ({on_keys:.0} s with keys)",
        );
    })
}

/// The public instances of each proof to aggregate, for `--tree`'s predictions: a proof file's
/// own, or, for a proof not made yet (a path that is no file, as a driver planning its tasks
/// passes), those of the one `--build`'s model (none known: few).
fn proof_instances(proofs: &[PathBuf], builds: &[PathBuf]) -> eyre::Result<Vec<usize>> {
    let mut model = None;
    proofs
        .iter()
        .map(|path| {
            if path.is_file() {
                return Ok(ProofFile::load(path)?.instances.len());
            }
            let [build] = builds else { return Ok(0) };
            if model.is_none() {
                model = Some(pipeline::compiled_model(&BuildDir::new(build))?.num_instances());
            }
            Ok(model.unwrap_or(0))
        })
        .collect()
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

/// Where proving keys are cached, and how much room they may take.
#[derive(Debug, Args)]
pub struct CacheOpts {
    /// Where proving keys are cached [default: $SNARKML_CACHE_DIR, else ~/.cache/snarkml].
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// The most the cached keys may take (an aggregation circuit's take 2-3 GB): the least
    /// recently used are removed to make room [default: 16GiB].
    #[arg(long, env = "SNARKML_CACHE_LIMIT", value_parser = super::compile::parse_bytes)]
    pub cache_limit: Option<u64>,
}

impl CacheOpts {
    /// The cache, in the default directory and with the default limit unless given.
    pub fn cache(self) -> KeyCache {
        let cache = KeyCache::new(self.cache_dir.unwrap_or_else(pipeline::default_cache_dir));
        match self.cache_limit {
            Some(limit) => cache.with_limit(limit),
            None => cache,
        }
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
        if self.steps.tree {
            let counts = proof_instances(&self.proofs, &self.builds)?;
            let load = TreeLoad::new(&counts, &expose, self.layout.layout())?;
            return print_tree(self.json, self.k, &load, self.steps.machines);
        }
        let req = AggregateRequest {
            proofs: self.proofs,
            builds: self.builds,
            srs: self.srs,
            k: self.k,
            expose,
            layout: self.layout.layout(),
            cache: self.cache.cache(),
            step: self.steps.step,
        };
        let out = BuildDir::new(&self.out);
        let made = with_progress(|p| pipeline::aggregate(&req, &out, p))?;
        print_aggregated(self.json, &out, &made)
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
        if self.steps.tree {
            let load = pipeline::split::aggregation_load(build, self.layout.layout())?;
            return print_tree(self.json, self.k, &load, self.steps.machines);
        }
        let out = BuildDir::new(&self.out);
        let cache = self.cache.cache();
        let made = with_progress(|p| {
            pipeline::split::aggregate_split(
                build,
                &self.proofs,
                &self.srs,
                self.k,
                (self.layout.layout(), self.steps.step),
                &cache,
                &out,
                p,
            )
        })?;
        print_aggregated(self.json, &out, &made)
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
                Stage::Reused => (2, "made before from the same proofs, kept"),
                Stage::Keygen => (1, "generating keys (cached for next time)"),
                Stage::LoadKeys => (1, "reading cached keys"),
                Stage::Cache(note) => {
                    return super::progress_note(&bar, &format!("note: {note}"));
                }
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

/// Prints what an aggregation made: the final proof, or one node of the tree.
pub(super) fn print_aggregated(json: bool, out: &BuildDir, made: &Aggregated) -> eyre::Result<()> {
    let n = match made {
        Aggregated::Final(report) => return print_report(json, out, report),
        Aggregated::Node(n) => n,
    };
    let v = serde_json::json!({
        "step": n.node.to_string(),
        "node": n.path,
        "proofs": n.proofs,
        "reused": n.reused,
        "keygen_secs": n.keygen_secs,
        "prove_secs": n.prove_secs,
    });
    super::print(json, v, || {
        let how = if n.reused {
            "already made from these proofs, kept".to_owned()
        } else {
            format!("keygen {:.1}s, prove {:.1}s", n.keygen_secs, n.prove_secs)
        };
        println!(
            "aggregation step {} ({} proofs) -> {}: {how}",
            n.node,
            n.proofs,
            n.path.display()
        );
    })
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
            "reused": report.reused,
            "keys_generated": report.keys_generated,
            "keygen_secs": report.keygen_secs,
            "prove_secs": report.prove_secs,
            "proof_bytes": report.proof.proof_bytes()?.len(),
        });
        return super::print(true, v, || {});
    }
    let c = &report.info.shape.config;
    let kept = match report.reused {
        0 => String::new(),
        n => format!(" ({n} more kept from an earlier run)"),
    };
    println!(
        "aggregated {} proofs into {} ({} bytes) with {} aggregation circuits{kept} in {} layers",
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
