//! A small in-process EVM (revm) for the verifiers' tests and gas figures: deploy contracts,
//! call them, read the result and the gas of each transaction.

use revm::context::result::{ExecutionResult, Output};
use revm::context::TxEnv;
use revm::database::InMemoryDB;
use revm::primitives::{Address, TxKind};
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};

/// One chain in memory, one sender.
pub struct Evm {
    evm: revm::MainnetEvm<revm::handler::MainnetContext<InMemoryDB>>,
    nonce: u64,
}

/// A successful call: its output and the gas of the whole transaction (21,000 and calldata
/// included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Called {
    /// What the call returned.
    pub output: Vec<u8>,
    /// Gas used by the transaction.
    pub gas: u64,
}

impl Default for Evm {
    fn default() -> Self {
        Self {
            evm: Context::mainnet()
                .with_db(InMemoryDB::default())
                .build_mainnet(),
            nonce: 0,
        }
    }
}

impl Evm {
    fn transact(&mut self, kind: TxKind, data: Vec<u8>) -> Result<ExecutionResult, String> {
        let tx = TxEnv {
            gas_limit: 30_000_000,
            kind,
            data: data.into(),
            nonce: self.nonce,
            ..Default::default()
        };
        let result = self
            .evm
            .transact_commit(tx)
            .map_err(|e| format!("EVM error: {e:?}"))?;
        self.nonce += 1;
        Ok(result)
    }

    /// Deploys `initcode`; returns the new contract's address.
    pub fn deploy(&mut self, initcode: Vec<u8>) -> Result<Address, String> {
        match self.transact(TxKind::Create, initcode)? {
            ExecutionResult::Success {
                output: Output::Create(_, Some(address)),
                ..
            } => Ok(address),
            other => Err(format!("deployment failed: {other:?}")),
        }
    }

    /// Calls `to` with `calldata`.
    pub fn call(&mut self, to: Address, calldata: Vec<u8>) -> Result<Called, String> {
        match self.transact(TxKind::Call(to), calldata)? {
            ExecutionResult::Success {
                output, gas_used, ..
            } => Ok(Called {
                output: output.into_data().to_vec(),
                gas: gas_used,
            }),
            ExecutionResult::Revert { output, .. } => {
                Err(format!("reverted: 0x{}", hex::encode(output)))
            }
            ExecutionResult::Halt { reason, .. } => Err(format!("halted: {reason:?}")),
        }
    }

    /// Deploys a circuit's verifying-key `artifact` as a data contract and the
    /// `Halo2VerifyingKey` (`key_initcode`) binding it to the shared `verifier`; returns the
    /// data contract's and the key's addresses.
    pub fn deploy_key(
        &mut self,
        key_initcode: &[u8],
        verifier: Address,
        artifact: &[u8],
    ) -> Result<(Address, Address), String> {
        let data =
            self.deploy(crate::reusable::artifact_initcode(artifact).map_err(|e| e.to_string())?)?;
        let mut key = key_initcode.to_vec();
        for a in [verifier, data] {
            key.extend([0u8; 12]);
            key.extend(a.as_slice());
        }
        Ok((data, self.deploy(key)?))
    }
}
