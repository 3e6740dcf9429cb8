//! Accuracy audits: the dataset commitment, and bounties opened, claimed and reclaimed against
//! a registered model. Claims are checked off-chain against the bounty first (model, dataset,
//! sample count, threshold), so a mismatch is named before any gas is spent.

use super::{compiled_model, field_to_u256};
use crate::artifacts::BuildDir;
use crate::chain::bounty::{self, BountyEntry, NewBounty, Payment};
use crate::chain::{escrow, ChainConfig};
use crate::stored::Stored;
use alloy::primitives::{Address, U256};
use eyre::{bail, eyre, Result, WrapErr};
use serde::Serialize;
use snarkml_circuits::audit::{self, Dataset, CHAIN_START};
use snarkml_circuits::io::AggregatedProofFile;
use std::path::Path;

/// A dataset's commitment, as `audit commit-dataset` reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DatasetCommitment {
    /// `C_D`, `0x` hex.
    pub commitment: String,
    /// Samples.
    pub samples: usize,
    /// Bits per packed input value in the hash chain (from the model's input).
    pub pack_bits: u32,
    /// How many samples the quantized model classifies correctly (the count an audit proves).
    pub quantized_correct: usize,
}

/// Commits to the dataset in `data` as quantized for the model of `build`.
pub fn commit_dataset(build: &BuildDir, data: &Path) -> Result<DatasetCommitment> {
    let model = compiled_model(build)?;
    let dataset = Dataset::load(data)?;
    let samples = dataset
        .quantize(&model)
        .wrap_err_with(|| format!("{}", data.display()))?;
    Ok(DatasetCommitment {
        commitment: snarkml_circuits::fixed_point::field_to_hex(&audit::dataset_commitment(
            &model, &samples,
        )),
        samples: samples.len(),
        pack_bits: model.inputs[0].pack_bits,
        quantized_correct: audit::correct_count(&model, &samples)?,
    })
}

/// Parses an accuracy threshold: `0.9`, `90%` or `9/10`, as a fraction `num / den` in [0, 1].
pub fn parse_threshold(text: &str) -> Result<(u64, u64)> {
    let t = text.trim();
    let bad = || {
        eyre::eyre!(
            "invalid threshold `{text}`: expected a fraction like 0.9, 90% or 9/10 in [0, 1]"
        )
    };
    let (num, den) = if let Some((n, d)) = t.split_once('/') {
        (
            n.trim().parse::<u64>().map_err(|_| bad())?,
            d.trim().parse::<u64>().map_err(|_| bad())?,
        )
    } else {
        let (digits, scale) = match t.strip_suffix('%') {
            Some(p) => (p.trim(), 100u64),
            None => (t, 1u64),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && frac.is_empty()
            || frac.len() > 12
            || !whole
                .bytes()
                .chain(frac.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let den = 10u64.pow(frac.len() as u32) * scale;
        let num = format!("{whole}{frac}").parse::<u64>().map_err(|_| bad())?;
        (num, den)
    };
    if den == 0 || num > den {
        return Err(bad());
    }
    Ok((num, den))
}

/// A bounty to open for the model of a build.
#[derive(Clone, Debug)]
pub struct BountyRequest<'a> {
    /// The bounty contract.
    pub bounty: Address,
    /// The registered model.
    pub model_id: u64,
    /// The audit verifier (of aggregated audit proofs).
    pub verifier: Address,
    /// The aggregation directory whose generated verifier `verifier` must be exactly; `None`
    /// when the sponsor checked the verifier otherwise (its code is then not compared).
    pub aggregation: Option<&'a BuildDir>,
    /// The model's build (for the dataset's quantization) and the dataset file.
    pub dataset: (&'a BuildDir, &'a Path),
    /// The accuracy threshold, `num / den`.
    pub threshold: (u64, u64),
    /// The reward, in wei.
    pub reward: U256,
    /// Seconds from now until the deadline.
    pub ttl: u64,
}

/// Opens a bounty on a dataset; returns it as the contract holds it. Before the reward moves,
/// the registered model's verifier must be exactly the one the model's build generates, and the
/// audit verifier exactly the one the aggregation directory generates (when one is given).
pub async fn open_bounty(cfg: &ChainConfig, req: &BountyRequest<'_>) -> Result<BountyEntry> {
    let (build, data) = req.dataset;
    let model = compiled_model(build)?;
    let registry = bounty::registry(cfg, req.bounty).await?;
    let entry = escrow::model(cfg, registry, req.model_id).await?;
    let weights = model
        .weights_commitment()?
        .map_or(U256::ZERO, |c| field_to_u256(&c));
    super::binding::check_registered(cfg, build, &entry, weights).await?;
    if let Some(aggregation) = req.aggregation {
        let artifacts = super::load_verifier(aggregation)?;
        super::binding::check_verifier(cfg, &artifacts, req.verifier)
            .await
            .map_err(|e| eyre!("the audit verifier: {e}"))?;
    }
    let dataset = Dataset::load(data)?;
    let samples = dataset
        .quantize(&model)
        .wrap_err_with(|| format!("{}", data.display()))?;
    let new = NewBounty {
        model_id: req.model_id,
        verifier: req.verifier,
        dataset_commitment: field_to_u256(&audit::dataset_commitment(&model, &samples)),
        samples: samples.len() as u64,
        threshold: req.threshold,
        reward: req.reward,
        deadline: escrow::now(cfg).await? + req.ttl,
    };
    let id = bounty::open(cfg, req.bounty, &new).await?;
    bounty::get(cfg, req.bounty, id).await
}

/// Claims bounty `id` with the aggregated audit proof file `proof`, after checking it against
/// the bounty off-chain.
pub async fn claim(
    cfg: &ChainConfig,
    bounty_address: Address,
    id: u64,
    proof: &Path,
) -> Result<Payment> {
    let b = bounty::get(cfg, bounty_address, id).await?;
    if b.status != "open" {
        bail!("bounty {id} is already {}", b.status);
    }
    let file = AggregatedProofFile::load(proof)?;
    let instances: Vec<U256> = file.instance_fields()?.iter().map(field_to_u256).collect();
    let bytes = file.proof_bytes()?;
    let a = snarkml_circuits::aggregation::ACCUMULATOR_INSTANCES;
    if instances.len() != a + 5 {
        bail!(
            "{} has {} public instances; an aggregated audit proof has {} (accumulator, C_W, h_0, C_D, n, correct)",
            proof.display(),
            instances.len(),
            a + 5
        );
    }
    let registry = bounty::registry(cfg, bounty_address).await?;
    let model = escrow::model(cfg, registry, b.model_id).await?;
    let (cw, h0, cd, n, correct) = (
        instances[a],
        instances[a + 1],
        instances[a + 2],
        instances[a + 3],
        instances[a + 4],
    );
    if cw != model.weights_commitment {
        bail!(
            "{} proves weights commitment {cw}, model {} is registered with {}",
            proof.display(),
            b.model_id,
            model.weights_commitment
        );
    }
    if h0 != field_to_u256(&CHAIN_START) || cd != b.dataset_commitment {
        bail!(
            "{} is not over bounty {id}'s dataset (its chain runs from {h0} to {cd}, the bounty's dataset is {})",
            proof.display(),
            b.dataset_commitment
        );
    }
    if n != U256::from(b.samples) {
        bail!(
            "{} counts {n} samples, bounty {id}'s dataset has {}",
            proof.display(),
            b.samples
        );
    }
    let (num, den) = b.threshold;
    if correct > n || correct * U256::from(den) < U256::from(num) * n {
        bail!(
            "{} proves {correct} correct of {n}, below bounty {id}'s threshold {num}/{den}",
            proof.display()
        );
    }
    bounty::claim(cfg, bounty_address, id, &bytes, &instances).await
}
