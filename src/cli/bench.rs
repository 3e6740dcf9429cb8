use super::timed;
use crate::artifacts::BuildDir;
use crate::pipeline;
use clap::Args;
use snarkml_circuits::prover::Transcript;
use snarkml_circuits::quantize::{CompileOptions, LinearMode};
use snarkml_verifier_gen::VerifierForm;
use std::path::PathBuf;

/// `snarkml bench`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml bench models/digits_mlp/model.onnx --calibration models/digits_mlp/calibration.json --input models/digits_mlp/input.json"
)]
pub struct BenchCmd {
    /// The ONNX model.
    pub model: PathBuf,
    /// Calibration samples (as for `compile`).
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// The input to prove.
    #[arg(long)]
    pub input: PathBuf,
    /// Multiply-accumulates per dot-product row.
    #[arg(long, default_value_t = 4)]
    pub width: usize,
    /// How Conv and MatMul/Gemm layers are checked (as `compile --linear`).
    #[arg(long, default_value = "auto", value_parser = clap::value_parser!(LinearMode))]
    pub linear: LinearMode,
    /// Repetitions of setup, prove and verify (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Also generate the Solidity verifier and measure its size and gas in revm.
    #[arg(long)]
    pub evm: bool,
    /// Also aggregate this many proofs of the model (fresh keys, no cache) and measure
    /// keygen, proving, the aggregated verifier's size and its gas in revm.
    #[arg(long, value_name = "N")]
    pub aggregate: Option<usize>,
    /// log2 of the aggregation circuit's rows.
    #[arg(long, default_value_t = snarkml_circuits::aggregation::DEFAULT_K)]
    pub agg_k: u32,
    /// What the aggregated proof exposes (as `snarkml aggregate --expose`).
    #[arg(long, default_value = "none")]
    pub expose: String,
    #[command(flatten)]
    pub layout: super::aggregate::LayoutOpts,
    /// Print the single-proof figures as one JSON object instead of text (what
    /// scripts/bench-vs-ezkl reads).
    #[arg(long, conflicts_with = "aggregate")]
    pub json: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Peak resident memory of this process so far, in MiB (Linux `VmHWM`).
pub(super) fn peak_rss_mib() -> Option<f64> {
    vm_hwm_mib("/proc/self/status")
}

/// The peak RSS (`VmHWM`) in a `/proc/PID/status` file, in MiB.
pub(super) fn vm_hwm_mib(status: &str) -> Option<f64> {
    let status = std::fs::read_to_string(status).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

impl BenchCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let tmp = std::env::temp_dir().join(format!("snarkml-bench-{}", std::process::id()));
        let build = BuildDir::create(tmp.join("build"))?;
        let opts = CompileOptions {
            width: self.width,
            linear: self.linear,
            ..CompileOptions::default()
        };
        let (m, compile_s) = timed("compile", || {
            pipeline::compile(&self.model, &build, self.calibration.as_deref(), &opts)
        })?;
        let srs = tmp.join("srs.bin");
        let srs_k = match self.aggregate {
            Some(_) => self.agg_k.max(m.layout.k + 1),
            None => m.layout.k,
        };
        let (_, srs_s) = timed("srs gen", || pipeline::srs_gen(srs_k, 0, &srs))?;
        let proof = tmp.join("proof.json");
        let (mut setup, mut prove, mut verify) = (Vec::new(), Vec::new(), Vec::new());
        let mut proof_bytes = 0;
        for _ in 0..self.runs.max(1) {
            setup.push(timed("setup", || pipeline::setup(&build, &srs))?.1);
            let (file, s) = timed("prove", || {
                pipeline::prove(&build, &self.input, &proof, Transcript::Keccak)
            })?;
            proof_bytes = file.proof_bytes()?.len();
            prove.push(s);
            verify.push(timed("verify", || pipeline::verify(&build, &proof))?.1);
        }
        // Each verifier form: runtime bytes (verifier, its IVerifier front), generation
        // seconds, gas of the IVerifier call (snark-verifier's: through its adapter; alone too).
        let mut forms = Vec::new();
        let mut raw_gas = None;
        if self.evm {
            for form in [
                VerifierForm::SelfContained,
                VerifierForm::Reusable,
                VerifierForm::SnarkVerifier,
            ] {
                let (a, gen_s) = timed("gen-verifier", || {
                    pipeline::gen_verifier(&build, &tmp.join("generated"), form)
                })?;
                // A verifier past EIP-170 cannot be deployed: no gas figure.
                let deployable = a.verifier_runtime_size <= snarkml_verifier_gen::MAX_RUNTIME_SIZE;
                let gas = deployable
                    .then(|| pipeline::evm_verify(&build, &proof))
                    .transpose()?;
                forms.push((
                    form,
                    a.verifier_runtime_size,
                    a.adapter_runtime_size,
                    gen_s,
                    gas,
                ));
                if form == VerifierForm::SnarkVerifier && deployable {
                    raw_gas = Some(pipeline::evm_verify_raw(&build, &proof)?);
                }
            }
        }
        let evm = forms.first().map(|f| (f.1, f.3, f.4.unwrap_or_default()));
        let (setup, prove, verify) = (median(setup), median(prove), median(verify));
        if self.json {
            let figures = serde_json::json!({
                "model": m.name,
                "path": self.model.display().to_string(),
                "width": m.layout.width,
                "k": m.layout.k,
                "rows": m.rows,
                "table_rows": m.tables.rows(),
                "scale_bits": m.scale_bits,
                "weight_scale_bits": m.weight_scale_bits,
                "mean_rel_error": m.report.mean_rel_error,
                "compile_s": compile_s,
                "srs_gen_s": srs_s,
                "setup_s": setup,
                "prove_s": prove,
                "verify_s": verify,
                "runs": self.runs.max(1),
                "proof_bytes": proof_bytes,
                "instances": m.num_instances(),
                "verifier_runtime_bytes": evm.map(|e| e.0),
                "verify_gas": evm.map(|e| e.2),
                "snark_verifier_raw_gas": raw_gas,
                "verifiers": forms.iter().map(|(form, size, front, gen_s, gas)| serde_json::json!({
                    "form": form,
                    "runtime_bytes": size,
                    "front_runtime_bytes": front,
                    "gen_s": gen_s,
                    "verify_gas": gas,
                })).collect::<Vec<_>>(),
                "peak_rss_mib": peak_rss_mib(),
            });
            println!("{figures}");
            std::fs::remove_dir_all(&tmp).ok();
            return Ok(());
        }
        println!(
            "model {} ({}), width {}, k = {}, rows {}, table rows {}",
            m.name,
            self.model.display(),
            m.layout.width,
            m.layout.k,
            m.rows,
            m.tables.rows()
        );
        println!(
            "  scale 2^{} (weights 2^{}), max |quantized - float| {:.4} on {} samples",
            m.scale_bits, m.weight_scale_bits, m.report.max_abs_error, m.report.samples
        );
        println!("  compile {compile_s:.3}s, srs gen {srs_s:.2}s");
        println!(
            "  setup {setup:.3}s, prove {prove:.3}s, verify {verify:.4}s (median of {})",
            self.runs.max(1)
        );
        println!(
            "  proof {proof_bytes} bytes, {} public instances",
            m.num_instances()
        );
        for (form, size, front, gen_s, gas) in &forms {
            let name = match form {
                VerifierForm::SelfContained => "self-contained verifier",
                VerifierForm::Reusable => "reusable verifier (shared Halo2Verifier + key)",
                VerifierForm::SnarkVerifier => "snark-verifier's verifier + adapter",
            };
            let gas = match gas {
                Some(gas) => format!("IVerifier call {gas} gas in revm"),
                None => "over EIP-170's 24,576 bytes: cannot be deployed".into(),
            };
            println!("  {name}: runtime {size} + {front} bytes (generated in {gen_s:.2}s), {gas}");
        }
        if let Some(gas) = raw_gas {
            println!("  snark-verifier's verifier called alone (no IVerifier): {gas} gas");
        }
        if let Some(n) = self.aggregate {
            self.bench_aggregation(n, &build, &srs, &tmp)?;
        }
        if let Some(rss) = peak_rss_mib() {
            println!("  peak RSS of the whole run {rss:.0} MiB");
        }
        std::fs::remove_dir_all(&tmp).ok();
        Ok(())
    }

    fn bench_aggregation(
        &self,
        n: usize,
        build: &BuildDir,
        srs: &std::path::Path,
        tmp: &std::path::Path,
    ) -> eyre::Result<()> {
        let proofs: Vec<PathBuf> = (0..n.max(1))
            .map(|i| {
                let p = tmp.join(format!("inner{i}.json"));
                pipeline::prove(build, &self.input, &p, Transcript::Poseidon).map(|_| p)
            })
            .collect::<eyre::Result<_>>()?;
        let req = pipeline::AggregateRequest {
            proofs,
            builds: vec![build.root().to_owned()],
            srs: srs.to_owned(),
            k: self.agg_k,
            expose: self.expose.parse()?,
            layout: self.layout.layout(),
            cache: pipeline::KeyCache::new(tmp.join("cache")),
            step: None,
        };
        let aggr = BuildDir::new(tmp.join("aggr"));
        let r = pipeline::aggregate(&req, &aggr, |_| {})?.into_final()?;
        let c = &r.info.shape.config;
        println!(
            "  aggregation of {n} in {} circuits, layers {:?}, keys of {} circuits generated",
            r.steps, r.info.layers, r.keys_generated
        );
        println!(
            "    final circuit: k = {}, {} advice + {} lookup advice + {} fixed columns",
            c.degree, c.num_advice, c.num_lookup_advice, c.num_fixed
        );
        println!(
            "    keygen {:.1}s, prove {:.1}s, proof {} bytes, {} public instances",
            r.keygen_secs,
            r.prove_secs,
            r.proof.proof_bytes()?.len(),
            r.info.num_instances
        );
        let a = pipeline::gen_verifier(
            &aggr,
            &tmp.join("generated-aggr"),
            VerifierForm::SelfContained,
        )?;
        let gas = pipeline::evm_verify(&aggr, &aggr.proof())?;
        println!(
            "    aggregated verifier runtime {} bytes, verify call {gas} gas in revm",
            a.verifier_runtime_size
        );
        Ok(())
    }
}
