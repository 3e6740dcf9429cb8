//! The project file that remembers where the shared contracts are: `snarkml-deployments.json`
//! in the working directory (or the file `SNARKML_DEPLOYMENTS` names).
//!
//! `snarkml contracts deploy` and `snarkml market deploy` record what they deploy under the
//! chain's id, with the hash of its genesis block; every later command that needs one of
//! those contracts takes it from there unless a flag (`--registry`, …) or its environment
//! variable (`SNARKML_REGISTRY`, …) names another. The genesis hash tells a restarted local
//! anvil (same id 31337, a new chain) from the chain the record was made on: a record of
//! another genesis is never used.
//!
//! ```json
//! { "31337": { "genesis": "0x…", "contracts": { "registry": "0x…", "escrow": "0x…" } } }
//! ```

use alloy::primitives::{Address, B256};
use eyre::{eyre, Result, WrapErr};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file's name in the working directory.
pub const FILE: &str = "snarkml-deployments.json";

/// The environment variable that names another file.
pub const ENV: &str = "SNARKML_DEPLOYMENTS";

/// A shared contract the file can remember.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Contract {
    /// The ModelRegistry.
    Registry,
    /// The InferenceEscrow.
    Escrow,
    /// The AuditBounty.
    Bounty,
    /// The PromptMarketplace.
    Market,
}

impl Contract {
    /// Every contract, in the order `status` lists them.
    pub const ALL: [Contract; 4] = [
        Contract::Registry,
        Contract::Escrow,
        Contract::Bounty,
        Contract::Market,
    ];

    /// Its key in the file.
    pub fn key(self) -> &'static str {
        match self {
            Contract::Registry => "registry",
            Contract::Escrow => "escrow",
            Contract::Bounty => "bounty",
            Contract::Market => "market",
        }
    }

    /// The Solidity contract's name.
    pub fn name(self) -> &'static str {
        match self {
            Contract::Registry => "ModelRegistry",
            Contract::Escrow => "InferenceEscrow",
            Contract::Bounty => "AuditBounty",
            Contract::Market => "PromptMarketplace",
        }
    }

    /// The command that deploys it.
    pub fn deployed_by(self) -> &'static str {
        match self {
            Contract::Market => "snarkml market deploy",
            _ => "snarkml contracts deploy",
        }
    }
}

/// What one chain has recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainRecord {
    /// Hash of the chain's genesis block when the record was made.
    pub genesis: B256,
    /// Address of each contract by its key.
    pub contracts: BTreeMap<String, Address>,
}

/// The whole file: a record per chain id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Deployments {
    /// By chain id (as a decimal string: JSON keys are strings).
    pub chains: BTreeMap<String, ChainRecord>,
}

/// What the file says about one contract on one chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Recorded on this chain.
    Found(Address),
    /// Recorded under this chain id for another genesis (a restarted anvil).
    OtherGenesis,
    /// Not recorded.
    Missing,
}

impl Deployments {
    /// The file the commands use: `$SNARKML_DEPLOYMENTS`, else `./snarkml-deployments.json`.
    pub fn path() -> PathBuf {
        std::env::var_os(ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(FILE))
    }

    /// Reads `path`; a missing file is an empty record, a malformed one an error naming it.
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                eyre!(
                    "{} is not a deployments file ({e}): fix or delete it",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).wrap_err_with(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the file whole (a temporary file renamed over it, so a reader never sees half).
    pub fn save(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, serde_json::to_string_pretty(self)? + "\n")
            .wrap_err_with(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).wrap_err_with(|| format!("writing {}", path.display()))
    }

    /// Records `contracts` on chain `id` of genesis `genesis`; a record of another genesis
    /// under the same id is replaced (that chain is gone).
    pub fn record(&mut self, id: u64, genesis: B256, contracts: &[(Contract, Address)]) {
        let entry = self.chains.entry(id.to_string()).or_default();
        if entry.genesis != genesis {
            *entry = ChainRecord {
                genesis,
                contracts: BTreeMap::new(),
            };
        }
        for (c, a) in contracts {
            entry.contracts.insert(c.key().to_owned(), *a);
        }
    }

    /// What is recorded for `contract` on chain `id` of genesis `genesis`.
    pub fn lookup(&self, id: u64, genesis: B256, contract: Contract) -> Lookup {
        match self.chains.get(&id.to_string()) {
            Some(r) if r.genesis != genesis => Lookup::OtherGenesis,
            Some(r) => r
                .contracts
                .get(contract.key())
                .map_or(Lookup::Missing, |a| Lookup::Found(*a)),
            None => Lookup::Missing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_per_chain_and_never_across_a_restart() {
        let (g1, g2) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let a = Address::repeat_byte(0xaa);
        let b = Address::repeat_byte(0xbb);
        let mut d = Deployments::default();
        d.record(31337, g1, &[(Contract::Registry, a), (Contract::Escrow, b)]);
        assert_eq!(d.lookup(31337, g1, Contract::Registry), Lookup::Found(a));
        assert_eq!(d.lookup(31337, g1, Contract::Market), Lookup::Missing);
        assert_eq!(d.lookup(1, g1, Contract::Registry), Lookup::Missing);
        // A restarted anvil: same id, new genesis. The old record is not used, and a new
        // deployment replaces it whole.
        assert_eq!(
            d.lookup(31337, g2, Contract::Registry),
            Lookup::OtherGenesis
        );
        d.record(31337, g2, &[(Contract::Market, a)]);
        assert_eq!(d.lookup(31337, g2, Contract::Market), Lookup::Found(a));
        assert_eq!(d.lookup(31337, g2, Contract::Registry), Lookup::Missing);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        assert_eq!(Deployments::load(&path).unwrap(), Deployments::default());
        d.save(&path).unwrap();
        assert_eq!(Deployments::load(&path).unwrap(), d);
        std::fs::write(&path, "{\"31337\": 5}").unwrap();
        let err = Deployments::load(&path).unwrap_err().to_string();
        assert!(err.contains("is not a deployments file"), "{err}");
    }
}
