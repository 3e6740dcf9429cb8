//! A small in-process EVM (revm) for the verifiers' tests and gas figures: deploy contracts,
//! call them, read the result and the gas of each transaction.

use revm::context::result::{ExecutionResult, Output};
use revm::context::{ContextTr, TxEnv};
use revm::database::InMemoryDB;
use revm::primitives::{Address, TxKind};
use revm::state::{AccountInfo, Bytecode};
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

    /// Puts `code` at `at` (as if deployed there), e.g. code read from a real chain, so that
    /// a contract deployed next can be checked against it.
    pub fn set_code(&mut self, at: Address, code: &[u8]) {
        let bytecode = Bytecode::new_raw(code.to_vec().into());
        let info = AccountInfo {
            code_hash: bytecode.hash_slow(),
            code: Some(bytecode),
            ..Default::default()
        };
        self.evm.ctx.db_mut().insert_account_info(at, info);
    }

    /// The address the next deployment will get (the sender is the zero address).
    pub fn next_address(&self) -> Address {
        Address::ZERO.create(self.nonce)
    }

    /// The runtime code at `at` (empty for an account without code).
    pub fn code(&mut self, at: Address) -> Vec<u8> {
        self.evm
            .ctx
            .db_mut()
            .cache
            .accounts
            .get(&at)
            .and_then(|a| a.info.code.as_ref())
            .map(|c| c.original_byte_slice().to_vec())
            .unwrap_or_default()
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
