//! Split builds (issue #20): a model cut at layer boundaries into segments
//! ([`snarkml_circuits::split`]), each segment a build of its own in `BUILD/segment-J/`
//! (J from 1), described by `BUILD/split.json`, with the whole model in `BUILD/model.json`
//! (what `run` and `profile` read). Setup, prove, verify and mock go segment by segment, with
//! one segment's keys in memory at a time; a split proof file holds one proof per segment, and
//! verifying it checks every proof and that consecutive proofs commit to the same tensors.

use super::aggregate::{
    aggregate_set, same_srs, Aggregated, AggregationTarget, InnerSet, Layout, NodeId, Stage,
};
use super::aggregate_cost::TreeLoad;
use super::aggregate_tree::Tree;
use super::key_cache::KeyCache;
use super::{
    check_proof_file, dev_srs_for, load, load_vk, openings_path, save_compiled, setup, verify_file,
    BuildProver,
};
use crate::artifacts::{read_json, write_json, BuildDir, SetupInfo};
use crate::stored::{SrsFile, Stored};
use eyre::{bail, Result, WrapErr};
use snarkml_circuits::aggregation::{Expose, ExposeItem};
use snarkml_circuits::halo2_proofs::halo2curves::ff::Field;
use snarkml_circuits::halo2_proofs::plonk::VerifyingKey;
use snarkml_circuits::io::{InputFile, Opening, OpeningsFile, ProofFile, OPENINGS_FORMAT};
use snarkml_circuits::model::IoSpec;
use snarkml_circuits::prover::Transcript;
use snarkml_circuits::quantize::{CompiledModel, Visibility};
use snarkml_circuits::split::{
    check_chain, plan, split, Budget, SplitManifest, SplitProofFile, SPLIT_FORMAT,
    SPLIT_PROOF_FORMAT,
};
use snarkml_circuits::srs::{srs_id, Srs};
use snarkml_circuits::{Fr, G1Affine};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Splits the compiled `whole` model of `build` to meet `budget`: writes each segment's
/// build and `split.json`, and returns the manifest; `None` when the whole model meets the
/// budget (the build then stays one circuit). Where runs of convolutions had to be split into
/// bands of rows or by channels first, the build's `model.json` becomes that model (same
/// outputs). Any earlier
/// split of the build is removed.
pub fn split_build(
    build: &BuildDir,
    whole: &CompiledModel,
    budget: Budget,
) -> Result<Option<SplitManifest>> {
    clear_split(build)?;
    let plan = plan(whole, budget)?;
    if plan.cuts.is_empty() {
        return Ok(None);
    }
    let (segments, mut manifest) = split(&plan.model, &plan.cuts)?;
    if !plan.tile_splits.is_empty() || !plan.channel_splits.is_empty() {
        // The whole model the segments are cut from (same outputs, runs split into bands of
        // rows or chains by channels).
        save_compiled(build, &plan.model)?;
        manifest.tile_splits = plan.tile_splits;
        manifest.channel_splits = plan.channel_splits;
    }
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

/// The manifest of a split build.
pub fn manifest(build: &BuildDir) -> Result<SplitManifest> {
    let manifest: SplitManifest = read_json(&build.split())?;
    if manifest.format != SPLIT_FORMAT {
        bail!(
            "{} is a `{}` manifest; this version reads `{SPLIT_FORMAT}` (compile again)",
            build.split().display(),
            manifest.format
        );
    }
    Ok(manifest)
}

/// The manifest and the compiled segments of a split build.
pub fn segments(build: &BuildDir) -> Result<(SplitManifest, Vec<CompiledModel>)> {
    let manifest = manifest(build)?;
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

/// What a salt is the salt of: a hashed model input or output, or a tensor crossing a cut
/// (one salt for both sides of the cut, so both commit alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Salted {
    Input(usize),
    Output(usize),
    Boundary(usize),
}

impl Salted {
    /// The salt key of `spec`, an input (else an output) of a segment or of the model.
    fn of(spec: &IoSpec, output: bool) -> Self {
        match (spec.boundary, output) {
            (true, _) => Self::Boundary(spec.tensor),
            (false, true) => Self::Output(spec.tensor),
            (false, false) => Self::Input(spec.tensor),
        }
    }
}

/// What proving a split build starts from: the whole model, its segments, the quantized
/// model inputs, and the salt of every hashed tensor.
struct SplitRun {
    whole: CompiledModel,
    models: Vec<CompiledModel>,
    quantized: Vec<Vec<i64>>,
    salts: BTreeMap<Salted, Fr>,
}

impl SplitRun {
    /// Reads the build and the input file (salts not read yet: [`Self::take_salts`]).
    fn new(build: &BuildDir, input: &Path) -> Result<(Self, InputFile)> {
        let whole = super::compiled_model(build)?;
        let (_, models) = segments(build)?;
        let inputs = InputFile::load(input)?;
        let quantized = whole
            .quantize_inputs(&inputs.input_data)
            .wrap_err_with(|| format!("{}", input.display()))?;
        let run = Self {
            whole,
            models,
            quantized,
            salts: BTreeMap::new(),
        };
        Ok((run, inputs))
    }

    /// Takes the salts of the input file `inputs` (read from `input`) by tensor name: a hashed
    /// model input or output, or a tensor crossing a cut; others are made fresh when needed.
    /// Proving segment `alone` by itself needs the salts of the tensors crossing its cuts
    /// given, or its commitments could not match those of its neighbours proven elsewhere.
    fn take_salts(
        &mut self,
        mut inputs: InputFile,
        input: &Path,
        alone: Option<usize>,
    ) -> Result<()> {
        let at = || format!("{}", input.display());
        // Boundary salts by name, taken out of the file before the model's own are read.
        for model in &self.models {
            for spec in model.inputs.iter().chain(&model.outputs) {
                let name = &model.tensors[spec.tensor].name;
                if let (true, Some(text)) = (spec.boundary, inputs.salts.remove(name)) {
                    let salt = super::parse_salt(name, &text).wrap_err_with(at)?;
                    self.salts.insert(Salted::Boundary(spec.tensor), salt);
                }
            }
        }
        if let Some(j) = alone {
            let model = &self.models[j];
            if let Some(spec) = model
                .inputs
                .iter()
                .chain(&model.outputs)
                .find(|s| s.boundary && !self.salts.contains_key(&Salted::Boundary(s.tensor)))
            {
                bail!(
                    "{}: proving segment {} alone takes the salt of every tensor crossing its cuts from the input file (\"salts\": {{\"{}\": \"0x…\"}}), the same for every segment, so that their commitments match: `{}` has none",
                    at(),
                    j + 1,
                    model.tensors[spec.tensor].name,
                    model.tensors[spec.tensor].name
                );
            }
        }
        let given = super::salts(&self.whole, &inputs).wrap_err_with(at)?;
        let hashed = |specs: &[IoSpec], output: bool| {
            specs
                .iter()
                .filter(|s| s.visibility == Visibility::Hashed)
                .map(move |s| Salted::of(s, output))
                .collect::<Vec<_>>()
        };
        let keys: Vec<Salted> = hashed(&self.whole.inputs, false)
            .into_iter()
            .chain(hashed(&self.whole.outputs, true))
            .collect();
        self.salts.extend(keys.into_iter().zip(given));
        Ok(())
    }

    /// The salts of segment `j`'s hashed inputs then outputs (fresh ones made once).
    fn segment_salts(&mut self, j: usize) -> Vec<Fr> {
        let model = &self.models[j];
        model
            .inputs
            .iter()
            .map(|s| (false, s))
            .chain(model.outputs.iter().map(|s| (true, s)))
            .filter(|(_, s)| s.visibility == Visibility::Hashed)
            .map(|(output, s)| {
                *self
                    .salts
                    .entry(Salted::of(s, output))
                    .or_insert_with(|| Fr::random(rand::rngs::OsRng))
            })
            .collect()
    }

    /// Segment `j`'s inputs, from the model's inputs or the tensors `values` holds.
    fn inputs_of(&self, j: usize, values: &BTreeMap<usize, Vec<i64>>) -> Vec<Vec<i64>> {
        if j == 0 {
            return self.quantized.clone();
        }
        self.models[j]
            .inputs
            .iter()
            .map(|s| values[&s.tensor].clone())
            .collect()
    }

    /// Records segment `j`'s `outputs` among the tensors `values` holds.
    fn record(&self, j: usize, outputs: &[Vec<i64>], values: &mut BTreeMap<usize, Vec<i64>>) {
        for (spec, v) in self.models[j].outputs.iter().zip(outputs) {
            values.insert(spec.tensor, v.clone());
        }
    }

    /// Runs segments `0..j` on integers (no proof): the tensors segment `j` reads.
    fn values_before(&self, j: usize) -> Result<BTreeMap<usize, Vec<i64>>> {
        let mut values = BTreeMap::new();
        for i in 0..j {
            let model = &self.models[i];
            let outputs =
                snarkml_circuits::exec::run(model, &self.inputs_of(i, &values))?.outputs(model);
            self.record(i, &outputs, &mut values);
        }
        Ok(values)
    }

    /// Writes the openings of the model's own hashed inputs and outputs beside `out`.
    fn write_openings(&self, out: &Path, outputs: Option<&[Vec<i64>]>) -> Result<()> {
        let whole = &self.whole;
        let ins = whole
            .inputs
            .iter()
            .zip(&self.quantized)
            .map(|(s, v)| (s, v, false));
        let outs = outputs
            .into_iter()
            .flat_map(|o| whole.outputs.iter().zip(o).map(|(s, v)| (s, v, true)));
        let openings: Vec<Opening> = ins
            .chain(outs)
            .filter(|(s, _, _)| s.visibility == Visibility::Hashed)
            .map(|(s, v, output)| {
                let role = if output { "output" } else { "input" };
                Opening::new(whole, s, role, v, self.salts[&Salted::of(s, output)])
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
        Ok(())
    }
}

/// Proves a split build on the inputs in `input`, segment by segment (each on the tensors the
/// previous one computed, under one salt per boundary tensor: given in the input file, or
/// fresh), and writes the split proof file to `out` (and the openings of hashed model inputs
/// and outputs beside it, as `prove` does). `progress` hears each segment's index and
/// proving seconds.
pub fn prove_split(
    build: &BuildDir,
    input: &Path,
    out: &Path,
    transcript: Transcript,
    mut progress: impl FnMut(usize, f64),
) -> Result<SplitProofFile> {
    let (mut run, inputs) = SplitRun::new(build, input)?;
    run.take_salts(inputs, input, None)?;
    let mut values: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    let mut files = Vec::with_capacity(run.models.len());
    let mut last_outputs = Vec::new();
    for j in 0..run.models.len() {
        let ins = run.inputs_of(j, &values);
        let salts = run.segment_salts(j);
        let start = std::time::Instant::now();
        let (file, proof) = prove_segment(build, j, &ins, &salts, transcript)?;
        progress(j, start.elapsed().as_secs_f64());
        run.record(j, &proof.outputs, &mut values);
        last_outputs = proof.outputs;
        files.push(file);
    }
    let file = SplitProofFile {
        format: SPLIT_PROOF_FORMAT.into(),
        model: run.whole.name.clone(),
        segments: files,
    };
    write_json(out, &file)?;
    run.write_openings(out, Some(&last_outputs))?;
    Ok(file)
}

/// Proves segment `j` (from 0) of a split build alone, on the tensors the segments before it
/// compute from `input` (run on integers, not proven), with the salts of the tensors crossing
/// its cuts from the input file; writes the segment's proof file to `out` (what `verify`
/// takes for that segment, in order with the others, or `BUILD/segment-J` alone).
pub fn prove_one_segment(
    build: &BuildDir,
    j: usize,
    input: &Path,
    out: &Path,
    transcript: Transcript,
) -> Result<ProofFile> {
    let (mut run, inputs) = SplitRun::new(build, input)?;
    let n = run.models.len();
    if j >= n {
        bail!(
            "segment {} of a model split into {n} segments (1 to {n})",
            j + 1
        );
    }
    run.take_salts(inputs, input, Some(j))?;
    let values = run.values_before(j)?;
    let ins = run.inputs_of(j, &values);
    let salts = run.segment_salts(j);
    let (file, proof) = prove_segment(build, j, &ins, &salts, transcript)?;
    file.save(out)?;
    let last = (j + 1 == n).then_some(proof.outputs.as_slice());
    if j == 0 || last.is_some() {
        run.write_openings(out, last)?;
    }
    Ok(file)
}

/// Proves segment `j` on `ins` with `salts`, its keys read for this proof alone.
fn prove_segment(
    build: &BuildDir,
    j: usize,
    ins: &[Vec<i64>],
    salts: &[Fr],
    transcript: Transcript,
) -> Result<(ProofFile, snarkml_circuits::prover::Proof)> {
    BuildProver::load(&build.segment(j))?
        .prove_quantized(ins, salts, transcript)
        .wrap_err_with(|| format!("segment {}", j + 1))
}

/// Checks the proofs of a split build: one split proof file (what `prove` writes), or one
/// proof file per segment in order (what `prove --segment J` writes): every segment's proof
/// against that segment's keys (as `verify` checks one proof), then that consecutive
/// segments' proofs commit to the same tensor at every cut. The file returned shows what the
/// proofs prove.
pub fn verify_split(build: &BuildDir, proofs: &[PathBuf]) -> Result<SplitProofFile> {
    Ok(check_split(build, proofs, |_| true)?.file)
}

/// A split build's proofs, checked ([`verify_split`]), with what checking them read.
struct Checked {
    /// The proofs, showing what they prove.
    file: SplitProofFile,
    /// The segments.
    models: Vec<CompiledModel>,
    /// Each segment's setup record, and its verifying key where `needed`.
    keys: Vec<(SetupInfo, Option<VerifyingKey<G1Affine>>)>,
}

/// [`verify_split`], keeping the segments and their keys for the caller. Only the proofs of
/// the segments `needed` are verified (and their keys loaded); the others' proof files are
/// checked against their builds and the whole chain is checked on every proof's instances.
fn check_split(
    build: &BuildDir,
    proofs: &[PathBuf],
    needed: impl Fn(usize) -> bool,
) -> Result<Checked> {
    let (_, models) = segments(build)?;
    let n = models.len();
    let (file, names) = match proofs {
        [one] => {
            let file = read_split_proof(one)?;
            if file.segments.len() != n {
                bail!(
                    "{} holds {} segment proofs; {} is split into {n} segments",
                    one.display(),
                    file.segments.len(),
                    build.root().display()
                );
            }
            let names = (1..=n)
                .map(|j| one.with_extension(format!("json, segment {j}")))
                .collect();
            (file, names)
        }
        many => {
            if many.len() != n {
                bail!(
                    "{} proof files for {}, which is split into {n} segments (give one per segment, in order, or the split proof file)",
                    many.len(),
                    build.root().display()
                );
            }
            let segments = many
                .iter()
                .map(|p| Ok(crate::stored::parse_proof(p)?))
                .collect::<Result<Vec<_>>>()?;
            let file = SplitProofFile {
                format: SPLIT_PROOF_FORMAT.into(),
                model: super::compiled_model(build)?.name,
                segments,
            };
            (file, many.to_vec())
        }
    };
    let mut checked = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    for (j, (segment, name)) in file.segments.iter().zip(&names).enumerate() {
        let dir = build.segment(j);
        if needed(j) {
            let loaded = load(&dir)?;
            let vk = load_vk(&dir, &loaded.info, &loaded.model)?;
            checked.push(verify_file(&loaded, &vk, segment.clone(), name)?);
            keys.push((loaded.info, Some(vk)));
        } else {
            dir.require(&dir.setup(), "setup")?;
            let info: SetupInfo = read_json(&dir.setup())?;
            let (shown, _, _) = check_proof_file(&info, &models[j], segment.clone(), name)?;
            checked.push(shown);
            keys.push((info, None));
        }
    }
    let what = proofs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    check_chain(&models, &checked).wrap_err(what)?;
    Ok(Checked {
        file: SplitProofFile {
            segments: checked,
            ..file
        },
        models,
        keys,
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
    let (run, _) = SplitRun::new(build, input)?;
    let mut values: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    for (j, model) in run.models.iter().enumerate() {
        let ins = run.inputs_of(j, &values);
        snarkml_circuits::prover::mock(model, &ins)
            .wrap_err_with(|| format!("segment {}", j + 1))?;
        let outputs = snarkml_circuits::exec::run(model, &ins)?.outputs(model);
        run.record(j, &outputs, &mut values);
    }
    Ok(run.models)
}

/// The aggregation tree `layout` makes of a split build's segment proofs, with each step's
/// public instances (for `aggregate --tree`'s predictions: the model's input and output
/// instances are carried up to the top, the boundary commitments end where they are linked).
pub fn aggregation_load(build: &BuildDir, layout: Layout) -> Result<TreeLoad> {
    let (_, models) = segments(build)?;
    let counts: Vec<usize> = models.iter().map(CompiledModel::num_instances).collect();
    TreeLoad::new(&counts, &aggregation_expose(&models), layout)
}

/// What the aggregated proof of a split model exposes: the model's inputs (the first
/// segment's input instances), its outputs (the last segment's output instances) and each
/// segment's weights commitment where weights are hashed; every boundary commitment is
/// linked (constrained equal) between the proof of the segment that gives a tensor out and
/// that of each segment that takes it in, and not exposed.
pub fn aggregation_expose(models: &[CompiledModel]) -> Expose {
    // Instance positions of each input and output of a segment (inputs first, in order).
    let positions = |m: &CompiledModel| {
        let mut at = 0;
        let mut place = |specs: &[IoSpec]| {
            specs
                .iter()
                .map(|s| {
                    let n = m.io_instances(s);
                    at += n;
                    (s.tensor, at - n..at)
                })
                .collect::<Vec<_>>()
        };
        let ins = place(&m.inputs);
        let outs = place(&m.outputs);
        (ins, outs)
    };
    let n = models.len();
    let placed: Vec<_> = models.iter().map(positions).collect();
    let mut items: Vec<ExposeItem> = placed[0]
        .0
        .iter()
        .flat_map(|(_, r)| r.clone())
        .map(|index| ExposeItem::Instance { proof: 0, index })
        .collect();
    // Each boundary input of a segment links to the output of the segment that gave it.
    for to in 1..n {
        for (tensor, input) in &placed[to].0 {
            let from = (0..to).rev().find_map(|j| {
                let given = placed[j].1.iter().find(|(t, _)| t == tensor)?;
                Some((j, given.1.clone()))
            });
            if let Some((proof, out)) = from {
                items.extend(
                    out.zip(input.clone())
                        .map(|(output, input)| ExposeItem::Link {
                            proof,
                            output,
                            to,
                            input,
                        }),
                );
            }
        }
    }
    items.extend(
        placed[n - 1]
            .1
            .iter()
            .flat_map(|(_, r)| r.clone())
            .map(|index| ExposeItem::Instance {
                proof: n - 1,
                index,
            }),
    );
    for (j, m) in models.iter().enumerate() {
        if m.weights == Visibility::Hashed {
            items.push(ExposeItem::Instance {
                proof: j,
                index: m.num_instances() - 1,
            });
        }
    }
    Expose::Items(items)
}

/// Aggregates the proofs of a split build (its split proof file, or one proof file per
/// segment, made with `prove --for-aggregation`) into one proof in `out` that exposes only
/// the model's inputs, outputs and weights commitments, the chain checked inside
/// ([`aggregation_expose`]), in the aggregation circuits of `layout` (a tree carries every
/// cut between two groups up to the layer that holds both sides). Every proof and the chain
/// are verified natively first, before any heavy work.
#[allow(clippy::too_many_arguments)]
pub fn aggregate_split(
    build: &BuildDir,
    proofs: &[PathBuf],
    srs: &Path,
    k: u32,
    (layout, step): (Layout, Option<NodeId>),
    cache: &KeyCache,
    out: &BuildDir,
    progress: impl FnMut(Stage),
) -> Result<Aggregated> {
    // The proofs a step aggregates itself: the leaves under a step of layer 0; a step above
    // reads the layer below from node files and needs no segment's key.
    let n = manifest(build)?.segments.len();
    let tree = Tree {
        layers: layout.layers(n),
    };
    if let Some(s) = step {
        tree.check(s)?;
    }
    let needed = |j: usize| match step {
        None => true,
        Some(s) => s.layer == 0 && tree.children(s).contains(&j),
    };
    let Checked { file, models, keys } = check_split(build, proofs, needed)?;
    if let Some(j) = file
        .segments
        .iter()
        .position(|p| !matches!(p.transcript_kind(), Ok(Transcript::Poseidon)))
    {
        bail!(
            "segment {}'s proof uses the {} transcript: proofs to aggregate are made with `snarkml prove --for-aggregation`",
            j + 1,
            file.segments[j].transcript
        );
    }
    let srs_file = srs;
    let srs = Srs::load_trimmed(srs_file, k)?;
    let id = srs_id(&srs.params);
    // The expose spec is all the aggregation needs of the segments' models; each verifying key
    // moves into the inner set (a MobileNet segment's takes hundreds of MiB: no copies).
    let expose = aggregation_expose(&models);
    drop(models);
    let mut inner = InnerSet::default();
    for (j, (proof, (info, vk))) in file.segments.iter().zip(keys).enumerate() {
        same_srs(build.segment(j).root(), &info, &id, srs_file)?;
        let label = PathBuf::from(format!("{} (segment {})", file.model, j + 1));
        inner.push(
            &label,
            &proof.model,
            (&info.vk_hash, vk),
            proof.instance_fields()?,
            proof.proof_bytes()?,
        );
    }
    let target = AggregationTarget {
        k,
        expose: &expose,
        layout,
        cache,
        step,
    };
    aggregate_set(srs, inner, &target, out, progress)
}
