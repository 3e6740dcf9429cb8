//! Reading a proof as the reusable verifier will (issue 9): the Keccak transcript of
//! snark-verifier's EVM verifiers (`docs/verifier-gen/evm-verifier.md` §1.3) and halo2's read
//! order (§1.4), driven only by a [`VkArtifact`]'s counts. This is the reference the Solidity
//! verifier must agree with; the tests check it against snark-verifier's own reader.

use crate::artifact::VkArtifact;
use crate::encoding::{point_from_be, scalar_from_be, scalar_to_be};
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_proofs::halo2curves::ff::PrimeField;
use sha3::{Digest, Keccak256};

/// Why a proof cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// Not the length the key's proofs have.
    #[error("the proof is {got} bytes; proofs for this key are {expected}")]
    Length {
        /// What the artifact predicts.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// A scalar that is not below the field's modulus.
    #[error("the proof's scalar at byte {0} is not canonical")]
    Scalar(usize),
    /// A point that is not on the curve.
    #[error("the proof's point at byte {0} is not on the curve")]
    Point(usize),
    /// Not as many public instances as the key's proofs have.
    #[error("{got} public instances; proofs for this key have {expected}")]
    Instances {
        /// What the artifact says.
        expected: usize,
        /// What was given.
        got: usize,
    },
}

/// A proof's contents, in read order, with the challenges derived from them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadProof {
    /// Advice commitments.
    pub advice: Vec<G1Affine>,
    /// The circuit's challenges (multi-phase circuits).
    pub challenges: Vec<Fr>,
    /// θ, compressing lookup expressions.
    pub theta: Fr,
    /// Per lookup: the permuted input and table commitments.
    pub permuted: Vec<(G1Affine, G1Affine)>,
    /// β and γ of the permutation and lookup arguments.
    pub beta: Fr,
    /// γ.
    pub gamma: Fr,
    /// The permutation's z commitments, one per chunk.
    pub permutation_z: Vec<G1Affine>,
    /// Each lookup's z commitment.
    pub lookup_z: Vec<G1Affine>,
    /// The vanishing argument's random polynomial.
    pub random: G1Affine,
    /// y, combining the constraints (snark-verifier's α).
    pub y: Fr,
    /// The quotient pieces.
    pub quotient: Vec<G1Affine>,
    /// x, the evaluation point (snark-verifier's z).
    pub x: Fr,
    /// Every evaluation, in proof order.
    pub evaluations: Vec<Fr>,
    /// SHPLONK: μ, γ′, W, z′, W′.
    pub shplonk: (Fr, Fr, G1Affine, Fr, G1Affine),
}

/// The Keccak transcript over a proof's bytes.
struct Transcript<'p> {
    proof: &'p [u8],
    at: usize,
    buf: Vec<u8>,
}

impl Transcript<'_> {
    fn absorb_scalar(&mut self, f: &Fr) {
        self.buf.extend(scalar_to_be(f));
    }

    fn squeeze(&mut self) -> Fr {
        if self.buf.len() == 32 {
            self.buf.push(1);
        }
        let hash: [u8; 32] = Keccak256::digest(&self.buf).into();
        self.buf = hash.to_vec();
        reduce(&hash)
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let s = &self.proof[self.at..self.at + n];
        self.at += n;
        s
    }

    fn scalar(&mut self) -> Result<Fr, ProofError> {
        let at = self.at;
        let f = scalar_from_be(self.take(32)).ok_or(ProofError::Scalar(at))?;
        self.absorb_scalar(&f);
        Ok(f)
    }

    fn point(&mut self) -> Result<G1Affine, ProofError> {
        let at = self.at;
        let p = point_from_be(self.take(64)).ok_or(ProofError::Point(at))?;
        self.buf.extend_from_slice(&self.proof[at..at + 64]);
        Ok(p)
    }

    fn points(&mut self, n: usize) -> Result<Vec<G1Affine>, ProofError> {
        (0..n).map(|_| self.point()).collect()
    }
}

/// A 256-bit big-endian value reduced modulo r (as two 128-bit halves).
pub(crate) fn reduce(hash: &[u8; 32]) -> Fr {
    let (hi, lo) = hash.split_at(16);
    let half = |b: &[u8]| {
        let mut le = [0u8; 32];
        for (i, v) in b.iter().rev().enumerate() {
            le[i] = *v;
        }
        Fr::from_repr(le).expect("128-bit values are canonical")
    };
    half(hi) * Fr::from_u128(1u128 << 64).square() + half(lo)
}

/// Reads `proof` for the key `artifact` describes, with its public `instances`.
pub fn read_proof(
    artifact: &VkArtifact,
    instances: &[Fr],
    proof: &[u8],
) -> Result<ReadProof, ProofError> {
    if instances.len() != usize::from(artifact.instances) {
        return Err(ProofError::Instances {
            expected: usize::from(artifact.instances),
            got: instances.len(),
        });
    }
    let expected = artifact.proof_len();
    if proof.len() != expected {
        return Err(ProofError::Length {
            expected,
            got: proof.len(),
        });
    }
    let mut t = Transcript {
        proof,
        at: 0,
        buf: Vec::new(),
    };
    t.absorb_scalar(&artifact.transcript_repr);
    for i in instances {
        t.absorb_scalar(i);
    }
    let lookups = usize::from(artifact.lookups);
    let z = usize::from(artifact.permutation_sets);
    // The first phase's advice, the challenges, the second phase's advice, then θ.
    let mut advice = t.points(usize::from(artifact.first_phase_advice))?;
    let challenges: Vec<Fr> = (0..artifact.challenges).map(|_| t.squeeze()).collect();
    advice.extend(t.points(usize::from(artifact.advice - artifact.first_phase_advice))?);
    let theta = t.squeeze();
    let permuted = (0..lookups)
        .map(|_| Ok((t.point()?, t.point()?)))
        .collect::<Result<_, ProofError>>()?;
    let (beta, gamma) = (t.squeeze(), t.squeeze());
    let permutation_z = t.points(z)?;
    let lookup_z = t.points(lookups)?;
    let random = t.point()?;
    let y = t.squeeze();
    let quotient = t.points(usize::from(artifact.quotient_pieces))?;
    let x = t.squeeze();
    let evaluations = (0..(expected - t.at - 2 * 64) / 32)
        .map(|_| t.scalar())
        .collect::<Result<_, ProofError>>()?;
    let (mu, gamma_shplonk) = (t.squeeze(), t.squeeze());
    let w = t.point()?;
    let z_prime = t.squeeze();
    let w_prime = t.point()?;
    debug_assert_eq!(t.at, proof.len());
    Ok(ReadProof {
        advice,
        challenges,
        theta,
        permuted,
        beta,
        gamma,
        permutation_z,
        lookup_z,
        random,
        y,
        quotient,
        x,
        evaluations,
        shplonk: (mu, gamma_shplonk, w, z_prime, w_prime),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{digits_proofs, Proven};
    use halo2_proofs::poly::commitment::ParamsProver;
    use snark_verifier_sdk::snark_verifier::loader::native::NativeLoader;
    use snark_verifier_sdk::snark_verifier::system::halo2::transcript::evm::EvmTranscript;
    use snark_verifier_sdk::snark_verifier::system::halo2::{compile as compile_protocol, Config};
    use snark_verifier_sdk::snark_verifier::verifier::SnarkVerifier;
    use snark_verifier_sdk::{PlonkVerifier, SHPLONK};

    #[test]
    fn our_reader_reads_what_snark_verifier_reads() {
        for Proven {
            label,
            srs,
            pk,
            proof,
            artifact,
        } in digits_proofs()
        {
            let ours = read_proof(artifact, &proof.instances, &proof.proof).unwrap();

            // snark-verifier's reader over the same bytes.
            let protocol = compile_protocol(
                &srs.params,
                pk.get_vk(),
                Config::kzg().with_num_instance(vec![proof.instances.len()]),
            );
            let dk: snark_verifier_sdk::snark_verifier::pcs::kzg::KzgDecidingKey<
                snarkml_circuits::Bn256,
            > = (srs.params.get_g()[0], srs.params.g2(), srs.params.s_g2()).into();
            let mut transcript = EvmTranscript::<G1Affine, NativeLoader, _, _>::new(
                std::io::Cursor::new(proof.proof.clone()),
            );
            let theirs = PlonkVerifier::<SHPLONK>::read_proof(
                &dk,
                &protocol,
                std::slice::from_ref(&proof.instances),
                &mut transcript,
            )
            .unwrap();
            let mut witnesses = ours.advice.clone();
            witnesses.extend(ours.permuted.iter().flat_map(|(a, s)| [*a, *s]));
            witnesses.extend(&ours.permutation_z);
            witnesses.extend(&ours.lookup_z);
            witnesses.push(ours.random);
            assert_eq!(theirs.witnesses, witnesses, "{label}");
            // The circuit's own challenges (a second phase) come first, as squeezed.
            let mut challenges = ours.challenges.clone();
            challenges.extend([ours.theta, ours.beta, ours.gamma, ours.y]);
            assert_eq!(theirs.challenges, challenges, "{label}");
            assert_eq!(theirs.quotients, ours.quotient);
            assert_eq!(theirs.z, ours.x);
            assert_eq!(theirs.evaluations, ours.evaluations);
            // Both consumed every byte (SHPLONK's points last).
            assert_eq!(transcript.finalize().position() as usize, proof.proof.len());

            // A proof one byte short, a flipped scalar past the modulus, a point off the curve.
            assert!(matches!(
                read_proof(artifact, &proof.instances, &proof.proof[1..]),
                Err(ProofError::Length { .. })
            ));
            let first_eval = 64
                * (ours.advice.len()
                    + 2 * ours.permuted.len()
                    + ours.permutation_z.len()
                    + ours.lookup_z.len()
                    + 1
                    + ours.quotient.len());
            let mut big = proof.proof.clone();
            big[first_eval] = 0xff;
            assert_eq!(
                read_proof(artifact, &proof.instances, &big),
                Err(ProofError::Scalar(first_eval))
            );
            let mut off = proof.proof.clone();
            off[63] ^= 1;
            assert_eq!(
                read_proof(artifact, &proof.instances, &off),
                Err(ProofError::Point(0))
            );
        }
    }
}
