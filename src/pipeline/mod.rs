//! The library API of each step. Every function reads its inputs from files and writes its
//! outputs to files, so any step can be rerun alone; the CLI and the tests call these.

use crate::artifacts::{
    read_bytes, read_json, write_bytes, write_json, BuildDir, Deployment, SetupInfo,
};
use crate::chain::{self, ChainConfig, OnchainVerdict};
use crate::stored::{load_calibration, read_params, write_params, OnnxFile, SrsFile, Stored};
use alloy::primitives::{Address, U256};
use eyre::{bail, eyre, Result, WrapErr};
use halo2_proofs::plonk::{ProvingKey, VerifyingKey};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use sha2::{Digest, Sha256};
use snarkml_circuits::circuit::CircuitParams;
use snarkml_circuits::halo2_proofs::halo2curves::ff::Field;
use snarkml_circuits::io::{
    parse_field, InputFile, Opening, OpeningsFile, ProofFile, OPENINGS_FORMAT,
};
use snarkml_circuits::prover;
use snarkml_circuits::quantize::{self, CompileOptions, CompiledModel, Visibility};
use snarkml_circuits::srs::{srs_id, Srs};
use snarkml_circuits::{Bn256, Fr, G1Affine};
use snarkml_verifier_gen::{self as vgen, CircuitKind, VerifierArtifacts, VerifierForm};
use std::path::{Path, PathBuf};

use snarkml_circuits::halo2_proofs;

pub mod aggregate;
pub mod aggregate_cost;
pub mod aggregate_tree;
pub mod aggregated;
pub mod audit;
pub mod audit_chunks;
pub mod audit_proof;
pub mod batch;
pub mod binding;
pub mod key_cache;
pub mod market;
pub mod profile;
pub mod prompt;
pub use profile::{
    predicted_keygen_seconds, predicted_prove_seconds, profile, SegmentProfile, SplitProfile,
};
pub mod split;
pub mod srs;
pub use aggregate::{
    aggregate, AggregateReport, AggregateRequest, Aggregated, AggregationInfo, NodeReport,
};
pub use aggregate_tree::NodeId;
pub use aggregated::{load_aggregation, verify_aggregated};
pub use key_cache::{default_cache_dir, KeyCache};
pub use srs::{dev_srs_for, srs_for_k, srs_gen, srs_import};

/// The KZG points a build or an aggregation directory keeps (`params.bin`), refused unless
/// they come from the SRS `id` names: the one its keys were made with.
pub(crate) fn read_params_of(path: &Path, id: &str) -> Result<ParamsKZG<Bn256>> {
    let (params, _) = read_params(path)?;
    if srs_id(&params) != id {
        bail!(
            "{} does not hold the SRS the keys were made with",
            path.display()
        );
    }
    Ok(params)
}

/// Number of random calibration samples used when none are given.
pub const DEFAULT_RANDOM_SAMPLES: usize = 16;

/// Compiles `model` into `build`, calibrating on the samples in `calibration` (or, when none
/// are given, on deterministic random inputs in [-1, 1]).
pub fn compile(
    model: &Path,
    build: &BuildDir,
    calibration: Option<&Path>,
    opts: &CompileOptions,
) -> Result<CompiledModel> {
    let onnx = OnnxFile::read(model)?;
    let samples = calibration_samples(&onnx, calibration)?;
    let compiled = quantize::compile(onnx.onnx(), &samples, opts).map_err(|e| onnx.name_in(e))?;
    save_compiled(build, &compiled)?;
    Ok(compiled)
}

/// The calibration samples of `compile`: those in `calibration`, or deterministic random
/// inputs in [-1, 1].
pub fn calibration_samples(
    model: &OnnxFile,
    calibration: Option<&Path>,
) -> Result<Vec<Vec<Vec<f32>>>> {
    Ok(match calibration {
        Some(path) => load_calibration(path)?,
        None => {
            let graph = model.graph()?;
            // Random floats are no values of an integer or boolean input (token ids, masks).
            if let Some(i) = (0..graph.inputs.len())
                .find(|i| graph.input_type(*i) != snarkml_circuits::model::InputType::Float)
            {
                bail!(
                    "model input `{}` is {}: give --calibration with values like the real ones (random floats are no values of its type)",
                    graph.tensors[graph.inputs[i]].name,
                    graph.input_type(i)
                );
            }
            let mut state = 0x9e37_79b9_7f4a_7c15u64;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f32 / (1u64 << 53) as f32 * 2.0 - 1.0
            };
            (0..DEFAULT_RANDOM_SAMPLES)
                .map(|_| {
                    graph
                        .inputs
                        .iter()
                        .map(|t| (0..graph.tensors[*t].numel()).map(|_| next()).collect())
                        .collect()
                })
                .collect()
        }
    })
}

/// Writes a compiled model as `build`'s `model.json` (private, with its weights, where the
/// weights are the secret).
pub fn save_compiled(build: &BuildDir, compiled: &CompiledModel) -> Result<()> {
    if compiled.private_weights() {
        // The weights (and the salt of hashed ones) are the secret the proofs keep.
        crate::artifacts::write_secret_json(&build.model(), compiled)?;
    } else {
        compiled.save(&build.model())?;
    }
    Ok(())
}

/// Runs the compiled model in `build` on the inputs in `input` with the circuit's exact
/// arithmetic (no proof): the outputs, quantized and dequantized.
pub fn run(build: &BuildDir, input: &Path) -> Result<Vec<snarkml_circuits::io::TensorValue>> {
    let (model, quantized) = model_and_inputs(build, input)?;
    let outputs = snarkml_circuits::exec::run(&model, &quantized)?.outputs(&model);
    Ok(snarkml_circuits::io::tensor_values(
        &model,
        &model.outputs,
        &outputs,
    ))
}

/// Checks every constraint of the circuit on `input` with halo2's MockProver (no keys, no
/// proof); the error names the layer of the first failing row.
pub fn mock(build: &BuildDir, input: &Path) -> Result<CompiledModel> {
    let (model, quantized) = model_and_inputs(build, input)?;
    snarkml_circuits::prover::mock(&model, &quantized)?;
    Ok(model)
}

/// The compiled model of `build` (after `compile`; no keys needed).
pub fn compiled_model(build: &BuildDir) -> Result<CompiledModel> {
    build.require(&build.model(), "compile")?;
    Ok(CompiledModel::load(&build.model())?)
}

fn model_and_inputs(build: &BuildDir, input: &Path) -> Result<(CompiledModel, Vec<Vec<i64>>)> {
    let model = compiled_model(build)?;
    let inputs = InputFile::load(input)?;
    let quantized = model
        .quantize_inputs(&inputs.input_data)
        .wrap_err_with(|| format!("{}", input.display()))?;
    Ok((model, quantized))
}

fn file_sha256(path: &Path) -> Result<String> {
    Ok(hex::encode(Sha256::digest(read_bytes(path)?)))
}

/// Generates proving and verifying keys for the compiled model in `build` from the SRS at `srs`.
pub fn setup(build: &BuildDir, srs: &Path) -> Result<SetupInfo> {
    build.require(&build.model(), "compile")?;
    let model = CompiledModel::load(&build.model())?;
    let srs = Srs::load_trimmed(srs, model.layout.k)?;
    let params = srs.params.clone();
    let pk = prover::keygen(&params, &model)?;
    let info = SetupInfo {
        k: model.layout.k,
        srs_id: srs.id(),
        srs_insecure: srs.insecure,
        vk_hash: prover::vk_hash(pk.get_vk()),
        width: model.layout.width,
        num_instances: model.num_instances(),
        model_sha256: file_sha256(&build.model())?,
    };
    write_params(&build.params(), &params, srs.insecure)?;
    write_bytes(&build.pk(), &prover::pk_to_bytes(&pk))?;
    write_bytes(&build.vk(), &prover::vk_to_bytes(pk.get_vk()))?;
    write_json(&build.setup(), &info)?;
    Ok(info)
}

/// The artifacts of a set-up build directory.
pub struct Loaded {
    /// The compiled model.
    pub model: CompiledModel,
    /// What setup recorded.
    pub info: SetupInfo,
    /// The SRS trimmed to the circuit.
    pub params: ParamsKZG<Bn256>,
}

/// Loads the model, the setup record and the trimmed SRS, checking they belong together.
pub fn load(build: &BuildDir) -> Result<Loaded> {
    build.require(&build.model(), "compile")?;
    if build.is_split() {
        bail!(
            "{} is a model split into segments, each with its own keys in segment-J/: prove and verify it as a whole, aggregate its proofs (`snarkml aggregate PROOF --build {}`) for one verifier on-chain, or name one segment's build",
            build.root().display(),
            build.root().display()
        );
    }
    build.require(&build.setup(), "setup")?;
    let model = CompiledModel::load(&build.model())?;
    let info: SetupInfo = read_json(&build.setup())?;
    if file_sha256(&build.model())? != info.model_sha256 {
        bail!(
            "{} changed after setup: run `snarkml setup` again",
            build.model().display()
        );
    }
    let params = read_params_of(&build.params(), &info.srs_id)?;
    Ok(Loaded {
        model,
        info,
        params,
    })
}

fn load_vk(
    build: &BuildDir,
    info: &SetupInfo,
    model: &CompiledModel,
) -> Result<VerifyingKey<G1Affine>> {
    build.require(&build.vk(), "setup")?;
    let vk = prover::vk_from_bytes(&read_bytes(&build.vk())?, CircuitParams::of(model))?;
    if prover::vk_hash(&vk) != info.vk_hash {
        bail!(
            "{} does not match the verifying-key hash in setup.json",
            build.vk().display()
        );
    }
    Ok(vk)
}

fn load_pk(
    build: &BuildDir,
    info: &SetupInfo,
    model: &CompiledModel,
) -> Result<ProvingKey<G1Affine>> {
    build.require(&build.pk(), "setup")?;
    let pk = prover::pk_from_bytes(&read_bytes(&build.pk())?, CircuitParams::of(model))?;
    if prover::vk_hash(pk.get_vk()) != info.vk_hash {
        bail!(
            "{} does not match the verifying-key hash in setup.json",
            build.pk().display()
        );
    }
    Ok(pk)
}

/// Proves the model on the inputs in `input` and writes the proof file to `out`. The Keccak
/// transcript makes a proof for the EVM, Poseidon one for `aggregate`.
pub fn prove(
    build: &BuildDir,
    input: &Path,
    out: &Path,
    transcript: prover::Transcript,
) -> Result<ProofFile> {
    BuildProver::load(build)?.prove(input, out, transcript)
}

/// A set-up build with its proving key read once, to prove (and check proofs) many times.
pub struct BuildProver {
    loaded: Loaded,
    pk: ProvingKey<G1Affine>,
}

impl BuildProver {
    /// Reads the build's model, setup record, SRS and proving key, checked together.
    pub fn load(build: &BuildDir) -> Result<Self> {
        let loaded = load(build)?;
        let pk = load_pk(build, &loaded.info, &loaded.model)?;
        Ok(Self { loaded, pk })
    }

    /// What setup recorded.
    pub fn info(&self) -> &SetupInfo {
        &self.loaded.info
    }

    /// Verifies a proof file natively, as [`verify`] does.
    pub fn verify(&self, proof: &Path) -> Result<ProofFile> {
        verify_loaded(&self.loaded, self.pk.get_vk(), proof)
    }

    /// Proves the model on quantized inputs with the salts of its hashed inputs then outputs:
    /// the proof file (checked to show what the proof proves) and the proof.
    pub fn prove_quantized(
        &self,
        quantized: &[Vec<i64>],
        salts: &[Fr],
        transcript: prover::Transcript,
    ) -> Result<(ProofFile, prover::Proof)> {
        let Loaded {
            model,
            info,
            params,
        } = &self.loaded;
        // `prove_with` verified the proof against the key; the file must show what it proves.
        let proof = prover::prove_with(params, &self.pk, model, quantized, salts, transcript)?;
        let file = ProofFile::new(model, &proof, quantized, &info.vk_hash, &info.srs_id);
        file.check_against(model)
            .wrap_err("internal error: the proof file made does not show what the proof proves")?;
        Ok((file, proof))
    }

    /// [`prove`] with the keys already read.
    pub fn prove(
        &self,
        input: &Path,
        out: &Path,
        transcript: prover::Transcript,
    ) -> Result<ProofFile> {
        let model = &self.loaded.model;
        let inputs = InputFile::load(input)?;
        let quantized = model
            .quantize_inputs(&inputs.input_data)
            .wrap_err_with(|| format!("{}", input.display()))?;
        let salts = salts(model, &inputs).wrap_err_with(|| format!("{}", input.display()))?;
        let (file, proof) = self.prove_quantized(&quantized, &salts, transcript)?;
        file.save(out)?;
        if !salts.is_empty() {
            let mut values = quantized.iter().chain(&proof.outputs);
            let mut salt = salts.iter();
            let openings = model
                .inputs
                .iter()
                .map(|s| (s, "input"))
                .chain(model.outputs.iter().map(|s| (s, "output")))
                .filter_map(|(spec, role)| {
                    let v = values
                        .next()
                        .expect("one value vector per input and output");
                    (spec.visibility == Visibility::Hashed).then(|| {
                        let salt = salt.next().expect("one salt per hashed tensor");
                        Opening::new(model, spec, role, v, *salt)
                    })
                })
                .collect();
            // The salts and values open the commitments: owner-only.
            let file = OpeningsFile {
                format: OPENINGS_FORMAT.into(),
                model: model.name.clone(),
                openings,
            };
            crate::artifacts::write_secret_json(&openings_path(out), &file)?;
        }
        Ok(file)
    }
}

/// Where `prove` keeps the openings of a proof's commitments: `proof.openings.json` beside
/// `proof.json`.
pub fn openings_path(proof: &Path) -> PathBuf {
    proof.with_extension("openings.json")
}

/// The salts of the hashed inputs then outputs: from the input file by tensor name, or fresh
/// random ones.
pub fn salts(model: &CompiledModel, inputs: &InputFile) -> Result<Vec<Fr>> {
    let hashed: Vec<&str> = model
        .inputs
        .iter()
        .chain(&model.outputs)
        .filter(|s| s.visibility == Visibility::Hashed)
        .map(|s| model.tensors[s.tensor].name.as_str())
        .collect();
    if let Some(name) = inputs.salts.keys().find(|n| !hashed.contains(&n.as_str())) {
        bail!("a salt is given for `{name}`, which is not a hashed input or output of this model");
    }
    hashed
        .iter()
        .map(|name| match inputs.salts.get(*name) {
            Some(text) => parse_salt(name, text),
            None => Ok(Fr::random(rand::rngs::OsRng)),
        })
        .collect()
}

/// A salt given in an input file for tensor `name`: a field element, `0x` hex or decimal.
pub(crate) fn parse_salt(name: &str, text: &str) -> Result<Fr> {
    parse_field(text).ok_or_else(|| eyre!("the salt of `{name}` is not a field element: `{text}`"))
}

/// Reads a proof file and checks it belongs to this build (verifying key, SRS, instance count)
/// and that every field it displays is what its public instances prove for the build's
/// `model` ([`ProofFile::check_against`]). The file returned has those fields recomputed from
/// the instances: what it shows is what the proof proves.
pub fn load_proof(
    info: &SetupInfo,
    model: &CompiledModel,
    proof: &Path,
) -> Result<(ProofFile, Vec<Fr>, Vec<u8>)> {
    check_proof_file(info, model, crate::stored::parse_proof(proof)?, proof)
}

/// [`load_proof`] of a proof file already read (`proof` names it in errors).
pub fn check_proof_file(
    info: &SetupInfo,
    model: &CompiledModel,
    file: ProofFile,
    proof: &Path,
) -> Result<(ProofFile, Vec<Fr>, Vec<u8>)> {
    if file.vk_hash != info.vk_hash {
        bail!(
            "{} was made for verifying key {}…, this build's is {}…",
            proof.display(),
            &file.vk_hash.get(..12).unwrap_or(&file.vk_hash),
            &info.vk_hash[..12]
        );
    }
    if file.srs_id != info.srs_id {
        bail!(
            "{} was made with a different SRS than this build's keys",
            proof.display()
        );
    }
    let instances = file.instance_fields()?;
    if instances.len() != info.num_instances {
        bail!(
            "{} has {} public instances, the circuit has {}",
            proof.display(),
            instances.len(),
            info.num_instances
        );
    }
    let file = file
        .check_against(model)
        .wrap_err_with(|| format!("{}", proof.display()))?;
    let bytes = file.proof_bytes()?;
    Ok((file, instances, bytes))
}

/// Verifies a proof file natively.
pub fn verify(build: &BuildDir, proof: &Path) -> Result<ProofFile> {
    let loaded = load(build)?;
    let vk = load_vk(build, &loaded.info, &loaded.model)?;
    // A file that is no proof file may be a split model's proofs: say so.
    let file = crate::stored::parse_proof(proof).map_err(|e| match split::read_split_proof(proof) {
        Ok(split) => eyre!(
            "{} holds the proofs of a model split into {} segments: verify it with the split build (the directory holding split.json)",
            proof.display(),
            split.segments.len()
        ),
        Err(_) => e.into(),
    })?;
    verify_file(&loaded, &vk, file, proof)
}

/// Verifies a proof file natively; the file returned shows what the proof proves (see
/// [`load_proof`]).
fn verify_loaded(loaded: &Loaded, vk: &VerifyingKey<G1Affine>, proof: &Path) -> Result<ProofFile> {
    verify_file(loaded, vk, crate::stored::parse_proof(proof)?, proof)
}

/// [`verify_loaded`] of a proof file already read (`proof` names it in errors).
fn verify_file(
    loaded: &Loaded,
    vk: &VerifyingKey<G1Affine>,
    file: ProofFile,
    proof: &Path,
) -> Result<ProofFile> {
    let (file, instances, bytes) = check_proof_file(&loaded.info, &loaded.model, file, proof)?;
    prover::verify_with(
        &loaded.params,
        vk,
        &instances,
        &bytes,
        file.transcript_kind()?,
    )
    .wrap_err_with(|| format!("{}", proof.display()))?;
    Ok(file)
}

/// Generates the Solidity verifier of `form` into `out_dir` (sources and the ABI to call) and
/// `build/verifier.json`. An aggregation directory gets the aggregated-proof verifier.
pub fn gen_verifier(
    build: &BuildDir,
    out_dir: &Path,
    form: VerifierForm,
) -> Result<VerifierArtifacts> {
    let (params, vk, num_instances, kind) = if build.is_aggregation() {
        let a = load_aggregation(build)?;
        (
            a.params,
            a.vk,
            a.info.num_instances,
            CircuitKind::Aggregation,
        )
    } else {
        let Loaded {
            info,
            params,
            model,
        } = load(build)?;
        if form == VerifierForm::SnarkVerifier && model.uses_freivalds() {
            bail!(
                "{} checks linear layers by randomized (Freivalds) checks in a second proof \
                 phase, for which this version does not make snark-verifier's generated \
                 verifier: use our own verifiers (the default and --reusable forms), or \
                 recompile with `--linear direct`",
                build.root().display()
            );
        }
        let vk = load_vk(build, &info, &model)?;
        (params, vk, info.num_instances, CircuitKind::Model)
    };
    let solc = vgen::find_solc()?;
    let srs_id = snarkml_circuits::srs::srs_id(&params);
    let artifacts = vgen::build(&params, &srs_id, &vk, num_instances, kind, form, &solc)?;
    write_verifier_sources(out_dir, &artifacts)?;
    write_json(&build.verifier(), &artifacts)?;
    Ok(artifacts)
}

/// Writes a verifier's Solidity, its artifact (reusable form) and the ABI to call into `dir`.
pub(crate) fn write_verifier_sources(dir: &Path, artifacts: &VerifierArtifacts) -> Result<()> {
    std::fs::create_dir_all(dir).wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes)
            .wrap_err_with(|| format!("cannot write into {}", dir.display()))
    };
    let abi = match artifacts.form {
        VerifierForm::SnarkVerifier => {
            write("Halo2Verifier.sol", artifacts.verifier_source.as_bytes())?;
            "Halo2VerifierAdapter.abi.json"
        }
        VerifierForm::SelfContained => {
            write(
                "Halo2VerifierSingle.sol",
                artifacts.verifier_source.as_bytes(),
            )?;
            "Halo2VerifierSingle.abi.json"
        }
        VerifierForm::Reusable => {
            for (name, text) in vgen::reusable::reusable_sources() {
                write(name, text.as_bytes())?;
            }
            write(
                "vk-artifact.bin",
                &hex::decode(artifacts.vk_artifact.as_deref().unwrap_or_default())?,
            )?;
            "Halo2VerifyingKey.abi.json"
        }
    };
    write_json(&dir.join(abi), &artifacts.adapter_abi)
}

fn load_verifier(build: &BuildDir) -> Result<VerifierArtifacts> {
    build.require(&build.verifier(), "gen-verifier")?;
    read_json(&build.verifier())
}

/// Runs the generated verifier on a proof in an in-process EVM through its `IVerifier` front:
/// the gas of that call, or an error naming why it rejects.
pub fn evm_verify(build: &BuildDir, proof: &Path) -> Result<u64> {
    let (instances, bytes) = evm_proof(build, proof)?;
    let artifacts = load_verifier(build)?;
    Ok(vgen::evm_check(&artifacts, &instances, &bytes)?)
}

/// snark-verifier's generated verifier called alone, without the `IVerifier` adapter (the
/// figure to compare other verifiers with): its gas, or an error if it rejects or the build
/// has another form.
pub fn evm_verify_raw(build: &BuildDir, proof: &Path) -> Result<u64> {
    let (instances, bytes) = evm_proof(build, proof)?;
    let artifacts = load_verifier(build)?;
    if artifacts.form != VerifierForm::SnarkVerifier {
        bail!("the build's verifier is not snark-verifier's");
    }
    let initcode = hex::decode(&artifacts.verifier_initcode)?;
    Ok(vgen::evm_verify(&initcode, &instances, &bytes)?)
}

/// Deploys the verifier and its `IVerifier` front (see [`deploy_artifacts`]); the reusable form
/// uses the `Halo2Verifier` at `shared` when given. Keys from a development SRS (as recorded,
/// or as the build's parameters show) are refused on any chain but a local anvil unless
/// `insecure_srs` (see [`refuse_insecure`]).
pub async fn deploy(
    build: &BuildDir,
    cfg: &ChainConfig,
    insecure_srs: bool,
    shared: Option<Address>,
) -> Result<Deployment> {
    let (vk_hash, srs_insecure, params) = if build.is_aggregation() {
        let l = load_aggregation(build)?;
        (l.info.vk_hash, l.info.srs_insecure, l.params)
    } else {
        let l = load(build)?;
        (l.info.vk_hash, l.info.srs_insecure, l.params)
    };
    refuse_insecure(cfg, srs_insecure, &params, insecure_srs).await?;
    let artifacts = load_verifier(build)?;
    if shared.is_some() && artifacts.form != VerifierForm::Reusable {
        bail!(
            "--shared-verifier applies to the reusable verifier; run `snarkml gen-verifier {} --reusable` first",
            build.root().display()
        );
    }
    let deployment = deploy_artifacts(cfg, &artifacts, vk_hash, shared).await?;
    write_deployment(&build.deployment(), &deployment)?;
    Ok(deployment)
}

/// Refuses keys from a development SRS unless `insecure_srs`: anyone who knows its secret could
/// forge proofs. The SRS is a development one when `srs_insecure` (what setup recorded) says
/// so, or when `params` (the SRS the keys were made with) are a development seed's whatever
/// any flag says ([`snarkml_circuits::srs::development_seed`]).
///
/// Such keys go only to a local anvil: the URL is on this machine and the chain says its id is
/// anvil's default [`chain::ANVIL_CHAIN_ID`]. A local URL alone is not enough (a tunnel to a
/// real network, or a node started with another chain id, listens on 127.0.0.1 too); a remote
/// URL is refused without asking it anything.
pub(crate) async fn refuse_insecure(
    cfg: &ChainConfig,
    srs_insecure: bool,
    params: &ParamsKZG<Bn256>,
    insecure_srs: bool,
) -> Result<()> {
    let development = srs_insecure || snarkml_circuits::srs::development_seed(params).is_some();
    if !development || insecure_srs {
        return Ok(());
    }
    let url = chain::redact_url(&cfg.rpc_url);
    let why = "the keys come from a development SRS whose secret is known, so anyone could forge proofs; use a ceremony SRS, or pass --insecure-srs if you really mean it";
    if !chain::is_local_url(&cfg.rpc_url) {
        bail!("refusing to deploy to {url}: not a local anvil chain, and {why}");
    }
    let id = chain::chain_id(&cfg.rpc_url).await?;
    if id != chain::ANVIL_CHAIN_ID {
        bail!(
            "refusing to deploy to {url}: its chain id is {id}, not a local anvil's {}, and {why}",
            chain::ANVIL_CHAIN_ID
        );
    }
    Ok(())
}

/// Writes a deployment record: owner-only when its RPC URL holds credentials (an API key or a
/// password), which [`crate::artifacts::write_secret_json`] keeps from other users.
pub(crate) fn write_deployment(path: &Path, deployment: &Deployment) -> Result<()> {
    if chain::redact_url(&deployment.rpc_url) != deployment.rpc_url {
        crate::artifacts::write_secret_json(path, deployment)
    } else {
        write_json(path, deployment)
    }
}

/// Deploys generated verifier artifacts, by form: snark-verifier's verifier then the adapter
/// in front of it; the self-contained verifier alone; or the reusable `Halo2Verifier` (the one
/// at `shared` if given, checked to hold exactly this version's code), the verifying-key artifact as a data contract
/// and the `Halo2VerifyingKey` binding them. Callers first [`refuse_insecure`] keys from a
/// development SRS.
pub(crate) async fn deploy_artifacts(
    cfg: &ChainConfig,
    artifacts: &VerifierArtifacts,
    vk_hash: String,
    shared: Option<Address>,
) -> Result<Deployment> {
    let chain_id = chain::chain_id(&cfg.rpc_url).await?;
    let mut deployment = Deployment {
        chain_id,
        rpc_url: cfg.rpc_url.clone(),
        verifier: String::new(),
        raw_verifier: String::new(),
        vk_hash,
        deploy_gas: 0,
        raw_runtime_size: 0,
        form: artifacts.form,
        vk_artifact: None,
        vk_artifact_hash: artifacts.vk_artifact_hash.clone(),
    };
    let raw = match (artifacts.form, shared) {
        (VerifierForm::Reusable, Some(at)) => {
            let code = chain::code_at(&cfg.rpc_url, at).await?;
            if code.is_empty() {
                bail!("no contract at {at} (the shared Halo2Verifier)");
            }
            let want = vgen::runtime_code(&hex::decode(&artifacts.verifier_initcode)?, &[])?;
            if code != want {
                bail!(
                    "the contract at {at} is not this version's Halo2Verifier: its code differs from the one this build generates ({} bytes, expected {})",
                    code.len(),
                    want.len()
                );
            }
            deployment.raw_runtime_size = code.len();
            at
        }
        _ => {
            let raw = chain::deploy(cfg, hex::decode(&artifacts.verifier_initcode)?)
                .await
                .wrap_err("deploying the verifier")?;
            deployment.deploy_gas += raw.gas_used;
            deployment.raw_runtime_size = raw.runtime_size;
            raw.address
        }
    };
    deployment.raw_verifier = raw.to_string();
    let front = match artifacts.form {
        VerifierForm::SelfContained => raw,
        VerifierForm::SnarkVerifier => {
            let adapter = chain::deploy(cfg, vgen::front_initcode(artifacts, &[raw])?)
                .await
                .wrap_err("deploying the IVerifier adapter")?;
            deployment.deploy_gas += adapter.gas_used;
            adapter.address
        }
        VerifierForm::Reusable => {
            let bytes = hex::decode(artifacts.vk_artifact.as_deref().unwrap_or_default())?;
            let data = chain::deploy(cfg, vgen::reusable::artifact_initcode(&bytes)?)
                .await
                .wrap_err("deploying the verifying-key artifact")?;
            let key = chain::deploy(cfg, vgen::front_initcode(artifacts, &[raw, data.address])?)
                .await
                .wrap_err("deploying the Halo2VerifyingKey")?;
            deployment.deploy_gas += data.gas_used + key.gas_used;
            deployment.vk_artifact = Some(data.address.to_string());
            key.address
        }
    };
    deployment.verifier = front.to_string();
    Ok(deployment)
}

/// The deployment record of `build` (`deployment.json`, written by `deploy`).
pub fn deployment(build: &BuildDir) -> Result<Deployment> {
    build.require(&build.deployment(), "deploy")?;
    read_json(&build.deployment())
}

/// The `IVerifier` to send `build`'s proofs to: `given`, else the one `deploy` recorded.
pub fn verifier_address(build: &BuildDir, given: Option<&str>) -> Result<Address> {
    match given {
        Some(a) => parse_address(a),
        None => parse_address(&deployment(build)?.verifier),
    }
}

/// Calls `verifyProof` of the `IVerifier` at `address` with a proof file.
pub async fn verify_onchain(
    build: &BuildDir,
    proof: &Path,
    address: Address,
    cfg: &ChainConfig,
) -> Result<OnchainVerdict> {
    let (instances, bytes) = evm_proof(build, proof)?;
    let instances: Vec<U256> = instances.iter().map(field_to_u256).collect();
    chain::verify_onchain(cfg, address, &bytes, &instances).await
}

/// The instances and bytes of a proof meant for the EVM verifier of `build` (a model build or
/// an aggregation directory), checked to belong to it.
fn evm_proof(build: &BuildDir, proof: &Path) -> Result<(Vec<Fr>, Vec<u8>)> {
    if build.is_aggregation() {
        let info = load_aggregation(build)?.info;
        let (_, instances, bytes) = aggregated::load_aggregated_proof(&info, proof)?;
        return Ok((instances, bytes));
    }
    let Loaded { info, model, .. } = load(build)?;
    let (file, instances, bytes) = load_proof(&info, &model, proof)?;
    if file.transcript_kind()? != prover::Transcript::Keccak {
        bail!(
            "{} was made for aggregation (Poseidon transcript); the EVM verifier checks proofs made without --for-aggregation",
            proof.display()
        );
    }
    Ok((instances, bytes))
}

/// The `uint256` of a field element.
pub fn field_to_u256(f: &Fr) -> U256 {
    let hex = snarkml_circuits::fixed_point::field_to_hex(f);
    U256::from_str_radix(hex.trim_start_matches("0x"), 16).expect("32-byte hex")
}

/// Parses an address given on the command line.
pub fn parse_address(s: &str) -> Result<Address> {
    s.parse()
        .map_err(|_| eyre!("`{s}` is not an address (expected 0x followed by 40 hex digits)"))
}
