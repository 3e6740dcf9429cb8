use crate::artifacts::BuildDir;
use crate::pipeline;
use clap::Args;
use snarkml_circuits::quantize::{CompileOptions, Visibility};
use std::path::PathBuf;

/// `snarkml compile`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml compile model.onnx -o build/ --calibration samples.json\n  snarkml compile model.onnx -o build/ --scale 8 --width 8"
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
}

impl CompileCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let build = BuildDir::create(&self.out)?;
        if self.calibration.is_none() {
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
        };
        let (m, secs) = super::timed("compiling", || {
            pipeline::compile(&self.model, &build, self.calibration.as_deref(), &opts)
        })?;
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
        println!(
            "  quantized vs float on {} sample(s): max abs error {:.5}, mean abs error {:.5}, max relative error {:.3}%, mean relative error {:.3}%{}",
            r.samples,
            r.max_abs_error,
            r.mean_abs_error,
            r.max_rel_error * 100.0,
            r.mean_rel_error * 100.0,
            r.top1_agreement.map(|a| format!(", top-1 agreement {:.1}%", a * 100.0)).unwrap_or_default()
        );
        if let Some(why) = &r.import_unchecked {
            println!(
                "  warning: tract could not run the model as a float cross-check ({why}); the import is unchecked"
            );
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
