use crate::artifacts::BuildDir;
use crate::pipeline;
use clap::Args;
use snarkml_circuits::quantize::{CompileOptions, LinearMode, Visibility};
use snarkml_circuits::split::Budget;
use std::path::PathBuf;

/// `snarkml compile`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml compile model.onnx -o build/ --calibration samples.json\n  snarkml compile model.onnx -o build/ --scale 8 --width 8\n  snarkml compile model.onnx -o build/ --optimize --max-memory 16GiB --measure input.json\n  snarkml compile model.onnx -o build/ --max-memory 8GiB     # split into segments that fit\n  snarkml compile model.onnx -o build/ --segments 3"
)]
pub struct CompileCmd {
    /// The ONNX model.
    pub model: PathBuf,
    /// Build directory to write.
    #[arg(short, long, default_value = "build")]
    pub out: PathBuf,
    /// Sample inputs for calibration: {"inputs": [[…], …]} or an {"input_data": …} file
    /// [default: 16 random inputs in [-1, 1]].
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// The model's name in the build, its proofs and reports [default: the ONNX graph's name,
    /// else the file's stem]. Exporters often write a generic one (PyTorch: main_graph).
    #[arg(long)]
    pub name: Option<String>,
    /// Fixed-point fractional bits of activations [default: chosen from the calibration data].
    #[arg(long)]
    pub scale: Option<u32>,
    /// Fractional bits of weights [default: as many as fit without a bigger circuit].
    #[arg(long)]
    pub weight_scale: Option<u32>,
    /// Multiply-accumulates per dot-product row (advice columns = width + 1).
    #[arg(long, default_value_t = 4)]
    pub width: usize,
    /// Visibility of the model inputs: public (instances), private, or hashed (a public
    /// Poseidon commitment of the private values).
    #[arg(long, default_value_t = Visibility::Public)]
    pub inputs: Visibility,
    /// Visibility of the model outputs: public, private or hashed.
    #[arg(long, default_value_t = Visibility::Public)]
    pub outputs: Visibility,
    /// How the weights are held: fixed (circuit constants, bound by the verifying key),
    /// private (a witness), or hashed (private, with a public Poseidon commitment). With
    /// private or hashed weights keep BUILD/model.json private: it holds them.
    #[arg(long, default_value_t = Visibility::Fixed)]
    pub weights: Visibility,
    /// Salt of hashed weights, hex or decimal [default: random, kept in BUILD/model.json].
    #[arg(long)]
    pub weights_salt: Option<String>,
    /// Accuracy target of an automatically chosen scale: the mean relative error of the
    /// quantized outputs on the calibration samples (0.01 = 1 %). A scale that misses it gets
    /// more fractional bits, even at the cost of a bigger circuit.
    #[arg(long, default_value_t = snarkml_circuits::quantize::DEFAULT_TARGET_ERROR)]
    pub target_error: f64,
    /// Also a bound on the worst calibration sample's relative error (0.05 = 5 %): a scale
    /// whose mean error meets --target-error while single samples are far off (tree
    /// ensembles: a feature within a quantization step of a threshold branches the other way)
    /// gets more fractional bits until both are met [default: no bound].
    #[arg(long)]
    pub target_worst_error: Option<f64>,
    /// Keep a model whose quantized outputs miss --target-error or --target-worst-error (a
    /// warning instead of the error compile stops with otherwise).
    #[arg(long)]
    pub allow_error: bool,
    /// How Conv and MatMul/Gemm layers are checked: direct (a dot product per output),
    /// freivalds (one randomized check per layer in a second proof phase: far fewer rows for
    /// convolutions), or auto (per layer, whichever takes fewer rows, and only if that makes
    /// the circuit smaller).
    #[arg(long, default_value = "auto", value_parser = clap::value_parser!(LinearMode))]
    pub linear: LinearMode,
    /// Quantize every input element at the activation scale. By default, from 32 calibration
    /// samples on, a float input's narrow features (tabular data) that feed linear layers are
    /// quantized finer, range-checked at four times their calibrated range or more: use this
    /// when real inputs may reach far past the calibration set's range of a feature.
    #[arg(long)]
    pub uniform_input_scale: bool,
    /// Choose the width (and so the columns and k) that the cost model predicts proves
    /// fastest within --max-memory and with a verifier under the EVM's 24,576-byte limit.
    #[arg(long, conflicts_with = "width")]
    pub optimize: bool,
    /// Memory budget of proving, e.g. 16GiB or 512MiB [default: none]. With --optimize, for
    /// the layout; without, the model is split at layer boundaries into as few segments as
    /// each prove within it by the cost model (none when the whole model does).
    #[arg(long, value_parser = parse_bytes)]
    pub max_memory: Option<u64>,
    /// Split the model at layer boundaries into N segments of about equal rows: each is a
    /// circuit of its own (BUILD/segment-J/), proven separately and chained by commitments
    /// to the tensors crossing each cut (BUILD/split.json); setup, prove, verify and mock
    /// then work segment by segment.
    #[arg(long, value_name = "N", conflicts_with = "max_memory")]
    pub segments: Option<usize>,
    /// With --optimize: allow layouts whose verifier would exceed the EVM limit (aggregate
    /// their proofs instead of verifying them directly).
    #[arg(long, requires = "optimize")]
    pub wide_verifier: bool,
    /// With --optimize: set up and prove this input on the chosen layout (development SRS in
    /// a temporary directory) and print the measured time and memory beside the predicted.
    #[arg(long, requires = "optimize", value_name = "INPUT")]
    pub measure: Option<PathBuf>,
    /// Print JSON: {build, model, seconds, layers, scale_bits, weight_scale_bits, width, rows,
    /// table_rows, k, one_row_rescale, finer_outputs, limb_bits, error: {samples,
    /// mean_relative, worst_sample_relative, max_abs, largest_output, top1_agreement, target,
    /// meets_target}, import_unchecked, weights_commitment[, optimize: {layouts, chosen,
    /// measured}][, segments: [{layers, k, rows, inputs, outputs, predicted_prove_seconds,
    /// predicted_memory_bytes}], predicted: {segments:
    /// [{prove_seconds, memory_bytes}], one_machine_seconds, peak_memory_bytes,
    /// one_machine_per_segment_seconds}]}.
    #[arg(long)]
    pub json: bool,
}

/// The functions whose outputs take extra fractional bits, by their model.json name, and how
/// many.
fn gains(m: &snarkml_circuits::quantize::CompiledModel) -> Vec<(String, u32)> {
    m.tables
        .gains
        .iter()
        .map(|(act, g)| {
            let name = serde_json::to_value(act).ok();
            let name = name.as_ref().and_then(|v| v["fn"].as_str()).unwrap_or("?");
            (name.to_owned(), *g)
        })
        .collect()
}

/// The model inputs quantized finer per feature, each with its extra bits per feature.
fn finer_inputs(m: &snarkml_circuits::quantize::CompiledModel) -> Vec<(String, serde_json::Value)> {
    m.inputs
        .iter()
        .filter(|io| !io.feature_bits.is_empty())
        .map(|io| {
            (
                m.tensors[io.tensor].name.clone(),
                serde_json::json!(io.feature_bits),
            )
        })
        .collect()
}

/// `compile --json`'s object.
fn summary_json(
    m: &snarkml_circuits::quantize::CompiledModel,
    build: &BuildDir,
    secs: f64,
    target: f64,
    worst_target: Option<f64>,
) -> eyre::Result<serde_json::Value> {
    let r = &m.report;
    let finer: serde_json::Map<String, serde_json::Value> = gains(m)
        .into_iter()
        .map(|(name, g)| (name, serde_json::json!(g)))
        .collect();
    Ok(serde_json::json!({
        "build": build.root().display().to_string(),
        "model": m.name,
        "seconds": secs,
        "layers": m.layers.len(),
        "scale_bits": m.scale_bits,
        "weight_scale_bits": m.weight_scale_bits,
        "width": m.layout.width,
        "rows": m.rows,
        "table_rows": m.tables.rows(),
        "k": m.layout.k,
        "one_row_rescale": m.layout.one_row_rescale,
        "finer_outputs": finer,
        "finer_input_features": finer_inputs(m).into_iter().collect::<serde_json::Map<_, _>>(),
        "limb_bits": m.tables.limb_bits,
        "error": {
            "samples": r.samples,
            "mean_relative": r.mean_rel_error,
            "worst_sample_relative": r.max_rel_error,
            "max_abs": r.max_abs_error,
            "largest_output": r.largest_output,
            "top1_agreement": r.top1_agreement,
            "target": target,
            "meets_target": r.mean_rel_error <= target,
            "worst_target": worst_target,
            "meets_worst_target": worst_target.is_none_or(|w| r.max_rel_error <= w),
        },
        "import_unchecked": r.import_unchecked,
        "weights_commitment": m
            .weights_commitment()?
            .map(|c| snarkml_circuits::fixed_point::field_to_hex(&c)),
    }))
}

/// One layout of `compile --optimize` as JSON.
fn candidate_json(c: &snarkml_circuits::layout::optimize::Candidate) -> serde_json::Value {
    serde_json::json!({
        "width": c.width,
        "advice": c.columns.advice,
        "rows": c.rows,
        "k": c.k,
        "predicted_prove_seconds": c.prove_s,
        "predicted_memory_bytes": c.memory_bytes,
        "verifier_bytes_estimate": c.verifier_bytes,
    })
}

/// `compile --optimize`'s table of layouts.
fn print_layouts(candidates: &[snarkml_circuits::layout::optimize::Candidate]) {
    use snarkml_circuits::layout::optimize;
    println!("layouts (cost model fitted on the project's 2-core machine):");
    println!("  width  advice  rows      k   predicted prove  predicted memory  verifier (est.)");
    for c in candidates {
        println!(
            "  {:>5}  {:>6}  {:>8}  {:>2}  {:>13.2}s  {:>12.0} MiB  {:>8} B{}",
            c.width,
            c.columns.advice,
            c.rows,
            c.k,
            c.prove_s,
            c.memory_bytes / 1048576.0,
            c.verifier_bytes,
            if c.verifier_bytes > optimize::EVM_CODE_LIMIT {
                " (over the EVM limit)"
            } else {
                ""
            }
        );
    }
}

/// What the cost model predicts for proving a split build's segments.
struct SplitPrediction {
    /// Seconds and peak bytes of each segment.
    segments: Vec<(f64, f64)>,
}

impl SplitPrediction {
    fn one_machine_s(&self) -> f64 {
        self.segments.iter().map(|(s, _)| s).sum()
    }
    fn peak_bytes(&self) -> f64 {
        self.segments.iter().map(|(_, b)| *b).fold(0.0, f64::max)
    }
    /// Every segment on a machine of its own.
    fn all_machines_s(&self) -> f64 {
        let secs: Vec<f64> = self.segments.iter().map(|(s, _)| *s).collect();
        snarkml_circuits::split::wall_time(&secs, secs.len())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "segments": self.segments.iter().map(|(s, b)| serde_json::json!({
                "prove_seconds": s,
                "memory_bytes": b,
            })).collect::<Vec<_>>(),
            "one_machine_seconds": self.one_machine_s(),
            "peak_memory_bytes": self.peak_bytes(),
            "one_machine_per_segment_seconds": self.all_machines_s(),
        })
    }
}

impl From<&snarkml_circuits::split::SplitManifest> for SplitPrediction {
    fn from(manifest: &snarkml_circuits::split::SplitManifest) -> Self {
        Self {
            segments: manifest
                .segments
                .iter()
                .map(|s| (s.predicted_prove_seconds, s.predicted_memory_bytes))
                .collect(),
        }
    }
}

/// The segments of a split build, a line each, and what proving them is predicted to take.
fn print_segments(
    build: &BuildDir,
    manifest: &snarkml_circuits::split::SplitManifest,
    predicted: &SplitPrediction,
) {
    println!(
        "  split into {} segments, each a circuit of its own ({}):",
        manifest.segments.len(),
        build.split().display()
    );
    for t in &manifest.tile_splits {
        println!(
            "    run {} split into {} bands of its {} output rows (so that a cut can fall inside it)",
            t.nodes.join(" -> "),
            t.bands,
            t.rows
        );
    }
    for c in &manifest.channel_splits {
        println!(
            "    chain {} split into {} groups of its {} channels (so that a cut can fall inside it)",
            c.nodes.join(" -> "),
            c.groups,
            c.channels
        );
    }
    let gib = |b: f64| b / f64::from(1u32 << 30);
    for (j, (s, (secs, bytes))) in manifest
        .segments
        .iter()
        .zip(&predicted.segments)
        .enumerate()
    {
        let values = |names: &[String]| names.join(", ");
        println!(
            "    {}: layers {}..{}, rows {}, k = {} (prove ~{secs:.0} s, {:.1} GiB); in: {}; out: {}",
            build.segment(j).root().display(),
            s.layers[0],
            s.layers[1],
            s.rows,
            s.k,
            gib(*bytes),
            values(&s.inputs),
            values(&s.outputs)
        );
    }
    println!(
        "  predicted on 2-core machines: {:.0} s on one (peak {:.1} GiB), {:.0} s on {} (a segment each: `prove --segment J`)",
        predicted.one_machine_s(),
        gib(predicted.peak_bytes()),
        predicted.all_machines_s(),
        manifest.segments.len()
    );
}

/// A missed accuracy target says what the user can do about it.
fn accuracy_hint(e: eyre::Report) -> eyre::Report {
    let flag = match e.downcast_ref::<snarkml_circuits::error::CircuitError>() {
        Some(snarkml_circuits::error::CircuitError::AccuracyMissed { .. }) => "--target-error",
        Some(snarkml_circuits::error::CircuitError::WorstSampleMissed { .. }) => {
            "--target-worst-error"
        }
        _ => return e,
    };
    // Wrapped, not replaced: the error stays in the chain (Python raises its kind), and its
    // own text, which the hint repeats, is printed once.
    let hint = format!(
        "{e}: calibrate on samples like the real inputs, raise {flag}, or pass --allow-error to keep this model"
    );
    e.wrap_err(hint)
}

/// `16GiB`, `512MiB`, `2G`, `1024` (bytes).
pub(super) fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (try 16GiB)"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("`{s}`: unknown unit (B, KiB, MiB, GiB)")),
    };
    Ok((v * mult) as u64)
}

/// Sets up and proves `input` on the build (development SRS in a temporary directory); the
/// proving seconds and the peak RSS in MiB of proving alone: `snarkml prove` in a child
/// process, as a user runs it (this process's own peak holds compile and key generation).
fn measure(build: &BuildDir, k: u32, input: &std::path::Path) -> eyre::Result<(f64, f64)> {
    let tmp = tempfile_dir()?;
    let srs = tmp.join("srs.bin");
    pipeline::srs_gen(k, 0, &srs)?;
    pipeline::setup(build, &srs)?;
    let proof = tmp.join("proof.json");
    let ((out, peak), wall_s) = super::timed("proving", || {
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .arg("prove")
            .arg(build.root())
            .arg("--input")
            .arg(input)
            .arg("-o")
            .arg(&proof)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        // The child's high-water mark, read until it exits (it only grows).
        let status = format!("/proc/{}/status", child.id());
        let mut peak = 0f64;
        while child.try_wait()?.is_none() {
            if let Some(mib) = super::bench::vm_hwm_mib(&status) {
                peak = peak.max(mib);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok((child.wait_with_output()?, peak))
    })?;
    std::fs::remove_dir_all(&tmp).ok();
    if !out.status.success() {
        eyre::bail!(
            "measuring the proof failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    // What the child reports ("proved in 1.46s"), as `snarkml prove` times it.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let prove_s = stdout
        .split("proved in ")
        .nth(1)
        .and_then(|rest| rest.split('s').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(wall_s);
    Ok((prove_s, peak))
}

fn tempfile_dir() -> eyre::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("snarkml-measure-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

impl CompileCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        // A missing model is named before anything else is said or made.
        std::fs::metadata(&self.model).map_err(|e| eyre::eyre!("{}: {e}", self.model.display()))?;
        let build = BuildDir::create(&self.out)?;
        if self.calibration.is_none() && !self.json {
            println!(
                "note: no --calibration given: calibrating on {} random inputs in [-1, 1]",
                pipeline::DEFAULT_RANDOM_SAMPLES
            );
        }
        let opts = CompileOptions {
            scale_bits: self.scale,
            weight_scale_bits: self.weight_scale,
            width: self.width,
            inputs: self.inputs,
            outputs: self.outputs,
            weights: self.weights,
            weights_salt: self
                .weights_salt
                .as_deref()
                .map(|s| {
                    snarkml_circuits::io::parse_field(s)
                        .ok_or_else(|| eyre::eyre!("--weights-salt `{s}` is not a field element"))
                })
                .transpose()?,
            target_error: self.target_error,
            target_worst_error: self.target_worst_error,
            allow_error: self.allow_error,
            name: self.name.clone(),
            linear: self.linear,
            uniform_inputs: self.uniform_input_scale,
        };
        let (mut m, mut secs) = super::timed("compiling", || {
            pipeline::compile(&self.model, &build, self.calibration.as_deref(), &opts)
                .map_err(accuracy_hint)
        })?;
        let mut optimized = serde_json::Map::new();
        if self.optimize {
            use snarkml_circuits::layout::optimize;
            let cost = optimize::CostModel::MEASURED;
            let (layouts, more) = super::timed("sizing layouts", || {
                let onnx = crate::stored::OnnxFile::read(&self.model)?;
                let samples = pipeline::calibration_samples(&onnx, self.calibration.as_deref())?;
                Ok::<_, eyre::Report>(snarkml_circuits::quantize::optimize_layouts(
                    onnx.onnx(),
                    &samples,
                    &opts,
                    &m,
                    &cost,
                    self.max_memory.map(|b| b as f64),
                    self.wide_verifier,
                )?)
            })?;
            secs += more;
            let candidates: Vec<optimize::Candidate> =
                layouts.iter().map(|(c, _)| c.clone()).collect();
            optimized.insert(
                "layouts".into(),
                candidates.iter().map(candidate_json).collect(),
            );
            if !self.json {
                print_layouts(&candidates);
            }
            let chosen = optimize::choose(
                &candidates,
                self.max_memory.map(|b| b as f64),
                self.wide_verifier,
            )
            .cloned()
            .ok_or_else(|| eyre::eyre!("no layout fits the memory budget and the EVM limit (try --max-memory higher, --wide-verifier, or leave out --optimize to split the model into segments that fit)"))?;
            optimized.insert("chosen".into(), candidate_json(&chosen));
            if !self.json {
                println!(
                    "chosen: width {} (k = {}), predicted prove {:.2}s, {:.0} MiB",
                    chosen.width,
                    chosen.k,
                    chosen.prove_s,
                    chosen.memory_bytes / 1048576.0
                );
            }
            if let Some(compiled) = layouts
                .into_iter()
                .find(|(c, _)| c.width == chosen.width)
                .and_then(|(_, m)| m)
            {
                pipeline::save_compiled(&build, &compiled)?;
                m = compiled;
            } else if chosen.width != m.layout.width {
                let opts = CompileOptions {
                    width: chosen.width,
                    ..opts.clone()
                };
                let (again, more) = super::timed("compiling", || {
                    pipeline::compile(&self.model, &build, self.calibration.as_deref(), &opts)
                        .map_err(accuracy_hint)
                })?;
                (m, secs) = (again, secs + more);
            }
            if let Some(input) = &self.measure {
                let (prove_s, peak) = measure(&build, m.layout.k, input)?;
                let (predicted, predicted_mem) =
                    cost.predict(m.layout.k, optimize::Columns::of(&m, m.layout.width));
                optimized.insert(
                    "measured".into(),
                    serde_json::json!({
                        "prove_seconds": prove_s,
                        "predicted_prove_seconds": predicted,
                        "peak_rss_mib": peak,
                        "predicted_memory_bytes": predicted_mem,
                    }),
                );
                if !self.json {
                    println!(
                        "measured: prove {prove_s:.2}s (predicted {predicted:.2}s), peak RSS {peak:.0} MiB (predicted {:.0} MiB)",
                        predicted_mem / 1048576.0
                    );
                }
            }
        }
        let budget = match (self.segments, self.max_memory) {
            (Some(n), _) => Some(Budget::Segments(n)),
            (None, Some(bytes)) if !self.optimize => Some(Budget::MaxMemory(bytes as f64)),
            _ => None,
        };
        let manifest = match budget {
            Some(budget) => {
                let (manifest, more) = super::timed("splitting", || {
                    pipeline::split::split_build(&build, &m, budget)
                })
                .inspect_err(|_| {
                    // A refused split leaves no whole-model build behind to be mistaken for it.
                    let _ = std::fs::remove_file(build.model());
                })?;
                secs += more;
                manifest
            }
            None => {
                pipeline::split::clear_split(&build)?;
                None
            }
        };
        if self.json {
            let mut value =
                summary_json(&m, &build, secs, self.target_error, self.target_worst_error)?;
            if self.optimize {
                value["optimize"] = serde_json::Value::Object(optimized);
            }
            if let Some(manifest) = &manifest {
                value["segments"] = serde_json::to_value(&manifest.segments)?;
                value["tile_splits"] = serde_json::to_value(&manifest.tile_splits)?;
                value["channel_splits"] = serde_json::to_value(&manifest.channel_splits)?;
                value["predicted"] = SplitPrediction::from(manifest).json();
            }
            return super::print(true, value, || {});
        }
        let r = &m.report;
        println!(
            "compiled {} in {secs:.2}s -> {}",
            m.name,
            build.model().display()
        );
        println!(
            "  layers {}, scale 2^{} (weights 2^{}), width {}, rows {}, lookup table rows {}, k = {}",
            m.layers.len(),
            m.scale_bits,
            m.weight_scale_bits,
            m.layout.width,
            m.rows,
            m.tables.rows(),
            m.layout.k
        );
        let finer: Vec<String> = gains(&m)
            .into_iter()
            .map(|(name, g)| format!("{name} +{g}"))
            .collect();
        if !finer.is_empty() || m.tables.limb_bits.is_some() {
            println!(
                "  {}{}{}",
                if finer.is_empty() {
                    String::new()
                } else {
                    format!(
                        "finer outputs (extra fractional bits): {}",
                        finer.join(", ")
                    )
                },
                if finer.is_empty() || m.tables.limb_bits.is_none() {
                    ""
                } else {
                    "; "
                },
                m.tables
                    .limb_bits
                    .map(|l| format!("range checks wider than {l} bits in {l}-bit limbs"))
                    .unwrap_or_default()
            );
        }
        for (name, bits) in finer_inputs(&m) {
            println!(
                "  input `{name}` quantized finer per feature (extra fractional bits, learned from {} calibration samples): {bits}",
                r.samples
            );
        }
        println!(
            "  quantized vs float on {} sample(s): relative error {:.3}% mean, {:.3}% on the worst sample; largest error {:.5} ({:.3}% of the largest output){}",
            r.samples,
            r.mean_rel_error * 100.0,
            r.max_rel_error * 100.0,
            r.max_abs_error,
            if r.largest_output > 0.0 { r.max_abs_error / r.largest_output * 100.0 } else { 0.0 },
            r.top1_agreement.map(|a| format!(", top-1 agreement {:.1}%", a * 100.0)).unwrap_or_default()
        );
        if r.mean_rel_error > self.target_error {
            println!(
                "  warning: the mean relative error misses the {:.2}% target (--allow-error)",
                self.target_error * 100.0
            );
        }
        if let Some(worst) = self.target_worst_error.filter(|w| r.max_rel_error > *w) {
            println!(
                "  warning: the worst sample's relative error misses the {:.2}% target (--allow-error)",
                worst * 100.0
            );
        }
        if let Some(why) = &r.import_unchecked {
            println!(
                "  warning: tract could not run the model as a float cross-check ({why}); the import is unchecked"
            );
        }
        if let Some(manifest) = &manifest {
            print_segments(&build, manifest, &SplitPrediction::from(manifest));
        }
        if let Some(c) = m.weights_commitment()? {
            println!(
                "  weights commitment {} (keep {} private: it holds the weights and the salt)",
                snarkml_circuits::fixed_point::field_to_hex(&c),
                build.model().display()
            );
        }
        Ok(())
    }
}
