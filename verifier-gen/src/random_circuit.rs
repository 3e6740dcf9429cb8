//! Property tests of our verifier: random circuit configurations (advice columns, custom gates
//! of degree 2–5 over rotations −2..2, fixed factors, selectors compressed or not, a lookup,
//! copy constraints, public instances), each proved for real, and our verdicts (the Rust
//! reference and the Solidity verifier) compared with halo2's native verifier on the proof,
//! on every tampered variant of it and on a wrong instance.

use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{
    keygen_pk, keygen_vk_custom, Advice, Circuit, Column, ConstraintSystem, Error, Fixed, Instance,
    Selector,
};
use halo2_proofs::poly::Rotation;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use snarkml_circuits::Fr;

/// Rows the witness fills; gates are on in rows `FIRST..LAST`, so rotations −2..2 stay inside.
const ROWS: usize = 16;
const FIRST: usize = 2;
const LAST: usize = ROWS - 2;
/// The lookup table: 0..16 in a fixed column.
const TABLE: u64 = 16;

/// One random configuration.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shape {
    /// Input advice columns.
    inputs: usize,
    /// Per gate, its factors (input column, rotation) and whether a fixed column scales them.
    gates: Vec<(Vec<(usize, i32)>, bool)>,
    /// An advice column looked up in a fixed table.
    lookup: bool,
    /// A copy constraint between two input cells.
    copy: bool,
    /// Public instances, copied from input 0's first rows.
    pub(crate) instances: usize,
    /// keygen's selector compression.
    pub(crate) compress: bool,
    /// log2 of the rows.
    pub(crate) k: u32,
}

impl Shape {
    /// The configuration of `seed`.
    pub(crate) fn random(seed: u64) -> Self {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut below = |n: u64| (rng.next_u64() % n) as usize;
        let inputs = 1 + below(3);
        let gates = (0..1 + below(3))
            .map(|_| {
                let factors = (0..1 + below(3))
                    .map(|_| (below(inputs as u64), below(5) as i32 - 2))
                    .collect();
                (factors, below(2) == 1)
            })
            .collect();
        Shape {
            inputs,
            gates,
            lookup: below(2) == 1,
            copy: inputs > 1 && below(2) == 1,
            instances: below(4),
            compress: below(2) == 1,
            k: 5 + below(2) as u32,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Config {
    inputs: Vec<Column<Advice>>,
    outputs: Vec<Column<Advice>>,
    selectors: Vec<Selector>,
    scales: Vec<Column<Fixed>>,
    lookup: Option<(Column<Advice>, Column<Fixed>)>,
    instance: Column<Instance>,
}

/// A circuit of a [`Shape`], with or without its witness (derived from `seed`).
#[derive(Clone, Debug)]
pub(crate) struct RandomCircuit {
    pub(crate) shape: Shape,
    witness: Option<u64>,
}

/// A deterministic field element per (seed, column, row).
fn value(seed: u64, column: usize, row: usize) -> Fr {
    let mut rng =
        rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ ((column as u64) << 32) ^ row as u64);
    Fr::from(rng.next_u64())
}

impl RandomCircuit {
    pub(crate) fn new(shape: Shape, witness: Option<u64>) -> Self {
        Self { shape, witness }
    }

    /// Input column `c`'s value at `row` (the copied cell equals its source).
    fn input(&self, seed: u64, c: usize, row: usize) -> Fr {
        if self.shape.copy && c == 1 && row == 0 {
            return self.input(seed, 0, 1);
        }
        value(seed, c, row)
    }

    /// The public instances of the witness `seed`.
    pub(crate) fn instances(&self, seed: u64) -> Vec<Fr> {
        (0..self.shape.instances)
            .map(|i| self.input(seed, 0, i))
            .collect()
    }
}

impl Circuit<Fr> for RandomCircuit {
    type Config = Config;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = Shape;

    fn without_witnesses(&self) -> Self {
        Self::new(self.shape.clone(), None)
    }

    fn params(&self) -> Shape {
        self.shape.clone()
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> Config {
        unreachable!("configured with its shape")
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, shape: Shape) -> Config {
        let inputs: Vec<_> = (0..shape.inputs).map(|_| meta.advice_column()).collect();
        let outputs: Vec<_> = shape.gates.iter().map(|_| meta.advice_column()).collect();
        let selectors: Vec<_> = shape.gates.iter().map(|_| meta.selector()).collect();
        let scales: Vec<_> = shape.gates.iter().map(|_| meta.fixed_column()).collect();
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        meta.enable_equality(inputs[0]);
        if shape.copy {
            meta.enable_equality(inputs[1]);
        }
        for (g, (factors, scaled)) in shape.gates.iter().enumerate() {
            let (out, sel, scale) = (outputs[g], selectors[g], scales[g]);
            let input_columns = inputs.clone();
            let (factors, scaled) = (factors.clone(), *scaled);
            meta.create_gate("random gate", move |m| {
                let q = m.query_selector(sel);
                let mut product = m.query_fixed(scale, Rotation::cur());
                if !scaled {
                    product = halo2_proofs::plonk::Expression::Constant(Fr::ONE);
                }
                for (c, r) in &factors {
                    product = product * m.query_advice(input_columns[*c], Rotation(*r));
                }
                vec![q * (product - m.query_advice(out, Rotation::cur()))]
            });
        }
        let lookup = shape.lookup.then(|| {
            let (column, table) = (meta.advice_column(), meta.fixed_column());
            meta.lookup_any("in the table", |m| {
                vec![(
                    m.query_advice(column, Rotation::cur()),
                    m.query_fixed(table, Rotation::cur()),
                )]
            });
            (column, table)
        });
        Config {
            inputs,
            outputs,
            selectors,
            scales,
            lookup,
            instance,
        }
    }

    fn synthesize(&self, config: Config, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let seed = self.witness;
        let known = |v: Fr| match seed {
            Some(_) => Value::known(v),
            None => Value::unknown(),
        };
        let s = seed.unwrap_or(0);
        let copied = layouter.assign_region(
            || "random",
            |mut region| {
                let mut first = Vec::new();
                for (c, column) in config.inputs.iter().enumerate() {
                    for row in 0..ROWS {
                        let cell = region.assign_advice(*column, row, known(self.input(s, c, row)));
                        if c < 2 {
                            first.push((c, row, cell.cell()));
                        }
                    }
                }
                for (g, (factors, scaled)) in self.shape.gates.iter().enumerate() {
                    for row in 0..ROWS {
                        let scale = Fr::from(row as u64 + 3);
                        region.assign_fixed(config.scales[g], row, scale);
                        let on = (FIRST..LAST).contains(&row);
                        let mut out = if *scaled { scale } else { Fr::ONE };
                        for (c, r) in factors {
                            out *= self.input(s, *c, (row as i64 + i64::from(*r)) as usize);
                        }
                        let out = if on { out } else { Fr::ZERO };
                        region.assign_advice(config.outputs[g], row, known(out));
                        if on {
                            config.selectors[g].enable(&mut region, row)?;
                        }
                    }
                }
                if let Some((column, table)) = config.lookup {
                    for row in 0..ROWS {
                        region.assign_fixed(table, row, Fr::from(row as u64 % TABLE));
                        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(s ^ row as u64);
                        let v = Fr::from(rng.next_u64() % TABLE);
                        region.assign_advice(column, row, known(v));
                    }
                }
                let cell = |c: usize, row: usize| {
                    first
                        .iter()
                        .find(|(cc, r, _)| *cc == c && *r == row)
                        .map(|(_, _, cell)| *cell)
                        .expect("assigned above")
                };
                if self.shape.copy {
                    region.constrain_equal(cell(1, 0), cell(0, 1));
                }
                Ok((0..self.shape.instances)
                    .map(|i| cell(0, i))
                    .collect::<Vec<_>>())
            },
        )?;
        for (i, cell) in copied.into_iter().enumerate() {
            layouter.constrain_instance(cell, config.instance, i);
        }
        Ok(())
    }
}

/// Keys and a real proof (Keccak transcript) of the configuration `seed`: the SRS, the key,
/// the instances and the proof.
pub(crate) fn prove(
    seed: u64,
) -> (
    Shape,
    snarkml_circuits::srs::Srs,
    halo2_proofs::plonk::VerifyingKey<snarkml_circuits::G1Affine>,
    Vec<Fr>,
    Vec<u8>,
) {
    let shape = Shape::random(seed);
    let srs = snarkml_circuits::srs::Srs::generate_insecure(shape.k, seed).unwrap();
    let blank = RandomCircuit::new(shape.clone(), None);
    let vk = keygen_vk_custom(&srs.params, &blank, shape.compress).unwrap();
    let pk = keygen_pk(&srs.params, vk.clone(), &blank).unwrap();
    let circuit = RandomCircuit::new(shape.clone(), Some(seed));
    let instances = circuit.instances(seed);
    let proof = snarkml_circuits::prover::create_shplonk_proof(
        &srs.params,
        &pk,
        circuit,
        &instances,
        snarkml_circuits::prover::Transcript::Keccak,
    )
    .unwrap_or_else(|e| panic!("seed {seed}, {shape:?}: {e}"));
    (shape, srs, vk, instances, proof)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::VkArtifact;
    use crate::evm::Evm;
    use crate::reusable::{compile_key, compile_reusable, verify_calldata};
    use crate::verify::verify;

    #[test]
    fn our_verdicts_agree_with_halo2_on_random_circuit_configurations() {
        let solc = crate::find_solc().expect("the pinned solc (scripts/setup)");
        let mut evm = Evm::default();
        let verifier = evm
            .deploy(compile_reusable(&solc).unwrap().initcode)
            .unwrap();
        let key = compile_key(&solc).unwrap();
        for seed in 0..12u64 {
            let (shape, srs, vk, instances, proof) = prove(seed);
            let native = |instances: &[Fr], bytes: &[u8]| {
                snarkml_circuits::prover::verify(&srs.params, &vk, instances, bytes).is_ok()
            };
            let artifact = VkArtifact::from_vk(&srs.params, &vk, instances.len())
                .unwrap_or_else(|e| panic!("seed {seed}, {shape:?}: {e}"));
            let bytes = artifact.encode().unwrap();
            let (_, bound) = evm.deploy_key(&key.initcode, verifier, &bytes).unwrap();
            let solidity = |evm: &mut Evm, instances: &[Fr], bytes: &[u8]| {
                evm.call(bound, verify_calldata(bytes, instances, false))
                    .unwrap()
                    .output[31]
                    == 1
            };
            let agree = |evm: &mut Evm, what: &str, instances: &[Fr], bytes: &[u8]| {
                let theirs = native(instances, bytes);
                assert_eq!(
                    verify(&artifact, instances, bytes).is_ok(),
                    theirs,
                    "seed {seed} {shape:?}: {what}"
                );
                assert_eq!(
                    solidity(evm, instances, bytes),
                    theirs,
                    "seed {seed} {shape:?}: {what} (Solidity)"
                );
                theirs
            };
            assert!(agree(&mut evm, "the proof", &instances, &proof));
            for (what, bad) in crate::testing::tampered(&artifact, &proof) {
                agree(&mut evm, &what, &instances, &bad);
            }
            if !instances.is_empty() {
                let mut wrong = instances.clone();
                wrong[instances.len() - 1] += Fr::ONE;
                assert!(!agree(&mut evm, "a wrong instance", &wrong, &proof));
            }
            println!(
                "seed {seed}: {} advice, degree {}, {} lookups, {} evaluations, {} ops, {} opening sets",
                artifact.advice,
                vk.cs().degree(),
                artifact.lookups,
                artifact.program.evals,
                artifact.program.ops.len(),
                artifact.sets.len()
            );
        }
    }
}
