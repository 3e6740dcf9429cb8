//! The reusable verifier's algorithm in Rust, over a [`VkArtifact`] alone: the reference the
//! Solidity `Halo2Verifier` follows step for step, checked against halo2's native verifier.
//!
//! 1. Read the proof through the Keccak transcript ([`crate::transcript`]).
//! 2. One batch inversion: `x − ω^i` for the Lagrange polynomials of the blinding rows and
//!    the instances, `xⁿ − 1`, `x`, and `z′ − x·ω^ρ` for every rotation opened.
//! 3. l₀, l_last, l_active and the instance evaluation; the constraint program computes the
//!    numerator N(x); the quotient's evaluation is `h = N / (xⁿ − 1)`.
//! 4. SHPLONK (BDFG21, as halo2's verifier): per rotation set i with points `x·ω^ρ_j`, the
//!    barycentric weights `b_j = w_j / (x^{|S|−1}·(z′ − x·ω^ρ_j))` (so `Σ b_j = 1/Z_i`), the
//!    normalisation `c_i = Z₀/Z_i`, and per polynomial p at position m the coefficient
//!    `γ′^i·μ^m·c_i` of its commitment and `γ′^i·μ^m·Z₀·Σ_j b_j·e_{p,j}` of the generator.
//! 5. One pairing: `e(Σ coefficients·commitments − g·G₁ − Z₀·W + z′·W′, [1]₂) ·
//!    e(W′, −[s]₂) = 1`.

use crate::artifact::VkArtifact;
use crate::bytecode::{Value, VALUES};
use crate::transcript::{read_proof, ProofError, ReadProof};
use halo2_proofs::halo2curves::bn256::{multi_miller_loop, G2Prepared, Gt, G1};
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_proofs::halo2curves::ff::{BatchInvert, Field};
use halo2_proofs::halo2curves::group::{Curve, Group};
use halo2_proofs::halo2curves::pairing::MillerLoopResult;

/// Why a proof is not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The proof cannot be read (length, encoding, instance count).
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// x or z′ hit a point where a denominator vanishes (a proof made to break the verifier).
    #[error("the proof's challenges make a denominator zero")]
    Degenerate,
    /// The accumulator in the instances is not a pair of points (limb `0` out of range, or a
    /// point off the curve).
    #[error("the accumulator in the public instances is malformed at instance {0}")]
    Accumulator(usize),
    /// The final pairing check fails: the proof is not valid for these instances and key.
    #[error("the proof is invalid: the pairing check fails")]
    Rejected,
}

/// Checks `proof` against `instances` for the key `artifact` describes.
pub fn verify(artifact: &VkArtifact, instances: &[Fr], proof: &[u8]) -> Result<(), VerifyError> {
    let (lhs, rhs) = accumulate(artifact, instances, proof)?;
    let g2 = G2Prepared::from(artifact.g2);
    let neg_s_g2 = G2Prepared::from(artifact.neg_s_g2);
    let paired = multi_miller_loop(&[(&lhs, &g2), (&rhs, &neg_s_g2)]);
    if paired.final_exponentiation() == Gt::identity() {
        Ok(())
    } else {
        Err(VerifyError::Rejected)
    }
}

/// Steps 1–4: the two points the pairing compares, paired with `[1]₂` and `−[s]₂`.
fn accumulate(
    a: &VkArtifact,
    instances: &[Fr],
    proof: &[u8],
) -> Result<(G1Affine, G1Affine), VerifyError> {
    let p = read_proof(a, instances, proof)?;
    let (mu, gamma_prime, w, z_prime, w_prime) = p.shplonk;
    let x = p.x;
    let n = 1u64 << a.k;
    let xn = x.pow_vartime([n]);

    // The Lagrange rows: last = −(b+1) up to the last instance row (at least row 0).
    let last = -(i64::from(a.blinding_factors) + 1);
    let top = i64::from(a.instances.max(1)) - 1;
    let rows = (top - last + 1) as usize;
    let mut omega_i = Vec::with_capacity(rows);
    let mut w_i = a.omega_inv.pow_vartime([(-last) as u64]);
    for _ in 0..rows {
        omega_i.push(w_i);
        w_i *= a.omega;
    }
    // One batch inversion: x − ω^i, xⁿ − 1, x, z′ − x·ω^ρ.
    let mut inverses: Vec<Fr> = omega_i.iter().map(|w| x - w).collect();
    inverses.extend([xn - Fr::ONE, x]);
    inverses.extend(a.rotations.iter().map(|r| z_prime - x * r));
    if inverses.iter().any(|d| d.is_zero_vartime()) {
        return Err(VerifyError::Degenerate);
    }
    inverses.batch_invert();
    let (lagrange_inv, rest) = inverses.split_at(rows);
    let (vanishing_inv, x_inv, point_inv) = (rest[0], rest[1], &rest[2..]);

    let n_inv = Fr::from(n).invert().expect("n is not zero");
    let common = (xn - Fr::ONE) * n_inv;
    let lagrange: Vec<Fr> = omega_i
        .iter()
        .zip(lagrange_inv)
        .map(|(w, inv)| common * w * inv)
        .collect();
    let at = |i: i64| lagrange[(i - last) as usize];
    let l_blind: Fr = (last + 1..0).map(at).sum();
    let instance = instances
        .iter()
        .enumerate()
        .map(|(j, v)| *v * at(j as i64))
        .sum::<Fr>();

    // The numerator, then h(x).
    let mut inputs = p.evaluations.clone();
    if a.program.instances == 1 {
        inputs.push(instance);
    }
    let values: [Fr; VALUES] = [
        p.theta,
        p.beta,
        p.gamma,
        p.y,
        x,
        at(0),
        at(last),
        Fr::ONE - at(last) - l_blind,
        Fr::ZERO,
    ];
    inputs.extend(values);
    let h_slot = inputs.len() - VALUES + Value::H as usize;
    inputs.extend(&p.challenges);
    let numerator = a.program.eval(&inputs)[0];
    inputs[h_slot] = numerator * vanishing_inv;

    // SHPLONK.
    let points = proof_points(&p);
    let codes = points.len() + a.fixed_commitments.len() + a.permutation_commitments.len();
    // One more code than commitments: the quotient.
    let mut scalars = vec![Fr::ZERO; codes + 1];
    let z0: Fr = a.sets[0]
        .points
        .iter()
        .map(|j| z_prime - x * a.rotations[usize::from(*j)])
        .product();
    let (mut g, mut gamma_i) = (Fr::ZERO, Fr::ONE);
    for set in &a.sets {
        let d: Vec<Fr> = set
            .points
            .iter()
            .map(|j| point_inv[usize::from(*j)])
            .collect();
        let c = z0 * d.iter().product::<Fr>();
        let x_pow = x_inv.pow_vartime([set.points.len() as u64 - 1]);
        let b: Vec<Fr> = set
            .weights
            .iter()
            .zip(&d)
            .map(|(w, d)| *w * x_pow * d)
            .collect();
        let mut mu_m = Fr::ONE;
        for (code, slots) in &set.polys {
            let s = gamma_i * mu_m;
            scalars[usize::from(*code)] += s * c;
            let r: Fr = b
                .iter()
                .zip(slots)
                .map(|(b, slot)| *b * inputs[usize::from(*slot)])
                .sum();
            g += s * z0 * r;
            mu_m *= mu;
        }
        gamma_i *= gamma_prime;
    }
    let mut lhs = G1::identity();
    let commitments = points
        .iter()
        .chain(&a.fixed_commitments)
        .chain(&a.permutation_commitments);
    for (s, c) in scalars.iter().zip(commitments) {
        lhs += *c * s;
    }
    let mut xn_t = scalars[codes];
    for h in &p.quotient {
        lhs += *h * xn_t;
        xn_t *= xn;
    }
    lhs += G1::generator() * -g;
    lhs += w * -z0;
    lhs += w_prime * z_prime;
    match a.accumulator {
        None => Ok((lhs.to_affine(), w_prime)),
        Some(at) => fold(lhs.to_affine(), w_prime, instances, usize::from(at)),
    }
}

/// Folds the accumulator in `instances[at..at + 12]` into this proof's (snark-verifier's
/// decider): `t = keccak(lhs₀ ‖ rhs₀ ‖ lhs₁ ‖ rhs₁) mod r`, then `lhs₀ + t·lhs₁` and
/// `rhs₀ + t·rhs₁`.
fn fold(
    lhs: G1Affine,
    rhs: G1Affine,
    instances: &[Fr],
    at: usize,
) -> Result<(G1Affine, G1Affine), VerifyError> {
    use crate::artifact::LIMB_BITS;
    use crate::encoding::{point_from_be, point_to_be, scalar_to_be};
    use sha3::{Digest, Keccak256};
    let limbs = &instances[at..at + crate::artifact::ACCUMULATOR_LIMBS];
    let mut coordinates = Vec::new();
    for (c, three) in limbs.chunks(3).enumerate() {
        // Σ limb_j·2^(88j) as 32 big-endian bytes; each limb below 2^88, the last below 2^80
        // (what fits in 256 bits).
        let mut value = [0u8; 32];
        for (j, limb) in three.iter().enumerate() {
            let be = scalar_to_be(limb);
            let shift = j * LIMB_BITS / 8;
            let width = (LIMB_BITS / 8).min(32 - shift);
            if be[..32 - width].iter().any(|b| *b != 0) {
                return Err(VerifyError::Accumulator(at + 3 * c + j));
            }
            value[32 - shift - width..32 - shift].copy_from_slice(&be[32 - width..]);
        }
        coordinates.extend(value);
    }
    let old = |i: usize| {
        point_from_be(&coordinates[64 * i..64 * i + 64]).ok_or(VerifyError::Accumulator(at + 6 * i))
    };
    let (old_lhs, old_rhs) = (old(0)?, old(1)?);
    let mut buf = Vec::new();
    for p in [lhs, rhs, old_lhs, old_rhs] {
        buf.extend(point_to_be(&p));
    }
    let hash: [u8; 32] = Keccak256::digest(&buf).into();
    let t = crate::transcript::reduce(&hash);
    Ok((
        (lhs + old_lhs * t).to_affine(),
        (rhs + old_rhs * t).to_affine(),
    ))
}

/// The proof's commitments in read order (the plan's first codes).
fn proof_points(p: &ReadProof) -> Vec<G1Affine> {
    let mut v = p.advice.clone();
    v.extend(p.permuted.iter().flat_map(|(a, s)| [*a, *s]));
    v.extend(&p.permutation_z);
    v.extend(&p.lookup_z);
    v.push(p.random);
    v.extend(&p.quotient);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{digits_proofs, Proven};
    use halo2_proofs::halo2curves::ff::Field;

    #[test]
    fn real_proofs_are_accepted_as_halo2_accepts_them() {
        for Proven {
            label,
            srs,
            pk,
            proof,
            artifact,
        } in digits_proofs()
        {
            snarkml_circuits::prover::verify(
                &srs.params,
                pk.get_vk(),
                &proof.instances,
                &proof.proof,
            )
            .unwrap();
            verify(artifact, &proof.instances, &proof.proof)
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            // The artifact's bytes verify the same.
            let decoded = VkArtifact::decode(&artifact.encode().unwrap()).unwrap();
            verify(&decoded, &proof.instances, &proof.proof).unwrap();
        }
    }

    #[test]
    fn every_tampered_section_a_wrong_instance_and_another_key_are_refused() {
        for Proven {
            label,
            srs,
            pk,
            proof,
            artifact,
        } in digits_proofs()
        {
            let native = |instances: &[Fr], bytes: &[u8]| {
                snarkml_circuits::prover::verify(&srs.params, pk.get_vk(), instances, bytes).is_ok()
            };
            // Each item of each section replaced by another valid encoding (only the algebra
            // can catch it) or with a byte flipped.
            for (what, bad) in crate::testing::tampered(artifact, &proof.proof) {
                let ours = verify(artifact, &proof.instances, &bad);
                if what.ends_with("changed") {
                    assert_eq!(ours, Err(VerifyError::Rejected), "{label}: {what}");
                } else {
                    // A flipped byte: unreadable (off the curve, past the modulus) or wrong.
                    assert!(
                        matches!(ours, Err(VerifyError::Proof(_) | VerifyError::Rejected)),
                        "{label}: {what}: {ours:?}"
                    );
                }
                assert!(!native(&proof.instances, &bad), "{label}: {what}");
            }
            let mut wrong = proof.instances.clone();
            wrong[0] += Fr::ONE;
            assert_eq!(
                verify(artifact, &wrong, &proof.proof),
                Err(VerifyError::Rejected)
            );
            assert!(matches!(
                verify(artifact, &proof.instances[1..], &proof.proof),
                Err(VerifyError::Proof(ProofError::Instances { .. }))
            ));
        }
    }

    #[test]
    fn a_proof_for_another_key_of_the_same_shape_is_refused() {
        // The same circuit keyed on another SRS: every count agrees, the commitments do not.
        let Proven { proof, .. } = &digits_proofs()[0];
        let (vk, _, instances) = crate::testing::vk_of(crate::testing::DIGITS, &Default::default());
        let other = snarkml_circuits::srs::Srs::generate_insecure(vk.get_domain().k(), 99).unwrap();
        let (m, _, _) = crate::testing::compiled(crate::testing::DIGITS, &Default::default());
        let other_vk = snarkml_circuits::prover::keygen(&other.params, &m).unwrap();
        let a = VkArtifact::from_vk(&other.params, other_vk.get_vk(), instances).unwrap();
        assert_eq!(a.proof_len(), proof.proof.len());
        assert_eq!(
            verify(&a, &proof.instances, &proof.proof),
            Err(VerifyError::Rejected)
        );
    }
}
