//! snarkml's own verifiers (issue 9): the data-driven `Halo2Verifier` (deployed once) with a
//! per-circuit verifying-key artifact, or the self-contained `Halo2VerifierSingle` of one
//! circuit, both from `contracts/src` and both behind `IVerifier`.
//!
//! - Reusable: the artifact's bytes are stored as the code of a data contract
//!   ([`artifact_initcode`]: `0x00` first, so the data can never run), and a
//!   `Halo2VerifyingKey` binds it to the shared verifier; its `vkHash` is the Keccak hash of
//!   the artifact, which the registry records.
//! - Self-contained: [`single_source`] fills the template with the artifact as a constant and
//!   flattens it with the verifier's core into one Solidity file.

use crate::artifact::VkArtifact;
use crate::{CompiledContract, Result, Solc, VerifierError, MAX_RUNTIME_SIZE};
use halo2_proofs::halo2curves::bn256::Fr;
use sha3::{Digest, Keccak256};

/// The constants the verifier's pieces share.
pub const LAYOUT_SOL: &str = include_str!("../../contracts/src/Halo2VerifierLayout.sol");
/// The verifier's last steps (SHPLONK, the MSM, the pairing).
pub const OPENING_SOL: &str = include_str!("../../contracts/src/Halo2VerifierOpening.sol");
/// The verifier's core (the algorithm over an artifact).
pub const CORE_SOL: &str = include_str!("../../contracts/src/Halo2VerifierCore.sol");
/// The reusable verifier.
pub const REUSABLE_SOL: &str = include_str!("../../contracts/src/Halo2Verifier.sol");
/// One circuit's key bound to the reusable verifier.
pub const KEY_SOL: &str = include_str!("../../contracts/src/Halo2VerifyingKey.sol");
/// The self-contained verifier's template.
pub const SINGLE_TEMPLATE: &str =
    include_str!("../../contracts/src/Halo2VerifierSingle.sol.template");

/// The sources of the reusable verifier and the key binding, as solc reads them.
pub fn reusable_sources() -> [(&'static str, &'static str); 6] {
    [
        ("Halo2VerifierLayout.sol", LAYOUT_SOL),
        ("Halo2VerifierOpening.sol", OPENING_SOL),
        ("Halo2VerifierCore.sol", CORE_SOL),
        ("Halo2Verifier.sol", REUSABLE_SOL),
        ("Halo2VerifyingKey.sol", KEY_SOL),
        ("IVerifier.sol", crate::IVERIFIER_SOL),
    ]
}

/// The shared verifier, compiled (optimizer on: it is hand-written).
pub fn compile_reusable(solc: &Solc) -> Result<CompiledContract> {
    solc.compile_with(
        &reusable_sources(),
        "Halo2Verifier.sol",
        "Halo2Verifier",
        true,
    )
}

/// The key binding, compiled (constructor arguments: the verifier, the artifact's contract).
pub fn compile_key(solc: &Solc) -> Result<CompiledContract> {
    solc.compile_with(
        &reusable_sources(),
        "Halo2VerifyingKey.sol",
        "Halo2VerifyingKey",
        true,
    )
}

/// keccak256 of an artifact's bytes: the verifying-key hash the registry records.
pub fn vk_hash(artifact: &[u8]) -> [u8; 32] {
    Keccak256::digest(artifact).into()
}

/// Init code deploying `artifact` as a data contract (runtime `0x00 ‖ artifact`).
pub fn artifact_initcode(artifact: &[u8]) -> Result<Vec<u8>> {
    let len = artifact.len() + 1;
    if len > MAX_RUNTIME_SIZE {
        return Err(VerifierError::TooLarge {
            what: "verifying-key artifact's data contract",
            bytes: len,
            limit: MAX_RUNTIME_SIZE,
            hint: "",
        });
    }
    let len = (len as u16).to_be_bytes();
    // PUSH2 len, DUP1, PUSH1 12, PUSH1 0, CODECOPY, PUSH1 0, RETURN; then the data.
    let mut code = vec![
        0x61, len[0], len[1], 0x80, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3,
    ];
    code.push(0x00);
    code.extend(artifact);
    Ok(code)
}

/// The self-contained verifier of the circuit `artifact` describes: one Solidity file (the
/// `IVerifier` interface, the core, the contract with the artifact embedded), with the
/// numerator program as straight-line code (`straight`: cheaper to run, larger) or
/// interpreted as the reusable verifier does.
pub fn single_source(artifact: &VkArtifact, straight: bool) -> Result<String> {
    let bytes = artifact.encode()?;
    let program = &artifact.program;
    let mut numerator = String::new();
    for (i, op) in program.ops.iter().enumerate() {
        let [a, b, c] = program.mac(op);
        let out = program.leaves() + i as u32;
        numerator.push_str(&format!(
            "            mstore(add(s, {}), addmod(mulmod(mload(add(s, {})), mload(add(s, {})), r), mload(add(s, {})), r))\n",
            32 * out,
            32 * a,
            32 * b,
            32 * c
        ));
    }
    let bytes = &bytes;
    let strip = |src: &str| {
        src.lines()
            .filter(|l| {
                !l.starts_with("// SPDX") && !l.starts_with("pragma ") && !l.starts_with("import ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (before, rest) = SINGLE_TEMPLATE
        .split_once("{{#STRAIGHT}}\n")
        .expect("the template marks its straight-line part");
    let (part, after) = rest
        .split_once("{{/STRAIGHT}}\n")
        .expect("the template closes its straight-line part");
    let template = if straight {
        format!("{before}{part}{after}")
    } else {
        format!("{before}{after}")
    };
    let contract = template
        .replace("{{VK_HASH}}", &format!("0x{}", hex::encode(vk_hash(bytes))))
        .replace("{{INSTANCES}}", &artifact.instances.to_string())
        .replace("{{ARTIFACT}}", &hex::encode(bytes))
        .replace("{{NUMERATOR}}\n", &numerator);
    Ok(format!(
        "// SPDX-License-Identifier: MIT\n// Generated by snarkml verifier-gen: do not edit.\npragma solidity 0.8.19;\n{}\n{}\n{}\n{}\n{}\n",
        strip(crate::IVERIFIER_SOL),
        strip(LAYOUT_SOL),
        strip(OPENING_SOL),
        strip(CORE_SOL),
        contract
    ))
}

/// The self-contained verifier of `artifact`, compiled: with its numerator as straight-line
/// code when that fits EIP-170's limit, else interpreted; refused when neither fits. Returns
/// the source with the contract.
pub fn compile_single(artifact: &VkArtifact, solc: &Solc) -> Result<(String, CompiledContract)> {
    let mut smallest = 0;
    for straight in [true, false] {
        let source = single_source(artifact, straight)?;
        let compiled = solc.compile_with(
            &[("Halo2VerifierSingle.sol", source.as_str())],
            "Halo2VerifierSingle.sol",
            "Halo2VerifierSingle",
            true,
        )?;
        if compiled.runtime.len() <= MAX_RUNTIME_SIZE {
            return Ok((source, compiled));
        }
        smallest = compiled.runtime.len();
    }
    Err(VerifierError::TooLarge {
        what: "self-contained verifier",
        bytes: smallest,
        limit: MAX_RUNTIME_SIZE,
        hint: "; use the reusable verifier (gen-verifier --reusable)",
    })
}

/// A 32-byte ABI word of a `usize`.
fn word(v: usize) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&(v as u64).to_be_bytes());
    w
}

/// ABI-encodes `(bytes proof, uint256[] instances)` after `head` (static words first).
fn proof_args(head: &[[u8; 32]], proof: &[u8], instances: &[Fr]) -> Vec<u8> {
    let words = head.len() + 2;
    let padded = proof.len().div_ceil(32) * 32;
    let mut out = Vec::new();
    for w in head {
        out.extend(w);
    }
    out.extend(word(32 * words));
    out.extend(word(32 * words + 32 + padded));
    out.extend(word(proof.len()));
    out.extend(proof);
    out.resize(out.len() + padded - proof.len(), 0);
    out.extend(word(instances.len()));
    for i in instances {
        out.extend(crate::encoding::scalar_to_be(i));
    }
    out
}

fn selector(signature: &str) -> [u8; 4] {
    Keccak256::digest(signature.as_bytes())[..4]
        .try_into()
        .expect("4 bytes")
}

/// Calldata of `IVerifier.verifyProof(proof, instances)` (or `check`, with `check`).
pub fn verify_calldata(proof: &[u8], instances: &[Fr], check: bool) -> Vec<u8> {
    let name = if check { "check" } else { "verifyProof" };
    let mut c = selector(&format!("{name}(bytes,uint256[])")).to_vec();
    c.extend(proof_args(&[], proof, instances));
    c
}

/// Calldata of `Halo2Verifier.verifyWith(artifact, proof, instances)`.
pub fn verify_with_calldata(artifact: [u8; 20], proof: &[u8], instances: &[Fr]) -> Vec<u8> {
    let mut c = selector("verifyWith(address,bytes,uint256[])").to_vec();
    let mut a = [0u8; 32];
    a[12..].copy_from_slice(&artifact);
    c.extend(proof_args(&[a], proof, instances));
    c
}

/// Why a proof failed, from the verifier's `check` word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The proof is valid.
    None,
    /// The proof's length (detail: the expected one).
    ProofLength(u64),
    /// The instance count (detail: the expected one).
    Instances(u64),
    /// A scalar not below r (detail: instance index, or proof offset).
    NotCanonical(u64),
    /// A point not on G1 (detail: proof offset).
    NotOnCurve(u64),
    /// A zero denominator.
    Degenerate,
    /// The pairing check.
    Pairing,
    /// A malformed artifact (detail: byte offset).
    Artifact(u64),
    /// A malformed accumulator in the instances (detail: instance index).
    Accumulator(u64),
    /// A code this version does not know.
    Unknown(u8),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => write!(f, "none (the proof is valid)"),
            Self::ProofLength(n) => write!(f, "the proof is not {n} bytes long"),
            Self::Instances(n) => write!(f, "not {n} public instances"),
            Self::NotCanonical(at) => write!(
                f,
                "a scalar at proof byte (or instance) {at} is not below the field's modulus"
            ),
            Self::NotOnCurve(at) => write!(f, "the point at proof byte {at} is not on the curve"),
            Self::Degenerate => write!(f, "the proof's challenges make a denominator zero"),
            Self::Pairing => write!(
                f,
                "the pairing check fails (an invalid proof for these instances)"
            ),
            Self::Artifact(at) => write!(f, "the verifying-key artifact is malformed at byte {at}"),
            Self::Accumulator(at) => write!(
                f,
                "the accumulator in the public instances is malformed at instance {at}"
            ),
            Self::Unknown(code) => write!(f, "unknown failure code {code}"),
        }
    }
}

impl Failure {
    /// Decodes the 32-byte word `check` returns.
    pub fn from_word(w: &[u8]) -> Self {
        let detail = u64::from_be_bytes(w[24..32].try_into().expect("a word"));
        match w[0] {
            0 => Self::None,
            1 => Self::ProofLength(detail),
            2 => Self::Instances(detail),
            3 => Self::NotCanonical(detail),
            4 => Self::NotOnCurve(detail),
            5 => Self::Degenerate,
            6 => Self::Pairing,
            7 => Self::Artifact(detail),
            8 => Self::Accumulator(detail),
            other => Self::Unknown(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evm::Evm;
    use crate::testing::digits_proofs;
    use halo2_proofs::halo2curves::ff::Field;
    use revm::primitives::Address;

    /// A chain with the shared verifier and, per digits proof, its key's artifact and binding.
    struct Deployed {
        evm: Evm,
        verifier: Address,
        keys: Vec<(Address, Address)>,
    }

    fn deploy(solc: &Solc) -> Deployed {
        let mut evm = Evm::default();
        let verifier = evm
            .deploy(compile_reusable(solc).unwrap().initcode)
            .unwrap();
        let key = compile_key(solc).unwrap();
        let keys = digits_proofs()
            .iter()
            .map(|p| {
                let bytes = p.artifact.encode().unwrap();
                evm.deploy_key(&key.initcode, verifier, &bytes).unwrap()
            })
            .collect();
        Deployed {
            evm,
            verifier,
            keys,
        }
    }

    fn verdict(evm: &mut Evm, to: Address, proof: &[u8], instances: &[Fr]) -> (bool, Failure, u64) {
        let called = evm
            .call(to, verify_calldata(proof, instances, false))
            .unwrap();
        let check = evm
            .call(to, verify_calldata(proof, instances, true))
            .unwrap();
        (
            called.output[31] == 1,
            Failure::from_word(&check.output),
            called.gas,
        )
    }

    #[test]
    fn the_reusable_verifier_accepts_real_proofs_and_refuses_every_tampered_one() {
        let solc = crate::find_solc().expect("the pinned solc (scripts/setup)");
        let mut d = deploy(&solc);
        for (p, (data, key)) in digits_proofs().iter().zip(d.keys.clone()) {
            let (ok, why, gas) = verdict(&mut d.evm, key, &p.proof.proof, &p.proof.instances);
            assert_eq!((ok, why), (true, Failure::None), "{}", p.label);
            println!(
                "reusable verifier, {} digits: {gas} gas through its Halo2VerifyingKey; calldata {} bytes",
                p.label,
                verify_calldata(&p.proof.proof, &p.proof.instances, false).len()
            );
            // Called directly with the artifact's address: the same verdict.
            let direct = d
                .evm
                .call(
                    d.verifier,
                    verify_with_calldata(data.into_array(), &p.proof.proof, &p.proof.instances),
                )
                .unwrap();
            assert_eq!(direct.output[31], 1);
            println!("  verifyWith directly: {} gas", direct.gas);
            for (what, bad) in crate::testing::tampered(&p.artifact, &p.proof.proof) {
                let (ok, why, _) = verdict(&mut d.evm, key, &bad, &p.proof.instances);
                assert!(!ok, "{}: {what} accepted", p.label);
                // The Rust reference refuses it for the same reason class.
                let reference = crate::verify::verify(&p.artifact, &p.proof.instances, &bad);
                use crate::verify::VerifyError;
                let same_class = match why {
                    Failure::Pairing => reference == Err(VerifyError::Rejected),
                    Failure::NotCanonical(_) | Failure::NotOnCurve(_) => {
                        matches!(reference, Err(VerifyError::Proof(_)))
                    }
                    Failure::Degenerate => reference == Err(VerifyError::Degenerate),
                    _ => false,
                };
                assert!(
                    same_class,
                    "{}: {what}: EVM {why:?}, reference {reference:?}",
                    p.label
                );
            }
            let mut wrong = p.proof.instances.clone();
            wrong[0] += Fr::ONE;
            let (ok, why, _) = verdict(&mut d.evm, key, &p.proof.proof, &wrong);
            assert_eq!((ok, why), (false, Failure::Pairing));
            let (ok, why, _) = verdict(&mut d.evm, key, &p.proof.proof, &p.proof.instances[1..]);
            assert_eq!(
                (ok, why),
                (false, Failure::Instances(p.proof.instances.len() as u64))
            );
            let (ok, why, _) = verdict(&mut d.evm, key, &p.proof.proof[1..], &p.proof.instances);
            assert_eq!(
                (ok, why),
                (false, Failure::ProofLength(p.proof.proof.len() as u64))
            );
            // Each malformed item is named: a point off the curve, an evaluation past the
            // modulus (by its offset in the proof), an instance past the modulus (by index).
            let mut off = p.proof.proof.clone();
            off[63] ^= 1;
            let (_, why, _) = verdict(&mut d.evm, key, &off, &p.proof.instances);
            assert_eq!(why, Failure::NotOnCurve(0));
            let first_eval = 64 * p.artifact.proof_points();
            let mut big = p.proof.proof.clone();
            big[first_eval] = 0xff;
            let (_, why, _) = verdict(&mut d.evm, key, &big, &p.proof.instances);
            assert_eq!(why, Failure::NotCanonical(first_eval as u64));
            let mut calldata = verify_calldata(&p.proof.proof, &p.proof.instances, true);
            let first_instance = calldata.len() - 32 * p.proof.instances.len();
            calldata[first_instance] = 0xff;
            let why = d.evm.call(key, calldata).unwrap();
            assert_eq!(Failure::from_word(&why.output), Failure::NotCanonical(0));
        }
        // A proof checked against the other circuit's key is refused (its length differs).
        let (ok, _, _) = {
            let p = &digits_proofs()[0];
            verdict(&mut d.evm, d.keys[1].1, &p.proof.proof, &p.proof.instances)
        };
        assert!(!ok);
    }

    #[test]
    fn the_self_contained_verifier_accepts_real_proofs_and_refuses_tampered_ones() {
        let solc = crate::find_solc().expect("the pinned solc (scripts/setup)");
        for p in digits_proofs() {
            let (_, single) = compile_single(&p.artifact, &solc).unwrap();
            assert!(single.runtime.len() <= MAX_RUNTIME_SIZE);
            let mut evm = Evm::default();
            let at = evm.deploy(single.initcode.clone()).unwrap();
            let (ok, why, gas) = verdict(&mut evm, at, &p.proof.proof, &p.proof.instances);
            assert_eq!((ok, why), (true, Failure::None), "{}", p.label);
            println!(
                "self-contained verifier, {} digits: runtime {} bytes, {gas} gas",
                p.label,
                single.runtime.len()
            );
            for (what, bad) in crate::testing::tampered(&p.artifact, &p.proof.proof)
                .into_iter()
                .step_by(7)
            {
                let (ok, _, _) = verdict(&mut evm, at, &bad, &p.proof.instances);
                assert!(!ok, "{}: {what} accepted", p.label);
            }
            // The interpreted form (what a circuit too large for straight-line code gets).
            let source = single_source(&p.artifact, false).unwrap();
            let interpreted = solc
                .compile_with(
                    &[("S.sol", source.as_str())],
                    "S.sol",
                    "Halo2VerifierSingle",
                    true,
                )
                .unwrap();
            let at = evm.deploy(interpreted.initcode).unwrap();
            let (ok, why, gas) = verdict(&mut evm, at, &p.proof.proof, &p.proof.instances);
            assert_eq!((ok, why), (true, Failure::None), "{}", p.label);
            println!(
                "  interpreted: runtime {} bytes, {gas} gas",
                interpreted.runtime.len()
            );
            let mut wrong = p.proof.instances.clone();
            wrong[1] += Fr::ONE;
            let (ok, why, _) = verdict(&mut evm, at, &p.proof.proof, &wrong);
            assert_eq!((ok, why), (false, Failure::Pairing));
        }
    }
}

#[cfg(test)]
mod bad_artifacts {
    use super::*;
    use crate::evm::Evm;
    use crate::testing::digits_proofs;

    fn selector_hex(signature: &str) -> String {
        hex::encode(&Keccak256::digest(signature.as_bytes())[..4])
    }

    #[test]
    fn missing_and_malformed_artifacts_are_refused_with_their_reason() {
        let solc = crate::find_solc().expect("the pinned solc (scripts/setup)");
        let p = &digits_proofs()[0];
        let mut evm = Evm::default();
        let verifier = evm
            .deploy(compile_reusable(&solc).unwrap().initcode)
            .unwrap();
        let key = compile_key(&solc).unwrap();
        let (proof, instances) = (&p.proof.proof, &p.proof.instances);

        // No code at the artifact's address, or code that is not a data contract: the
        // verifier reverts with NoArtifact(address); a key cannot be made over either.
        let nobody = revm::primitives::Address::repeat_byte(0x42);
        let not_data = verifier;
        for at in [nobody, not_data] {
            let e = evm
                .call(
                    verifier,
                    verify_with_calldata(at.into_array(), proof, instances),
                )
                .unwrap_err();
            assert!(
                e.contains(&selector_hex("NoArtifact(address)")),
                "{at}: {e}"
            );
        }
        let mut init = key.initcode.clone();
        for a in [verifier, nobody] {
            init.extend([0u8; 12]);
            init.extend(a.as_slice());
        }
        let e = evm.deploy(init).expect_err("a key over an empty address");
        assert!(
            e.contains(&selector_hex("NotAContract(address)")),
            "a key over an empty address: {e}"
        );

        // A truncated artifact, one of another version and one whose program ends early are
        // each refused as malformed (failure 7), never accepted.
        let bytes = p.artifact.encode().unwrap();
        let mut other_version = bytes.clone();
        other_version[4] = 9;
        let mut short_program = bytes.clone();
        short_program.truncate(bytes.len() - 3);
        short_program.extend([0xff, 0xff]);
        // A two-phase artifact (version 3) claiming no challenges or more than the verifier
        // holds, or more first-phase advice than advice, is malformed too.
        let r = &digits_proofs()[2];
        assert_eq!(r.artifact.challenges, 2, "{}", r.label);
        let two_phase = r.artifact.encode().unwrap();
        let n = two_phase.len();
        let trailer = |at: usize, v: u16| {
            let mut b = two_phase.clone();
            b[at..at + 2].copy_from_slice(&v.to_be_bytes());
            b
        };
        for (what, bad, proof, instances) in [
            (
                "truncated",
                bytes[..bytes.len() / 2].to_vec(),
                proof,
                instances,
            ),
            ("another version", other_version, proof, instances),
            ("a short program", short_program, proof, instances),
            (
                "no challenges",
                trailer(n - 2, 0),
                &r.proof.proof,
                &r.proof.instances,
            ),
            (
                "five challenges",
                trailer(n - 2, 5),
                &r.proof.proof,
                &r.proof.instances,
            ),
            (
                "first phase past the advice",
                trailer(n - 4, r.artifact.advice + 1),
                &r.proof.proof,
                &r.proof.instances,
            ),
        ] {
            let (_, bound) = evm.deploy_key(&key.initcode, verifier, &bad).unwrap();
            let why = evm
                .call(bound, verify_calldata(proof, instances, true))
                .unwrap();
            assert!(
                matches!(Failure::from_word(&why.output), Failure::Artifact(_)),
                "{what}: {:?}",
                Failure::from_word(&why.output)
            );
            let verdict = evm
                .call(bound, verify_calldata(proof, instances, false))
                .unwrap();
            assert_eq!(verdict.output[31], 0, "{what}");
        }
    }
}
