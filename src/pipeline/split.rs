//! Split builds (issue #20): a model cut at layer boundaries into segments
//! ([`snarkml_circuits::split`]), each segment a build of its own in `BUILD/segment-J/`
//! (J from 1), described by `BUILD/split.json`, with the whole model in `BUILD/model.json`
//! (what `run` and `profile` read). Setup, prove, verify and mock go segment by segment, with
//! one segment's keys in memory at a time; a split proof file holds one proof per segment, and
//! verifying it checks every proof and that consecutive proofs commit to the same tensors.

use super::{
    dev_srs_for, load, load_vk, openings_path, salts, save_compiled, setup, verify_file,
    BuildProver,
};
use crate::artifacts::{read_json, write_json, BuildDir, SetupInfo};
use eyre::{bail, Result, WrapErr};
use snarkml_circuits::halo2_proofs::halo2curves::ff::Field;
use snarkml_circuits::io::{InputFile, Opening, OpeningsFile, OPENINGS_FORMAT};
use snarkml_circuits::prover::Transcript;
use snarkml_circuits::quantize::{CompiledModel, Visibility};
use snarkml_circuits::split::{
    check_chain, choose_cuts, split, Budget, SplitManifest, SplitProofFile, SPLIT_FORMAT,
    SPLIT_PROOF_FORMAT,
};
use snarkml_circuits::Fr;
use std::collections::BTreeMap;
use std::path::Path;

/// Splits the compiled `whole` model of `build` to meet `budget`: writes each segment's
/// build and `split.json`, and returns the manifest; `None` when the whole model meets the
/// budget (the build then stays one circuit). Any earlier split of the build is removed.
pub fn split_build(
    build: &BuildDir,
    whole: &CompiledModel,
    budget: Budget,
) -> Result<Option<SplitManifest>> {
    clear_split(build)?;
    let cuts = choose_cuts(whole, budget)?;
    if cuts.is_empty() {
        return Ok(None);
    }
    let (segments, manifest) = split(whole, &cuts)?;
    for (j, segment) in segments.iter().enumerate() {
        let dir = BuildDir::create(build.segment(j).root())?;
        save_compiled(&dir, segment)?;
    }
    write_json(&build.split(), &manifest)?;
    Ok(Some(manifest))
}

/// Removes a split of `build` (its manifest and segment builds), as compiling it again does.
pub fn clear_split(build: &BuildDir) -> Result<()> {
    let n = match read_json::<SplitManifest>(&build.split()) {
        Ok(m) => m.segments.len(),
        Err(_) => 0,
    };
    if build.split().exists() {
        std::fs::remove_file(build.split())
            .wrap_err_with(|| format!("cannot remove {}", build.split().display()))?;
    }
    for j in 0..n {
        let dir = build.segment(j);
        if dir.root().is_dir() {
            std::fs::remove_dir_all(dir.root())
                .wrap_err_with(|| format!("cannot remove {}", dir.root().display()))?;
        }
    }
    Ok(())
}

/// The manifest and the compiled segments of a split build.
pub fn segments(build: &BuildDir) -> Result<(SplitManifest, Vec<CompiledModel>)> {
    let manifest: SplitManifest = read_json(&build.split())?;
    if manifest.format != SPLIT_FORMAT {
        bail!(
            "{} is a `{}` manifest; this version reads `{SPLIT_FORMAT}` (compile again)",
            build.split().display(),
            manifest.format
        );
    }
    let models = (0..manifest.segments.len())
        .map(|j| super::compiled_model(&build.segment(j)))
        .collect::<Result<Vec<_>>>()?;
    Ok((manifest, models))
}

/// Sets up every segment of a split build from the SRS at `srs` (trimmed to each segment's
/// `k`), or from the development SRS of each segment's `k`.
pub fn setup_split(build: &BuildDir, srs: Option<&Path>) -> Result<Vec<SetupInfo>> {
    let (manifest, _) = segments(build)?;
    (0..manifest.segments.len())
        .map(|j| {
            let dir = build.segment(j);
            let srs = match srs {
                Some(path) => path.to_owned(),
                None => dev_srs_for(&dir)?.0,
            };
            setup(&dir, &srs).wrap_err_with(|| format!("segment {}", j + 1))
        })
        .collect()
}

/// Proves a split build on the inputs in `input`, segment by segment (each on the tensors the
/// previous one computed, under one fresh salt per boundary tensor), and writes the split
/// proof file to `out` (and the openings of hashed model inputs and outputs beside it, as
/// `prove` does). `progress` hears each segment's index and proving seconds.
pub fn prove_split(
    build: &BuildDir,
    input: &Path,
    out: &Path,
    transcript: Transcript,
    mut progress: impl FnMut(usize, f64),
) -> Result<SplitProofFile> {
    let whole = super::compiled_model(build)?;
    let (_, models) = segments(build)?;
    let inputs = InputFile::load(input)?;
    let quantized = whole
        .quantize_inputs(&inputs.input_data)
        .wrap_err_with(|| format!("{}", input.display()))?;
    // The salts of the model's own hashed inputs and outputs (given, or fresh), by role and
    // tensor, and one fresh salt per boundary tensor.
    let given = salts(&whole, &inputs).wrap_err_with(|| format!("{}", input.display()))?;
    let hashed = |specs: &[snarkml_circuits::model::IoSpec], output: bool| {
        specs
            .iter()
            .filter(|s| s.visibility == Visibility::Hashed)
            .map(move |s| (output, s.tensor))
            .collect::<Vec<_>>()
    };
    let mut salt_of: BTreeMap<(bool, usize), Fr> = hashed(&whole.inputs, false)
        .into_iter()
        .chain(hashed(&whole.outputs, true))
        .zip(given.iter().copied())
        .collect();
    let mut values: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    let mut files = Vec::with_capacity(models.len());
    let mut last_outputs = Vec::new();
    for (j, model) in models.iter().enumerate() {
        let ins: Vec<Vec<i64>> = if j == 0 {
            quantized.clone()
        } else {
            model
                .inputs
                .iter()
                .map(|s| values[&s.tensor].clone())
                .collect()
        };
        let specs = model
            .inputs
            .iter()
            .map(|s| (false, s))
            .chain(model.outputs.iter().map(|s| (true, s)));
        let segment_salts: Vec<Fr> = specs
            .filter(|(_, s)| s.visibility == Visibility::Hashed)
            .map(|(output, s)| {
                // A boundary is the same tensor on both sides of its cut: one salt.
                let key = if s.boundary {
                    (true, s.tensor)
                } else {
                    (output, s.tensor)
                };
                *salt_of
                    .entry(key)
                    .or_insert_with(|| Fr::random(rand::rngs::OsRng))
            })
            .collect();
        let start = std::time::Instant::now();
        let prover = BuildProver::load(&build.segment(j))?;
        let (file, proof) = prover
            .prove_quantized(&ins, &segment_salts, transcript)
            .wrap_err_with(|| format!("segment {}", j + 1))?;
        drop(prover);
        progress(j, start.elapsed().as_secs_f64());
        for (spec, v) in model.outputs.iter().zip(&proof.outputs) {
            values.insert(spec.tensor, v.clone());
        }
        last_outputs = proof.outputs;
        files.push(file);
    }
    let file = SplitProofFile {
        format: SPLIT_PROOF_FORMAT.into(),
        model: whole.name.clone(),
        segments: files,
    };
    write_json(out, &file)?;
    let openings: Vec<Opening> = whole
        .inputs
        .iter()
        .zip(&quantized)
        .map(|(s, v)| (s, v, false))
        .chain(
            whole
                .outputs
                .iter()
                .zip(&last_outputs)
                .map(|(s, v)| (s, v, true)),
        )
        .filter(|(s, _, _)| s.visibility == Visibility::Hashed)
        .map(|(s, v, output)| {
            let role = if output { "output" } else { "input" };
            Opening::new(&whole, s, role, v, salt_of[&(output, s.tensor)])
        })
        .collect();
    if !openings.is_empty() {
        // The salts and values open the commitments: owner-only.
        let file = OpeningsFile {
            format: OPENINGS_FORMAT.into(),
            model: whole.name.clone(),
            openings,
        };
        crate::artifacts::write_secret_json(&openings_path(out), &file)?;
    }
    Ok(file)
}

/// Reads a split proof file and checks it: every segment's proof against that segment's
/// keys (as `verify` checks one proof), then that consecutive segments' proofs commit to the
/// same tensor at every cut. The file returned shows what the proofs prove.
pub fn verify_split(build: &BuildDir, proof: &Path) -> Result<SplitProofFile> {
    let file = read_split_proof(proof)?;
    let (_, models) = segments(build)?;
    if file.segments.len() != models.len() {
        bail!(
            "{} holds {} segment proofs; {} is split into {} segments",
            proof.display(),
            file.segments.len(),
            build.root().display(),
            models.len()
        );
    }
    let mut checked = Vec::with_capacity(models.len());
    for (j, segment) in file.segments.iter().enumerate() {
        let dir = build.segment(j);
        let loaded = load(&dir)?;
        let vk = load_vk(&dir, &loaded.info, &loaded.model)?;
        let what = proof.with_extension(format!("json, segment {}", j + 1));
        checked.push(verify_file(&loaded, &vk, segment.clone(), &what)?);
    }
    check_chain(&models, &checked).wrap_err_with(|| format!("{}", proof.display()))?;
    Ok(SplitProofFile {
        segments: checked,
        ..file
    })
}

/// Reads a split proof file (format checked; nothing it shows is checked yet).
pub fn read_split_proof(proof: &Path) -> Result<SplitProofFile> {
    let file: SplitProofFile = read_json(proof)?;
    if file.format != SPLIT_PROOF_FORMAT {
        bail!(
            "{} is a `{}` file, not a split model's proofs (`{SPLIT_PROOF_FORMAT}`)",
            proof.display(),
            file.format
        );
    }
    Ok(file)
}

/// Checks every segment's constraints with MockProver on the tensors the previous segments
/// computed from `input` (no keys, no proof); the error names the segment and layer. Returns
/// the segments.
pub fn mock_split(build: &BuildDir, input: &Path) -> Result<Vec<CompiledModel>> {
    let whole = super::compiled_model(build)?;
    let (_, models) = segments(build)?;
    let inputs = InputFile::load(input)?;
    let mut ins = whole
        .quantize_inputs(&inputs.input_data)
        .wrap_err_with(|| format!("{}", input.display()))?;
    let mut values: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    for (j, model) in models.iter().enumerate() {
        if j > 0 {
            ins = model
                .inputs
                .iter()
                .map(|s| values[&s.tensor].clone())
                .collect();
        }
        snarkml_circuits::prover::mock(model, &ins)
            .wrap_err_with(|| format!("segment {}", j + 1))?;
        let outputs = snarkml_circuits::exec::run(model, &ins)?.outputs(model);
        for (spec, v) in model.outputs.iter().zip(outputs) {
            values.insert(spec.tensor, v);
        }
    }
    Ok(models)
}
