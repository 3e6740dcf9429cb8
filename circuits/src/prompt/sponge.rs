//! snarkml's Poseidon on halo2-base's gate: the gate as the [`Arithmetic`] of the one
//! permutation, sponge and duplex of [`crate::poseidon`], which gives the hash of
//! [`crate::poseidon::hash`] (so a commitment opens to the same value natively, in the model
//! circuit and here) and the cipher of [`crate::cipher::encrypt`].

use super::grumpkin::AssignedPoint;
use crate::poseidon::{self, Arithmetic, T};
use crate::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;
use snark_verifier_sdk::snark_verifier::halo2_base::gates::{GateChip, GateInstructions};
use snark_verifier_sdk::snark_verifier::halo2_base::QuantumCell::Constant;
use snark_verifier_sdk::snark_verifier::halo2_base::{AssignedValue, Context};

/// halo2-base's gate as the [`Arithmetic`] of the permutation.
struct Gate<'a, 'c> {
    gate: &'a GateChip<Fr>,
    ctx: &'c mut Context<Fr>,
}

impl Arithmetic for Gate<'_, '_> {
    type Value = AssignedValue<Fr>;

    fn constant(&mut self, c: Fr) -> Self::Value {
        self.ctx.load_constant(c)
    }

    fn add_constant(&mut self, a: Self::Value, c: Fr) -> Self::Value {
        self.gate.add(self.ctx, a, Constant(c))
    }

    fn add(&mut self, a: Self::Value, b: Self::Value) -> Self::Value {
        self.gate.add(self.ctx, a, b)
    }

    fn mul(&mut self, a: Self::Value, b: Self::Value) -> Self::Value {
        self.gate.mul(self.ctx, a, b)
    }

    fn affine(&mut self, x: [Self::Value; T], row: &[Fr; T], c: Fr) -> Self::Value {
        let sum = self
            .gate
            .inner_product(self.ctx, x, row.iter().map(|m| Constant(*m)));
        self.gate.add(self.ctx, sum, Constant(c))
    }
}

/// The hash of [`poseidon::hash`], in-circuit.
pub fn hash(
    gate: &GateChip<Fr>,
    ctx: &mut Context<Fr>,
    message: &[AssignedValue<Fr>],
) -> AssignedValue<Fr> {
    poseidon::hash_with(&mut Gate { gate, ctx }, message)
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
    let state = [gate.add(ctx, nonce, Constant(domain)), key.x, key.y];
    poseidon::encrypt_with(&mut Gate { gate, ctx }, state, message)
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
