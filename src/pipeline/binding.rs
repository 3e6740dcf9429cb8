//! Before money moves: is the verifier a registry entry (or a bounty) names exactly the one
//! this build generates? The registry records what a verifier says of itself (its key hash and
//! instance count) and its code hash, but any contract can say anything; so a client that is
//! about to pay compares the code on-chain, byte for byte, with the code it generates itself
//! from the build's verifier artifacts (the fronts' immutables and the contracts they call
//! included), and only then trusts the entry's hash and count.

use super::load_verifier;
use crate::artifacts::BuildDir;
use crate::chain::{self, escrow::ModelEntry, ChainConfig};
use alloy::primitives::{keccak256, Address, B256, U256};
use eyre::{bail, eyre, Result};
use snarkml_verifier_gen::{self as vgen, VerifierArtifacts};

/// A deployed verifier found to be exactly the one a build generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The verifying-key hash it enforces (its `vkHash()`).
    pub vk_hash: B256,
    /// The code hash of its `IVerifier` front.
    pub code_hash: B256,
    /// Its proofs' number of public instances.
    pub instance_count: usize,
}

/// Checks that the `IVerifier` at `address` is exactly the verifier `artifacts` deploy (see
/// [`vgen::check_deployed`]); refuses it, naming the contract that differs, otherwise.
pub async fn check_verifier(
    cfg: &ChainConfig,
    artifacts: &VerifierArtifacts,
    address: Address,
) -> Result<Bound> {
    let deployed = chain::deployed_verifier(&cfg.rpc_url, address, artifacts.form).await?;
    let linked: Vec<(Address, &[u8])> = deployed
        .linked
        .iter()
        .map(|(a, c)| (*a, c.as_slice()))
        .collect();
    let vk_hash = vgen::check_deployed(artifacts, &deployed.front, &linked).map_err(|e| {
        eyre!(
            "refusing the verifier at {address}: {e} ({:?} form); it may accept proofs this model's circuit never made",
            artifacts.form
        )
    })?;
    Ok(Bound {
        vk_hash: B256::from(vk_hash),
        code_hash: keccak256(&deployed.front),
        instance_count: artifacts.num_instances,
    })
}

/// Checks that registry entry `entry` is the model of `build`: its verifier is exactly the one
/// the build generates, the entry records that verifier's key hash, code hash and instance
/// count, and its weights commitment is `weights` (zero for fixed weights).
pub async fn check_registered(
    cfg: &ChainConfig,
    build: &BuildDir,
    entry: &ModelEntry,
    weights: U256,
) -> Result<()> {
    let id = entry.id;
    let artifacts = load_verifier(build)?;
    let bound = check_verifier(cfg, &artifacts, entry.verifier)
        .await
        .map_err(|e| eyre!("model {id}: {e}"))?;
    if entry.vk_hash != bound.vk_hash {
        bail!(
            "model {id} in the registry records verifying key {}…, its verifier enforces {}…: the entry is inconsistent",
            &hex::encode(entry.vk_hash)[..12],
            &hex::encode(bound.vk_hash)[..12]
        );
    }
    if entry.code_hash != bound.code_hash {
        bail!(
            "model {id} in the registry records code hash {}…, its verifier's code hashes to {}…",
            &hex::encode(entry.code_hash)[..12],
            &hex::encode(bound.code_hash)[..12]
        );
    }
    if entry.instance_count != bound.instance_count as u64 {
        bail!(
            "model {id} in the registry records {} public instances, {}'s circuit has {}",
            entry.instance_count,
            build.root().display(),
            bound.instance_count
        );
    }
    if entry.weights_commitment != weights {
        bail!(
            "model {id} in the registry has weights commitment {}, {} has {weights}: it is another model",
            entry.weights_commitment,
            build.root().display(),
        );
    }
    Ok(())
}
