use crate::artifacts::BuildDir;
use crate::pipeline;
use clap::Args;
use snarkml_circuits::io::ProofFile;
use snarkml_circuits::prover::Transcript;
use snarkml_circuits::quantize::Visibility;
use std::path::PathBuf;

/// `snarkml prove`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml prove build/ --input input.json -o proof.json\n  snarkml prove build/ --input input.json -o p1.json --for-aggregation"
)]
pub struct ProveCmd {
    /// Build directory (after `snarkml setup`).
    pub build: PathBuf,
    /// Input file: {"input_data": [[…floats of input 0, flat or nested in its shape…], …]}.
    #[arg(long)]
    pub input: PathBuf,
    /// Proof file to write.
    #[arg(short, long, default_value = "proof.json")]
    pub out: PathBuf,
    /// Make a proof for `snarkml aggregate` (Poseidon transcript) instead of one for the EVM.
    #[arg(long)]
    pub for_aggregation: bool,
    /// A split build: prove only segment J (from 1), on the tensors the segments before it
    /// compute from the input (run, not proven), writing that segment's proof file; the input
    /// file's "salts" must give every tensor crossing its cuts (the same file for every
    /// segment), so that proofs made apart chain. `verify BUILD p1.json p2.json …` checks them.
    #[arg(long, value_name = "J")]
    pub segment: Option<usize>,
    /// Print JSON: {proof, seconds, bytes, outputs: [{name, shape, visibility, values,
    /// commitment}]} (a split build: {proof, seconds, segment_seconds, outputs}).
    #[arg(long)]
    pub json: bool,
}

/// `snarkml verify`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  snarkml verify build/ proof.json\n  snarkml verify aggr/ aggr/proof.json"
)]
pub struct VerifyCmd {
    /// Build directory (after `snarkml setup`; a split build checks every segment's proof
    /// and their chain), or an aggregation directory.
    pub build: PathBuf,
    /// Proof file (a split build: its split proof file, or one proof file per segment in
    /// order, as `prove --segment J` writes them).
    #[arg(required = true, num_args = 1..)]
    pub proofs: Vec<PathBuf>,
    /// Print JSON: {valid, seconds, outputs} (an aggregated proof: {valid, seconds,
    /// inner_proofs}; a split build's: {valid, seconds, segments, outputs}).
    #[arg(long)]
    pub json: bool,
}

/// The outputs of a proof file as JSON: values only where public (proven), the commitment
/// where hashed.
pub(super) fn outputs_json(file: &ProofFile) -> serde_json::Value {
    file.outputs
        .iter()
        .map(|out| {
            let public = out.visibility == Visibility::Public;
            serde_json::json!({
                "name": out.name,
                "shape": out.shape,
                "visibility": out.visibility,
                "values": public.then_some(&out.values),
                "commitment": out.commitment,
            })
        })
        .collect()
}

/// Prints the outputs of a proof file as `verify` recomputed them from the proof's instances;
/// a hashed or private output has no proven values and is shown as such.
pub(super) fn print_outputs(file: &ProofFile) {
    for out in &file.outputs {
        match out.visibility {
            Visibility::Public => {}
            Visibility::Hashed => {
                let c = out.commitment.as_deref().unwrap_or("?");
                println!(
                    "  output {} {:?}: hashed, values not proven (commitment {c})",
                    out.name, out.shape
                );
                continue;
            }
            Visibility::Private | Visibility::Fixed => {
                println!(
                    "  output {} {:?}: private, values not proven",
                    out.name, out.shape
                );
                continue;
            }
        }
        let shown: Vec<String> = out
            .values
            .iter()
            .take(16)
            .map(|v| format!("{v:.4}"))
            .collect();
        let more = if out.values.len() > 16 { ", …" } else { "" };
        println!(
            "  output {} {:?}: [{}{more}]",
            out.name,
            out.shape,
            shown.join(", ")
        );
    }
}

impl ProveCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let build = BuildDir::new(&self.build);
        if build.is_split() {
            return match self.segment {
                Some(j) => self.run_segment(&build, j),
                None => self.run_split(&build),
            };
        }
        if self.segment.is_some() {
            eyre::bail!(
                "--segment: {} is not split into segments (compile with --segments or --max-memory)",
                self.build.display()
            );
        }
        let predicted = super::predicted(&build, pipeline::predicted_prove_seconds);
        let (file, secs) = super::timed_predicted("proving", predicted, || {
            pipeline::prove(&build, &self.input, &self.out, self.transcript())
        })?;
        let size = file.proof_bytes()?.len();
        let value = serde_json::json!({
            "proof": self.out.display().to_string(),
            "seconds": secs,
            "bytes": size,
            "outputs": outputs_json(&file),
        });
        super::print(self.json, value, || {
            println!(
                "proved in {secs:.2}s: {} ({size} bytes)",
                self.out.display()
            );
            print_outputs(&file);
        })
    }
}

impl ProveCmd {
    fn transcript(&self) -> Transcript {
        if self.for_aggregation {
            Transcript::Poseidon
        } else {
            Transcript::Keccak
        }
    }

    /// One segment of a split build alone.
    fn run_segment(self, build: &BuildDir, j: usize) -> eyre::Result<()> {
        let Some(index) = j.checked_sub(1) else {
            eyre::bail!("--segment counts from 1");
        };
        let predicted = super::predicted(&build.segment(index), pipeline::predicted_prove_seconds);
        let (file, secs) =
            super::timed_predicted(&format!("proving segment {j}"), predicted, || {
                pipeline::split::prove_one_segment(
                    build,
                    index,
                    &self.input,
                    &self.out,
                    self.transcript(),
                )
            })?;
        let size = file.proof_bytes()?.len();
        let value = serde_json::json!({
            "proof": self.out.display().to_string(),
            "segment": j,
            "seconds": secs,
            "bytes": size,
            "outputs": outputs_json(&file),
        });
        super::print(self.json, value, || {
            println!(
                "proved segment {j} in {secs:.2}s: {} ({size} bytes)",
                self.out.display()
            );
            print_outputs(&file);
        })
    }

    /// Every segment of a split build in order, one proof file holding them all.
    fn run_split(self, build: &BuildDir) -> eyre::Result<()> {
        let transcript = self.transcript();
        let mut times = Vec::new();
        let (file, secs) = super::timed("proving every segment", || {
            pipeline::split::prove_split(build, &self.input, &self.out, transcript, |j, s| {
                times.push(s);
                if !self.json {
                    eprintln!("segment {} proved in {s:.2}s", j + 1);
                }
            })
        })?;
        let last = file.segments.last().expect("a split build has segments");
        let value = serde_json::json!({
            "proof": self.out.display().to_string(),
            "seconds": secs,
            "segment_seconds": times,
            "outputs": outputs_json(last),
        });
        super::print(self.json, value, || {
            println!(
                "proved {} segments in {secs:.2}s: {}",
                file.segments.len(),
                self.out.display()
            );
            print_outputs(last);
        })
    }
}

impl VerifyCmd {
    /// The one proof file of a build that is not split.
    fn proof(&self) -> eyre::Result<&PathBuf> {
        match self.proofs.as_slice() {
            [one] => Ok(one),
            many => eyre::bail!(
                "{} proof files for {}: one proof file per build (several only for a model split into segments)",
                many.len(),
                self.build.display()
            ),
        }
    }

    pub(super) fn run(self) -> eyre::Result<()> {
        let build = BuildDir::new(&self.build);
        if build.is_split() {
            let (file, secs) = super::timed("verifying every segment", || {
                pipeline::split::verify_split(&build, &self.proofs)
            })?;
            let last = file.segments.last().expect("a split build has segments");
            let value = serde_json::json!({
                "valid": true,
                "seconds": secs,
                "segments": file.segments.len(),
                "outputs": outputs_json(last),
            });
            return super::print(self.json, value, || {
                println!(
                    "proofs of all {} segments are valid and chained ({secs:.3}s)",
                    file.segments.len()
                );
                print_outputs(last);
            });
        }
        if build.is_aggregation() {
            let (file, secs) = super::timed("verifying", || {
                pipeline::verify_aggregated(&build, self.proof()?)
            })?;
            let value = serde_json::json!({
                "valid": true,
                "seconds": secs,
                "inner_proofs": file.inner.len(),
            });
            return super::print(self.json, value, || {
                println!(
                    "aggregated proof of {} inner proofs is valid ({secs:.3}s)",
                    file.inner.len()
                );
                super::aggregate::print_exposed(&file);
            });
        }
        let (file, secs) = super::timed("verifying", || pipeline::verify(&build, self.proof()?))?;
        let value = serde_json::json!({
            "valid": true,
            "seconds": secs,
            "outputs": outputs_json(&file),
        });
        super::print(self.json, value, || {
            println!("proof is valid ({secs:.3}s)");
            print_outputs(&file);
        })
    }
}
