use super::{block_on, timed};
use crate::artifacts::BuildDir;
use crate::chain::{ChainConfig, LocalAnvil, ANVIL_DEFAULT_KEY};
use crate::pipeline;
use clap::Args;
use snarkml_circuits::prover::Transcript;
use snarkml_circuits::quantize::CompileOptions;
use std::path::{Path, PathBuf};

const MODEL: &[u8] = include_bytes!("../../models/digits_mlp/model.onnx");
const INPUT: &[u8] = include_bytes!("../../models/digits_mlp/input.json");
const CALIBRATION: &[u8] = include_bytes!("../../models/digits_mlp/calibration.json");

/// `snarkml demo`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  snarkml demo\n  snarkml demo --dir /tmp/demo")]
pub struct DemoCmd {
    /// Working directory for the demo's files.
    #[arg(long, default_value = "snarkml-demo")]
    pub dir: PathBuf,
    /// Print one JSON object instead of text: {dir, k, predicted_digit, verifier, gas_used,
    /// steps: [{step, seconds, detail}]}.
    #[arg(long)]
    pub json: bool,
}

/// The demo's steps as they finish: printed as lines, or kept for `--json`.
struct Steps {
    json: bool,
    done: Vec<serde_json::Value>,
}

impl Steps {
    fn step(&mut self, name: &str, secs: f64, detail: &str) {
        self.done
            .push(serde_json::json!({"step": name, "seconds": secs, "detail": detail}));
        if !self.json {
            let n = self.done.len();
            println!("[{n}/9] {name:<15} {secs:>7.2}s  {detail}");
        }
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> eyre::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, bytes)
        .map_err(|e| eyre::eyre!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

impl DemoCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let build = BuildDir::create(self.dir.join("build"))?;
        let model = write(&self.dir, "digits_mlp.onnx", MODEL)?;
        let input = write(&self.dir, "input.json", INPUT)?;
        let calibration = write(&self.dir, "calibration.json", CALIBRATION)?;
        let srs = self.dir.join("srs.bin");
        let proof = self.dir.join("proof.json");
        let mut steps = Steps {
            json: self.json,
            done: Vec::new(),
        };
        if !self.json {
            println!("snarkml demo: an MLP (64 -> 32 -> ReLU -> 10) classifying an 8x8 digit, proven and verified on a local chain\n");
        }

        let (m, secs) = timed("compile", || {
            pipeline::compile(
                &model,
                &build,
                Some(&calibration),
                &CompileOptions::default(),
            )
        })?;
        steps.step(
            "compile",
            secs,
            &format!(
                "scale 2^{} (weights 2^{}), {} rows, k = {}, max |quantized - float| = {:.4}",
                m.scale_bits, m.weight_scale_bits, m.rows, m.layout.k, m.report.max_abs_error
            ),
        );
        let (_, secs) = timed("srs gen", || pipeline::srs_gen(m.layout.k, 0, &srs))?;
        steps.step(
            "srs gen",
            secs,
            &format!(
                "k = {} (development SRS: insecure, for demos only)",
                m.layout.k
            ),
        );
        let (info, secs) = timed("setup", || pipeline::setup(&build, &srs))?;
        steps.step("setup", secs, &format!("vk {}…", &info.vk_hash[..16]));
        let (file, secs) = timed("prove", || {
            pipeline::prove(&build, &input, &proof, Transcript::Keccak)
        })?;
        let out = &file.outputs[0].values;
        let class = snarkml_circuits::quantize::argmax(out);
        steps.step(
            "prove",
            secs,
            &format!(
                "{} bytes, predicted digit {class}",
                file.proof_bytes()?.len()
            ),
        );
        let (_, secs) = timed("verify", || pipeline::verify(&build, &proof))?;
        steps.step("verify", secs, "valid");
        let (a, secs) = timed("gen-verifier", || {
            pipeline::gen_verifier(
                &build,
                &self.dir.join("contracts"),
                snarkml_verifier_gen::VerifierForm::SelfContained,
            )
        })?;
        steps.step(
            "gen-verifier",
            secs,
            &format!("runtime {} bytes (limit 24576)", a.verifier_runtime_size),
        );

        let (verifier, gas_used) = block_on(async {
            let start = std::time::Instant::now();
            let anvil = LocalAnvil::start().await?;
            steps.step("start anvil", start.elapsed().as_secs_f64(), anvil.url());
            let cfg = ChainConfig::new(anvil.url(), ANVIL_DEFAULT_KEY);
            let start = std::time::Instant::now();
            let d = pipeline::deploy(&build, &cfg, false, None).await?;
            steps.step(
                "deploy",
                start.elapsed().as_secs_f64(),
                &format!("{} (gas {})", d.verifier, d.deploy_gas),
            );
            let start = std::time::Instant::now();
            let address = pipeline::parse_address(&d.verifier)?;
            let verdict = pipeline::verify_onchain(&build, &proof, address, &cfg).await?;
            if !verdict.valid {
                eyre::bail!("the on-chain verifier rejected a valid proof");
            }
            let gas = verdict
                .gas_used
                .map(|g| g.to_string())
                .unwrap_or_else(|| "?".into());
            steps.step(
                "verify-onchain",
                start.elapsed().as_secs_f64(),
                &format!("accepted, gas used {gas}"),
            );
            anvil.stop();
            Ok((d.verifier, verdict.gas_used))
        })?;
        super::print(
            self.json,
            serde_json::json!({
                "dir": self.dir.display().to_string(),
                "k": m.layout.k,
                "predicted_digit": class,
                "verifier": verifier,
                "gas_used": gas_used,
                "steps": steps.done,
            }),
            || println!("\nanvil stopped. Files are in {}.", self.dir.display()),
        )
    }
}
