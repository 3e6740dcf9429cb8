//! snarkml's Poseidon: the native hash against its definition (circomlib's published vector),
//! and the in-circuit hash against the native one.

use snarkml_circuits::poseidon::{commit, hash, permute};
use snarkml_circuits::Fr;

fn fr(hex_be: &str) -> Fr {
    let mut bytes = hex::decode(hex_be.trim_start_matches("0x")).unwrap();
    bytes.reverse();
    let mut repr = [0u8; 32];
    repr.copy_from_slice(&bytes);
    Fr::from_bytes(&repr).unwrap()
}

#[test]
fn permutation_matches_the_reference_implementation() {
    // Our constants are the Grain constants circomlib's Poseidon uses for width 3, so its
    // published `poseidon([1, 2])` (the permutation of [0, 1, 2], first element) is ours too.
    let mut state = [Fr::zero(), Fr::one(), Fr::from(2)];
    permute(&mut state);
    assert_eq!(
        state[0],
        fr("115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a")
    );
}

#[test]
fn sponge_separates_lengths_and_padding() {
    let a = Fr::from(5);
    // [a] and [a, 0] absorb the same pair; only the length tag tells them apart.
    assert_ne!(hash(&[a]), hash(&[a, Fr::zero()]));
    assert_ne!(hash(&[]), hash(&[Fr::zero()]));
    // Order matters, and the commitment is the hash of the values followed by the salt.
    assert_ne!(hash(&[a, Fr::one()]), hash(&[Fr::one(), a]));
    assert_eq!(commit(&[a], Fr::from(9)), hash(&[a, Fr::from(9)]));
    assert_ne!(commit(&[a], Fr::from(9)), commit(&[a], Fr::from(10)));
    // The sponge is the documented one: state [len, 0, 0], pairs added to state[1..3].
    let mut state = [Fr::from(3), Fr::one(), Fr::from(2)];
    permute(&mut state);
    state[1] += Fr::from(3);
    permute(&mut state);
    assert_eq!(hash(&[Fr::one(), Fr::from(2), Fr::from(3)]), state[1]);
}

mod common;

use std::collections::BTreeSet;

use common::circuit_with;

use snarkml_circuits::circuit::{CircuitParams, ModelCircuit};
use snarkml_circuits::halo2_proofs::dev::VerifyFailure;
use snarkml_circuits::halo2_proofs::plonk::{Circuit, ConstraintSystem};
use snarkml_circuits::io::commit_quantized;
use snarkml_circuits::layout::{Plan, PoseidonGate};
use snarkml_circuits::prover::mock_failures;
use snarkml_circuits::quantize::{CompileOptions, CompiledModel, Visibility};

/// The `linear` fixture compiled with the given visibilities, and its quantized input.
fn linear(inputs: Visibility, outputs: Visibility) -> (CompiledModel, Vec<Vec<i64>>) {
    linear_at(3, inputs, outputs)
}

/// The same at `width` multiply-accumulates per row (`width + 1` advice columns).
fn linear_at(
    width: usize,
    inputs: Visibility,
    outputs: Visibility,
) -> (CompiledModel, Vec<Vec<i64>>) {
    let opts = CompileOptions {
        inputs,
        outputs,
        width,
        ..CompileOptions::default()
    };
    common::compile_with("linear", &opts)
}

#[test]
fn in_circuit_commitments_are_the_native_ones() {
    let (model, q) = linear(Visibility::Hashed, Visibility::Hashed);
    assert_eq!(model.num_instances(), 2);
    let salts = [Fr::from(11), Fr::from(22)];
    let circuit = ModelCircuit::with_salts(&model, Some(&q), &salts).unwrap();
    let outputs = snarkml_circuits::exec::run(&model, &q)
        .unwrap()
        .outputs(&model);
    let expected = vec![
        commit_quantized(&q[0], salts[0]),
        commit_quantized(&outputs[0], salts[1]),
    ];
    assert_eq!(circuit.instance_column(), expected);
    assert_eq!(circuit.plan.commitments, expected);
    assert!(mock_failures(&model, &circuit).unwrap().is_empty());
}

#[test]
fn a_commitment_the_witness_does_not_open_is_rejected() {
    let (model, q) = linear(Visibility::Hashed, Visibility::Public);
    let mut plan = Plan::build_salted(&model, 3, Some(&q), &[Fr::from(5)]).unwrap();
    // Claim the commitment under another salt: the instance no longer matches the digest cell.
    plan.instances[0] = commit_quantized(&q[0], Fr::from(6));
    let circuit = circuit_with(&model, plan);
    assert!(!mock_failures(&model, &circuit).unwrap().is_empty());
}

#[test]
fn rounds_take_one_row_and_full_rounds_two_only_in_narrow_circuits_and_both_prove() {
    // Width 3 has 4 advice columns (no room beside the state for 3 squares), width 5 has 6.
    for (width, full_rows) in [(3, 2), (5, 1)] {
        let (model, q) = linear_at(width, Visibility::Hashed, Visibility::Public);
        let plan = Plan::build_salted(&model, width, Some(&q), &[Fr::from(5)]).unwrap();
        let rows_of = |gate| -> Vec<usize> {
            plan.poseidon_rows
                .iter()
                .filter(|r| r.gate == gate)
                .map(|r| r.row)
                .collect()
        };
        let steps = |rows: Vec<usize>| -> BTreeSet<usize> {
            rows.windows(2).map(|w| w[1] - w[0]).collect()
        };
        // Consecutive rounds of one permutation: the four full rounds before the partial ones.
        assert_eq!(
            steps(rows_of(PoseidonGate::Partial)[..57].to_vec()),
            BTreeSet::from([1])
        );
        assert_eq!(
            steps(rows_of(PoseidonGate::Full)[..4].to_vec()),
            BTreeSet::from([full_rows]),
            "width {width}"
        );
        let circuit = circuit_with(&model, plan);
        assert!(
            mock_failures(&model, &circuit).unwrap().is_empty(),
            "width {width}"
        );
    }
}

#[test]
fn a_tampered_hash_state_or_square_fails_the_round_gates() {
    for width in [3, 5] {
        let (model, q) = linear_at(width, Visibility::Hashed, Visibility::Public);
        let honest = Plan::build_salted(&model, width, Some(&q), &[Fr::from(5)]).unwrap();
        let first = |gate| {
            honest
                .poseidon_rows
                .iter()
                .find(|r| r.gate == gate)
                .unwrap()
                .row
        };
        let (partial, full) = (first(PoseidonGate::Partial), first(PoseidonGate::Full));
        // The state of each round, its squares beside it (the partial round's one, the full
        // round's three at width 5) or below it (the full round's at width 3).
        let mut cells: Vec<(&str, usize, usize)> = (0..3)
            .flat_map(|c| [("partial state", c, partial), ("full state", c, full)])
            .collect();
        cells.push(("partial square", 3, partial));
        for j in 0..3 {
            cells.push(match width {
                3 => ("full square", j, full + 1),
                _ => ("full square", 3 + j, full),
            });
        }
        for (what, col, row) in cells {
            let mut plan = honest.clone();
            plan.advice[col][row] += Fr::one();
            let circuit = circuit_with(&model, plan);
            assert!(
                !mock_failures(&model, &circuit).unwrap().is_empty(),
                "width {width}: {what} (column {col}) changed undetected"
            );
        }
    }
}

#[test]
fn hashing_other_values_than_the_inputs_fails_the_copy_constraints() {
    let (model, q) = linear(Visibility::Hashed, Visibility::Public);
    let honest = Plan::build_salted(&model, 3, Some(&q), &[Fr::from(5)]).unwrap();
    // The message row follows the first absorb row; its first element is the first input.
    let absorb = honest
        .poseidon_rows
        .iter()
        .find(|r| r.gate == PoseidonGate::Absorb)
        .unwrap()
        .row;
    let mut plan = honest.clone();
    plan.advice[1][absorb + 1] += Fr::one();
    let circuit = circuit_with(&model, plan);
    let failures = mock_failures(&model, &circuit).unwrap();
    assert!(
        failures
            .iter()
            .any(|f| matches!(f, VerifyFailure::Permutation { .. })),
        "no copy constraint caught the changed message element: {failures:?}"
    );
}

#[test]
fn private_inputs_and_outputs_have_no_instances() {
    let (model, q) = linear(Visibility::Private, Visibility::Private);
    assert_eq!(model.num_instances(), 0);
    let circuit = ModelCircuit::new(&model, Some(&q)).unwrap();
    assert!(circuit.instance_column().is_empty());
    assert!(!circuit.plan.poseidon);
    assert!(mock_failures(&model, &circuit).unwrap().is_empty());
}

#[test]
fn poseidon_parameter_product_freivalds_and_one_row_rescale_gates_keep_the_circuit_degree() {
    let degree = |poseidon, private_weights| {
        let mut cs = ConstraintSystem::default();
        let params = CircuitParams {
            width: 3,
            poseidon,
            private_weights,
            products: poseidon && private_weights,
            freivalds: poseidon && private_weights,
            one_row_rescale: poseidon && private_weights,
        };
        ModelCircuit::configure_with_params(&mut cs, params);
        cs.degree()
    };
    let plain = degree(false, false);
    assert_eq!(degree(true, false), plain);
    assert_eq!(degree(true, true), plain);
}
