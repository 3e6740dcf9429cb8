//! snarkml's Poseidon in-circuit, on halo2-base's gate: the permutation, the hash of
//! [`crate::poseidon::hash`] (so a commitment opens to the same value natively, in the model
//! circuit and here), and the duplex cipher of [`crate::cipher::encrypt`].

use super::grumpkin::AssignedPoint;
use crate::poseidon::{self, T};
use crate::Fr;
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::{GateChip, GateInstructions};
use snark_verifier_sdk::snark_verifier::halo2_base::QuantumCell::Constant;
use snark_verifier_sdk::snark_verifier::halo2_base::{AssignedValue, Context};

type State = [AssignedValue<Fr>; T];

fn sbox(gate: &GateChip<Fr>, ctx: &mut Context<Fr>, x: AssignedValue<Fr>) -> AssignedValue<Fr> {
    let x2 = gate.mul(ctx, x, x);
    let x4 = gate.mul(ctx, x2, x2);
    gate.mul(ctx, x4, x)
}

/// The Poseidon permutation of [`poseidon::permute`].
pub fn permute(gate: &GateChip<Fr>, ctx: &mut Context<Fr>, state: &mut State) {
    let c = poseidon::constants();
    for r in 0..poseidon::ROUNDS {
        let rc = c.round_constants[r];
        let full = poseidon::is_full_round(r);
        // x = S-box(s + c) where the round S-boxes, else s (its constant folded below).
        let mut x = *state;
        let mut folded = [Fr::ZERO; T];
        for j in 0..T {
            if full || j == 0 {
                let t = gate.add(ctx, state[j], Constant(rc[j]));
                x[j] = sbox(gate, ctx, t);
            } else {
                for (i, row) in c.mds.iter().enumerate() {
                    folded[i] += row[j] * rc[j];
                }
            }
        }
        for (i, row) in c.mds.iter().enumerate() {
            let sum = gate.inner_product(ctx, x, row.iter().map(|m| Constant(*m)));
            state[i] = gate.add(ctx, sum, Constant(folded[i]));
        }
    }
}

/// The hash of [`poseidon::hash`]: state `[len, 0, 0]`, pairs added to `s1, s2`, each followed
/// by a permutation; the digest is `s1`.
pub fn hash(
    gate: &GateChip<Fr>,
    ctx: &mut Context<Fr>,
    message: &[AssignedValue<Fr>],
) -> AssignedValue<Fr> {
    let mut state = poseidon::initial_state(message.len()).map(|v| ctx.load_constant(v));
    if message.is_empty() {
        permute(gate, ctx, &mut state);
    }
    for pair in message.chunks(poseidon::RATE) {
        for (j, m) in pair.iter().enumerate() {
            state[1 + j] = gate.add(ctx, state[1 + j], *m);
        }
        permute(gate, ctx, &mut state);
    }
    state[1]
}

/// The ciphertext of [`crate::cipher::encrypt`] of `message` under the shared point `key`
/// with `nonce`: `2·⌈len/2⌉` blocks, then the tag.
pub fn encrypt(
    gate: &GateChip<Fr>,
    ctx: &mut Context<Fr>,
    message: &[AssignedValue<Fr>],
    key: &AssignedPoint,
    nonce: AssignedValue<Fr>,
) -> Vec<AssignedValue<Fr>> {
    let domain = Fr::from(message.len() as u64) * Fr::from_u128(1u128 << 64).square();
    let mut state = [gate.add(ctx, nonce, Constant(domain)), key.x, key.y];
    let mut out = Vec::with_capacity(message.len().div_ceil(2) * 2 + 1);
    for pair in message.chunks(2) {
        permute(gate, ctx, &mut state);
        for (j, m) in pair.iter().enumerate() {
            state[1 + j] = gate.add(ctx, state[1 + j], *m);
        }
        out.extend([state[1], state[2]]);
    }
    permute(gate, ctx, &mut state);
    out.push(state[1]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cipher::{self, generator};
    use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::builder::BaseCircuitBuilder;
    use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;

    fn builder() -> BaseCircuitBuilder<Fr> {
        BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock).use_k(12)
    }

    #[test]
    fn hash_and_cipher_match_native_values() {
        let gate = GateChip::default();
        for len in [0usize, 1, 2, 3] {
            let message: Vec<Fr> = (0..len as u64).map(|i| Fr::from(7 + i)).collect();
            let mut b = builder();
            let ctx = b.main(0);
            let cells: Vec<_> = message.iter().map(|m| ctx.load_witness(*m)).collect();
            assert_eq!(*hash(&gate, ctx, &cells).value(), poseidon::hash(&message));
            let key = generator().scale(cipher::Scalar::from(11)).unwrap();
            let k = AssignedPoint {
                x: ctx.load_witness(key.x),
                y: ctx.load_witness(key.y),
            };
            let nonce = ctx.load_witness(Fr::from(4));
            let got: Vec<Fr> = encrypt(&gate, ctx, &cells, &k, nonce)
                .iter()
                .map(|c| *c.value())
                .collect();
            assert_eq!(got, cipher::encrypt(&message, key, Fr::from(4)));
            b.calculate_params(Some(20));
            halo2_proofs::dev::MockProver::run(12, &b, vec![])
                .unwrap()
                .assert_satisfied();
        }
    }
}
