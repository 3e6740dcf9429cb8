//! Is a deployed verifier exactly the one a build generates? The init code of each verifier
//! form's `IVerifier` front with its constructor arguments, the runtime code init code leaves
//! behind (run in an in-process EVM, so immutables are filled exactly as on a chain), and the
//! byte-for-byte comparison of a deployed verifier — its front and the contracts that front
//! calls — with what the artifacts deploy. Clients run it before money moves: a registry
//! records what a verifier says of itself, and any contract can say anything.

use crate::{evm, Result, VerifierArtifacts, VerifierError, VerifierForm};
use revm::primitives::Address;
use sha3::{Digest, Keccak256};

/// The init code of the `IVerifier` front of `artifacts` with its constructor arguments: for
/// snark-verifier's adapter `linked = [raw verifier]` (then the instance count and the proof
/// length), for the reusable form's key `linked = [shared verifier, artifact data contract]`.
pub fn front_initcode(artifacts: &VerifierArtifacts, linked: &[Address]) -> Result<Vec<u8>> {
    let mut code = hex::decode(&artifacts.adapter_initcode)?;
    for a in linked {
        code.extend([0u8; 12]);
        code.extend(a.as_slice());
    }
    if artifacts.form == VerifierForm::SnarkVerifier {
        let len = artifacts
            .proof_len
            .ok_or(VerifierError::Incomplete("proof length"))?;
        for word in [artifacts.num_instances, len] {
            code.extend([0u8; 24]);
            code.extend((word as u64).to_be_bytes());
        }
    }
    Ok(code)
}

/// The runtime code `initcode` leaves behind, deployed in a fresh in-process EVM where each of
/// `accounts` already holds its code (the contracts a constructor reads).
pub fn runtime_code(initcode: &[u8], accounts: &[(Address, &[u8])]) -> Result<Vec<u8>> {
    let mut chain = evm::Evm::default();
    for (at, code) in accounts {
        chain.set_code(*at, code);
    }
    // Addresses here are a real chain's: step past any the deployment would collide with.
    while accounts.iter().any(|(at, _)| *at == chain.next_address()) {
        // A plain transfer of nothing: it only spends a nonce.
        chain
            .call(Address::ZERO, Vec::new())
            .map_err(VerifierError::Evm)?;
    }
    let at = chain
        .deploy(initcode.to_vec())
        .map_err(VerifierError::Evm)?;
    Ok(chain.code(at))
}

/// Checks that a deployed verifier is exactly the one `artifacts` deploy: `front` is the code
/// at the `IVerifier` address, and `linked` the addresses and codes of the contracts that
/// front names (snark-verifier's adapter: its raw verifier; the reusable form's key: the shared
/// `Halo2Verifier` and the artifact's data contract; the self-contained form: none). Every
/// code is compared byte for byte with what these artifacts deploy with those links (the
/// fronts' immutables included). Returns the verifying-key hash the front enforces (its
/// `vkHash()`).
pub fn check_deployed(
    artifacts: &VerifierArtifacts,
    front: &[u8],
    linked: &[(Address, &[u8])],
) -> Result<[u8; 32]> {
    let decode = |h: &str| hex::decode(h).map_err(VerifierError::InitCode);
    let verifier = runtime_code(&decode(&artifacts.verifier_initcode)?, &[])?;
    let same = |got: &[u8], want: &[u8], what| {
        if got == want {
            Ok(())
        } else {
            Err(VerifierError::CodeDiffers(what))
        }
    };
    let addresses: Vec<Address> = linked.iter().map(|(a, _)| *a).collect();
    match (artifacts.form, linked) {
        (VerifierForm::SelfContained, []) => {
            same(front, &verifier, "verifier")?;
        }
        (VerifierForm::Reusable, [(_, shared), (_, data)]) => {
            same(shared, &verifier, "shared Halo2Verifier")?;
            let bytes = decode(artifacts.vk_artifact.as_deref().unwrap_or_default())?;
            let mut want = vec![0u8];
            want.extend(&bytes);
            same(data, &want, "verifying-key artifact")?;
            let key = runtime_code(&front_initcode(artifacts, &addresses)?, linked)?;
            same(front, &key, "Halo2VerifyingKey")?;
        }
        (VerifierForm::SnarkVerifier, [(_, raw)]) => {
            same(raw, &verifier, "snark-verifier verifier")?;
            let adapter = runtime_code(&front_initcode(artifacts, &addresses)?, linked)?;
            same(front, &adapter, "IVerifier adapter")?;
            // Its code embeds the key: its code hash names it (the adapter's `vkHash`).
            return Ok(Keccak256::digest(raw).into());
        }
        _ => return Err(VerifierError::CodeDiffers("verifier")),
    }
    let hash = artifacts
        .vk_artifact_hash
        .as_deref()
        .and_then(|h| hex::decode(h).ok())
        .and_then(|h| <[u8; 32]>::try_from(h).ok())
        .ok_or(VerifierError::Incomplete("verifying-key hash"))?;
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evm::Evm;
    use crate::reusable::verify_calldata;
    use crate::testing::digits_proofs;
    use crate::CircuitKind;
    use snarkml_circuits::Fr;

    /// Deploys `artifacts` in `evm` as `snarkml deploy` does: the front's address and what it
    /// links to.
    fn deploy(evm: &mut Evm, a: &VerifierArtifacts) -> (Address, Vec<Address>) {
        let verifier = evm
            .deploy(hex::decode(&a.verifier_initcode).unwrap())
            .unwrap();
        match a.form {
            VerifierForm::SelfContained => (verifier, vec![]),
            VerifierForm::SnarkVerifier => {
                let front = evm.deploy(front_initcode(a, &[verifier]).unwrap()).unwrap();
                (front, vec![verifier])
            }
            VerifierForm::Reusable => {
                let bytes = hex::decode(a.vk_artifact.as_deref().unwrap()).unwrap();
                let key = hex::decode(&a.adapter_initcode).unwrap();
                let (data, front) = evm.deploy_key(&key, verifier, &bytes).unwrap();
                (front, vec![verifier, data])
            }
        }
    }

    /// The 32-byte word a getter of `front` returns.
    fn getter(evm: &mut Evm, front: Address, signature: &str) -> Vec<u8> {
        let selector = Keccak256::digest(signature.as_bytes())[..4].to_vec();
        evm.call(front, selector).unwrap().output
    }

    #[test]
    fn every_form_is_recognised_exactly_and_any_other_code_is_named() {
        let solc = crate::find_solc().expect("the pinned solc (scripts/setup)");
        let p = &digits_proofs()[0];
        let (proof, instances) = (&p.proof.proof, &p.proof.instances);
        let n = instances.len();
        let mut fronts = Vec::new();
        for form in [
            VerifierForm::SelfContained,
            VerifierForm::Reusable,
            VerifierForm::SnarkVerifier,
        ] {
            let a = crate::build(
                &p.srs.params,
                &p.srs.id(),
                p.pk.get_vk(),
                n,
                CircuitKind::Model,
                form,
                &solc,
            )
            .unwrap();
            assert_eq!(a.proof_len, Some(proof.len()), "{form:?}");
            let mut evm = Evm::default();
            let (front, links) = deploy(&mut evm, &a);
            let code = evm.code(front);
            let linked: Vec<(Address, Vec<u8>)> =
                links.iter().map(|l| (*l, evm.code(*l))).collect();
            let borrowed: Vec<(Address, &[u8])> =
                linked.iter().map(|(a, c)| (*a, c.as_slice())).collect();
            let hash = check_deployed(&a, &code, &borrowed).unwrap();

            // The front says the same of itself: vkHash() and instanceCount().
            assert_eq!(
                getter(&mut evm, front, "vkHash()"),
                hash.to_vec(),
                "{form:?}"
            );
            let count = getter(&mut evm, front, "instanceCount()");
            assert_eq!(count[24..], (n as u64).to_be_bytes(), "{form:?}");
            if form == VerifierForm::SnarkVerifier {
                assert_eq!(hash, <[u8; 32]>::from(Keccak256::digest(&linked[0].1)));
            } else {
                assert_eq!(Some(hex::encode(hash)), a.vk_artifact_hash, "{form:?}");
            }

            // Every form refuses an appended instance and an appended proof byte (the adapter
            // by its own checks: snark-verifier's code reads fixed offsets).
            let accepts = |evm: &mut Evm, proof: &[u8], inst: &[Fr]| {
                evm.call(front, verify_calldata(proof, inst, false))
                    .map(|c| c.output.get(31) == Some(&1))
                    .unwrap_or(false)
            };
            assert!(accepts(&mut evm, proof, instances), "{form:?}");
            let mut more = instances.clone();
            more.push(Fr::from(1));
            assert!(
                !accepts(&mut evm, proof, &more),
                "{form:?}: appended instance"
            );
            let mut longer = proof.clone();
            longer.push(0);
            assert!(
                !accepts(&mut evm, &longer, instances),
                "{form:?}: longer proof"
            );
            assert!(
                !accepts(&mut evm, &proof[..proof.len() - 1], instances),
                "{form:?}: shorter proof"
            );

            // Another contract in any place is named.
            for i in 0..borrowed.len() {
                let mut other = borrowed.clone();
                let bogus = vec![0xfe; other[i].1.len()];
                other[i].1 = &bogus;
                let e = check_deployed(&a, &code, &other).unwrap_err();
                assert!(
                    matches!(e, VerifierError::CodeDiffers(_)),
                    "{form:?} link {i}: {e}"
                );
            }
            let mut other_front = code.clone();
            let last = other_front.len() - 1;
            other_front[last] ^= 1;
            let e = check_deployed(&a, &other_front, &borrowed).unwrap_err();
            assert!(matches!(e, VerifierError::CodeDiffers(_)), "{form:?}: {e}");
            fronts.push((a, code, linked));
        }
        // One form's deployment is not another's.
        let (self_contained, code, _) = &fronts[0];
        let (_, reusable_front, reusable_links) = &fronts[1];
        let links: Vec<(Address, &[u8])> = reusable_links
            .iter()
            .map(|(a, c)| (*a, c.as_slice()))
            .collect();
        assert!(matches!(
            check_deployed(self_contained, reusable_front, &[]),
            Err(VerifierError::CodeDiffers("verifier"))
        ));
        assert!(matches!(
            check_deployed(self_contained, code, &links),
            Err(VerifierError::CodeDiffers("verifier"))
        ));
    }
}
