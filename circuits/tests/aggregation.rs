//! The combining logic of the aggregation circuit (sum, equality, chain) under MockProver, the
//! expose specification, and the checks that refuse bad inner proofs before any heavy work.
//! The full aggregation (keys, proof, EVM) is tested end to end in the root package.

use snarkml_circuits::aggregation::{self, combine, Expose, ExposeItem, InnerProof};
use snarkml_circuits::error::CircuitError;
use snarkml_circuits::halo2_proofs::dev::{MockProver, VerifyFailure};
use snarkml_circuits::prover::{self, Transcript};
use snarkml_circuits::snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use snarkml_circuits::snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;
use snarkml_circuits::snark_verifier_sdk::snark_verifier::halo2_base::gates::GateChip;
use snarkml_circuits::snark_verifier_sdk::snark_verifier::halo2_base::halo2_proofs::plonk::Assigned;
use snarkml_circuits::snark_verifier_sdk::CircuitExt;
use snarkml_circuits::srs::Srs;
use snarkml_circuits::Fr;

mod common;
use common::compile_fixture;

const K: usize = 8;

/// Three fake "inner proofs" of four instances each: (commitment, h_in, h_out, count).
fn sample_instances() -> Vec<Vec<Fr>> {
    let c = Fr::from(77);
    vec![
        vec![c, Fr::from(1), Fr::from(2), Fr::from(5)],
        vec![c, Fr::from(2), Fr::from(3), Fr::from(7)],
        vec![c, Fr::from(3), Fr::from(4), Fr::from(11)],
    ]
}

fn audit_expose() -> Expose {
    "equal:0,chain:1:2,sum:3".parse().unwrap()
}

/// Runs `combine` over `instances` loaded as witnesses in a small circuit, exposes the result,
/// lets `tamper` change the witness, and returns MockProver's verdict on `claimed` instances
/// (the honest exposed values when `claimed` is `None`).
fn mock_combine(
    instances: &[Vec<Fr>],
    expose: &Expose,
    tamper: impl FnOnce(&mut BaseCircuitBuilder<Fr>, &[usize]),
    claimed: Option<Vec<Fr>>,
) -> Result<(), Vec<&'static str>> {
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock)
        .use_k(K)
        .use_instance_columns(1);
    let gate = GateChip::default();
    let ctx = builder.main(0);
    let previous: Vec<Vec<_>> = instances
        .iter()
        .map(|p| p.iter().map(|v| ctx.load_witness(*v)).collect())
        .collect();
    let exposed = combine(ctx, &gate, &previous, expose);
    let offsets: Vec<usize> = exposed
        .iter()
        .map(|a| a.cell.expect("assigned").offset)
        .collect();
    builder.assigned_instances[0] = exposed;
    builder.calculate_params(Some(9));
    let honest = builder.instances();
    tamper(&mut builder, &offsets);
    let instances = claimed.map(|c| vec![c]).unwrap_or(honest);
    MockProver::run(K as u32, &builder, instances)
        .unwrap()
        .verify()
        .map_err(|failures| failures.iter().map(failure_kind).collect())
}

/// What kind of constraint a mock failure broke: a custom `gate`, a `copy` (the permutation
/// argument, instance copies included), or something else.
fn failure_kind(f: &VerifyFailure) -> &'static str {
    match f {
        VerifyFailure::ConstraintNotSatisfied { .. } => "gate",
        VerifyFailure::Permutation { .. } => "copy",
        _ => "other",
    }
}

/// Asserts a mock run failed on constraints of `kind` and on nothing unexpected.
fn assert_fails_on(result: Result<(), Vec<&'static str>>, kind: &str, what: &str) {
    let kinds = result.expect_err(what);
    assert!(
        kinds.contains(&kind) && !kinds.contains(&"other"),
        "{what}: failed on {kinds:?}, expected {kind}"
    );
}

#[test]
fn combining_sum_equal_and_chain_satisfies_every_constraint() {
    let instances = sample_instances();
    let expose = audit_expose();
    assert_eq!(
        expose.evaluate(&instances).unwrap(),
        vec![Fr::from(77), Fr::from(1), Fr::from(4), Fr::from(23)]
    );
    mock_combine(&instances, &expose, |_, _| {}, None).unwrap();
}

#[test]
fn a_wrong_sum_fails_the_gate_even_when_the_prover_rewrites_its_cell() {
    let instances = sample_instances();
    let expose = audit_expose();
    // The claimed count is 24, not 23, and the prover writes 24 into the sum's output cell.
    let mut claimed = expose.evaluate(&instances).unwrap();
    claimed[3] = Fr::from(24);
    let result = mock_combine(
        &instances,
        &expose,
        |b, offsets| b.main(0).advice[offsets[3]] = Assigned::Trivial(Fr::from(24)),
        Some(claimed.clone()),
    );
    assert_fails_on(result, "gate", "a wrong sum written into its cell");
    // Claiming the wrong sum without touching the witness fails on the instance copy.
    let result = mock_combine(&instances, &expose, |_, _| {}, Some(claimed));
    assert_fails_on(result, "copy", "a wrong public sum");
}

#[test]
fn a_broken_chain_or_a_differing_commitment_fails_the_copy_constraints() {
    let mut broken_chain = sample_instances();
    broken_chain[2][1] = Fr::from(9); // proof 2 does not start where proof 1 ended
    let expose = audit_expose();
    let err = expose.evaluate(&broken_chain).unwrap_err();
    assert!(
        matches!(&err, CircuitError::Incompatible(m) if m.contains("is not proof 2's instance")),
        "{err}"
    );
    let honest_looking = vec![Fr::from(77), Fr::from(1), Fr::from(4), Fr::from(23)];
    assert_fails_on(
        mock_combine(
            &broken_chain,
            &expose,
            |_, _| {},
            Some(honest_looking.clone()),
        ),
        "copy",
        "a broken chain",
    );

    let mut other_model = sample_instances();
    other_model[1][0] = Fr::from(78);
    let err = expose.evaluate(&other_model).unwrap_err();
    assert!(
        matches!(&err, CircuitError::Incompatible(m) if m.contains("differs from proof 0's")),
        "{err}"
    );
    assert_fails_on(
        mock_combine(&other_model, &expose, |_, _| {}, Some(honest_looking)),
        "copy",
        "a differing commitment",
    );
}

#[test]
fn links_between_proofs_of_different_shapes_are_constrained_and_expose_nothing() {
    // A split model's segments: (input, boundary out), (boundary in, boundary out, weights),
    // (boundary in, output): each link joins one proof's instance to the next one's.
    let instances = vec![
        vec![Fr::from(5), Fr::from(40)],
        vec![Fr::from(40), Fr::from(41), Fr::from(99)],
        vec![Fr::from(41), Fr::from(6)],
    ];
    let expose: Expose = "instance:0:0,link:0:1:0,link:1:1:0,instance:2:1"
        .parse()
        .unwrap();
    assert_eq!(
        expose.to_string(),
        "instance:0:0,link:0:1:0,link:1:1:0,instance:2:1"
    );
    assert_eq!(
        expose.evaluate(&instances).unwrap(),
        vec![Fr::from(5), Fr::from(6)]
    );
    mock_combine(&instances, &expose, |_, _| {}, None).unwrap();
    // Segment 3 proven on another tensor: refused natively, and the circuit's copy fails.
    let mut spliced = instances.clone();
    spliced[2][0] = Fr::from(42);
    let err = expose.evaluate(&spliced).unwrap_err();
    assert!(
        matches!(&err, CircuitError::Incompatible(m) if m.contains("`link:1:1:0`: proof 1's instance 1 is not proof 2's instance 0")),
        "{err}"
    );
    assert_fails_on(
        mock_combine(
            &spliced,
            &expose,
            |_, _| {},
            Some(vec![Fr::from(5), Fr::from(6)]),
        ),
        "copy",
        "a broken link",
    );
    // A link past the last proof, or past an instance, is out of range; links do not lift.
    for bad in ["link:2:0:0", "link:0:2:0", "link:1:0:2"] {
        let e: Expose = bad.parse().unwrap();
        let err = e.check(&[2, 3, 2]).unwrap_err().to_string();
        assert!(err.contains("out of range"), "{bad}: {err}");
    }
    let err = expose.lifted().unwrap_err().to_string();
    assert!(err.contains("cannot be aggregated in layers"), "{err}");
}

/// Evaluates `spec` over `instances` as a tree of aggregations does: each layer's groups
/// (`layers`: their sizes) apply their localized specs, and their exposed values are the next
/// layer's instances; the last layer is one group.
fn evaluate_in_layers(spec: &Expose, instances: &[Vec<Fr>], layers: &[&[usize]]) -> Vec<Fr> {
    let (mut spec, mut level) = (spec.clone(), instances.to_vec());
    for sizes in layers {
        let (per_group, upper) = spec.localized(sizes).expect("instances and links");
        let mut rest = level.into_iter();
        level = per_group
            .iter()
            .zip(*sizes)
            .map(|(s, n)| {
                let group: Vec<_> = rest.by_ref().take(*n).collect();
                s.evaluate(&group).unwrap()
            })
            .collect();
        spec = upper;
    }
    assert_eq!(level.len(), 1);
    level.remove(0)
}

#[test]
fn instances_and_links_are_carried_up_a_tree_of_aggregations_as_one_flat_one_exposes_them() {
    // Five segments: each reads the previous one's instance 1 as its instance 0.
    let instances: Vec<Vec<Fr>> = (0..5u64)
        .map(|p| vec![Fr::from(100 + p), Fr::from(101 + p), Fr::from(7 * p)])
        .collect();
    let spec: Expose =
        "instance:0:0,link:0:1:0,link:1:1:0,link:2:1:0,link:3:1:0,instance:4:1,instance:2:2"
            .parse()
            .unwrap();
    let flat = spec.evaluate(&instances).unwrap();
    assert_eq!(flat, vec![Fr::from(100), Fr::from(105), Fr::from(14)]);
    for layers in [
        &[&[2usize, 2, 1][..], &[2, 1], &[2], &[1]][..],
        &[&[2, 2, 1], &[3]],
        &[&[1, 1, 1, 1, 1], &[5]],
        &[&[5]],
    ] {
        assert_eq!(
            evaluate_in_layers(&spec, &instances, layers),
            flat,
            "{layers:?}"
        );
    }
    // The first layer's groups: a link inside a group stays there; one across groups is
    // exposed on both sides and linked above.
    let (groups, upper) = spec.localized(&[2, 2, 1]).unwrap();
    let texts: Vec<String> = groups.iter().map(ToString::to_string).collect();
    assert_eq!(
        texts,
        [
            "instance:0:0,link:0:1:0,instance:1:1",
            "instance:0:0,link:0:1:0,instance:1:1,instance:0:2",
            "instance:0:0,instance:0:1"
        ]
    );
    assert_eq!(
        upper.to_string(),
        "instance:0:0,link:0:1:0,link:1:1:0,instance:2:1,instance:1:2"
    );
    // A broken link between two groups is caught by the layer above, and is caught.
    let mut broken = instances.clone();
    broken[2][0] = Fr::from(999);
    let (groups, upper) = spec.localized(&[2, 2, 1]).unwrap();
    let exposed: Vec<Vec<Fr>> = [0..2, 2..4, 4..5]
        .into_iter()
        .zip(&groups)
        .map(|(r, s)| s.evaluate(&broken[r]).unwrap())
        .collect();
    let err = upper.evaluate(&exposed).unwrap_err().to_string();
    assert!(err.contains("`link:0:1:0`"), "{err}");
    // A link that skips proofs (a tensor read two segments on) is constrained in the group
    // that holds both ends, else carried up to the layer that does; a broken one is named.
    let skipping: Expose = "instance:0:0,link:0:1:2:0,link:1:1:2:2,instance:2:1"
        .parse()
        .unwrap();
    let mut three: Vec<Vec<Fr>> = (0..3u64)
        .map(|p| vec![Fr::from(100 + p), Fr::from(101 + p), Fr::from(0)])
        .collect();
    three[2][0] = three[0][1];
    three[2][2] = three[1][1];
    let flat = skipping.evaluate(&three).unwrap();
    assert_eq!(flat, vec![Fr::from(100), Fr::from(103)]);
    for layers in [
        &[&[1usize, 1, 1][..], &[3]][..],
        &[&[2, 1], &[2]],
        &[&[1, 2], &[2]],
    ] {
        assert_eq!(
            evaluate_in_layers(&skipping, &three, layers),
            flat,
            "{layers:?}"
        );
    }
    let (_, upper) = skipping.localized(&[1, 1, 1]).unwrap();
    assert_eq!(
        upper.to_string(),
        "instance:0:0,link:0:1:2:0,link:1:0:1,instance:2:2"
    );
    three[2][0] = Fr::from(999);
    let err = skipping.evaluate(&three).unwrap_err().to_string();
    assert!(
        err.contains("`link:0:1:2:0`: proof 0's instance 1 is not proof 2's instance 0"),
        "{err}"
    );
    // Specs with sums, equalities or chains are not localized (they lift).
    assert!("sum:0,instance:0:0"
        .parse::<Expose>()
        .unwrap()
        .localized(&[2])
        .is_none());
}

/// Six fake inner proofs continuing `sample_instances`' chain and commitment.
fn six_instances() -> Vec<Vec<Fr>> {
    let mut v = sample_instances();
    for i in 4..7u64 {
        v.push(vec![
            Fr::from(77),
            Fr::from(i),
            Fr::from(i + 1),
            Fr::from(i * i),
        ]);
    }
    v
}

#[test]
fn a_lifted_spec_over_layers_exposes_what_one_flat_aggregation_would() {
    let all = six_instances();
    let expose = audit_expose();
    let lifted = expose.lifted().unwrap();
    assert_eq!(lifted.to_string(), "equal:0,chain:1:2,sum:3");
    let flat = expose.evaluate(&all).unwrap();
    // Two layers: pairs, then the three pair aggregations; then one more over the result.
    let layer1: Vec<Vec<Fr>> = all.chunks(2).map(|g| expose.evaluate(g).unwrap()).collect();
    let layer2 = lifted.evaluate(&layer1).unwrap();
    assert_eq!(layer2, flat);
    assert_eq!(lifted.evaluate(&[layer2]).unwrap(), flat);
    // The upper layer's combining is constrained like the first one's.
    mock_combine(&layer1, &lifted, |_, _| {}, None).unwrap();
    let mut wrong_sum = flat.clone();
    wrong_sum[3] += Fr::from(1);
    assert_fails_on(
        mock_combine(&layer1, &lifted, |_, _| {}, Some(wrong_sum)),
        "copy",
        "a wrong sum claimed over groups",
    );
    // A chain broken between two groups is caught only by the upper layer, and is caught.
    let mut broken = all.clone();
    broken[2][1] = Fr::from(99); // proof 2 (first of the second pair) starts elsewhere
    let groups: Vec<Vec<Fr>> = broken
        .chunks(2)
        .map(|g| expose.evaluate(g).unwrap())
        .collect();
    assert!(matches!(
        lifted.evaluate(&groups),
        Err(CircuitError::Incompatible(m)) if m.contains("is not proof 1's instance")
    ));
    assert_fails_on(
        mock_combine(&groups, &lifted, |_, _| {}, Some(flat)),
        "copy",
        "a chain broken between groups",
    );

    let all_lifted = Expose::All.lifted().unwrap();
    assert_eq!(all_lifted, Expose::All);
    assert_eq!(
        all_lifted
            .evaluate(&[all[..2].concat(), all[2..].concat()])
            .unwrap(),
        all.concat()
    );
    let err = "sum:1,instance:0:1"
        .parse::<Expose>()
        .unwrap()
        .lifted()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("instance:0:1") && err.contains("layers"),
        "{err}"
    );
}

#[test]
fn expose_specs_round_trip_and_bad_ones_are_named() {
    for text in [
        "all",
        "none",
        "equal:0,chain:1:2,sum:3",
        "instance:1:0",
        "link:0:1:2",
        "link:0:1:3:2",
    ] {
        let e: Expose = text.parse().unwrap();
        assert_eq!(e.to_string(), text);
    }
    assert_eq!(
        "sum:2".parse::<Expose>().unwrap(),
        Expose::Items(vec![ExposeItem::Sum { index: 2 }])
    );
    for bad in [
        "sum",
        "sum:x",
        "max:1",
        "chain:1",
        "instance:1:2:3",
        "link:0:1",
        "link:2:1:1:0",
    ] {
        let err = bad.parse::<Expose>().unwrap_err().to_string();
        assert!(err.contains(bad), "{err}");
    }
    let e: Expose = "sum:4".parse().unwrap();
    let err = e.check(&[4, 4]).unwrap_err().to_string();
    assert!(err.contains("out of range"), "{err}");
    let e: Expose = "instance:2:0".parse().unwrap();
    let err = e.check(&[4, 4]).unwrap_err();
    assert!(
        matches!(&err, CircuitError::BadOption { option: "expose", reason } if reason.contains("out of range")),
        "{err}"
    );
    assert_eq!(Expose::All.evaluate(&sample_instances()).unwrap().len(), 12);
    assert!(Expose::None
        .evaluate(&sample_instances())
        .unwrap()
        .is_empty());
}

#[test]
fn a_bad_inner_proof_is_refused_by_name_before_any_heavy_work() {
    let (model, input) = compile_fixture("relu3");
    let q = model.quantize_inputs(&input).unwrap();
    // A small SRS is enough: the refusal happens before the aggregation circuit exists.
    let srs = Srs::generate_insecure(model.layout.k + 1, 3).unwrap();
    let small = srs.trimmed(model.layout.k).unwrap();
    let pk = prover::keygen(&small, &model).unwrap();
    let good = prover::prove_with(&small, &pk, &model, &q, &[], Transcript::Poseidon).unwrap();
    let keccak = prover::prove_with(&small, &pk, &model, &q, &[], Transcript::Keccak).unwrap();
    let inner = |label: &str, p: &prover::Proof| InnerProof {
        label: label.into(),
        vk: pk.get_vk().clone(),
        instances: p.instances.clone(),
        proof: p.proof.clone(),
        accumulator: false,
    };
    let mut flipped = inner("flipped.json", &good);
    flipped.proof[40] ^= 1;
    let mut lying = inner("lying.json", &good);
    lying.instances[0] += Fr::from(1);
    // A plain proof passed off as an aggregation (whose instances would carry an accumulator).
    let mut posing = inner("posing.json", &good);
    posing.accumulator = true;
    for bad in [flipped, lying, inner("keccak.json", &keccak), posing] {
        let label = bad.label.clone();
        let err = aggregation::check_inner(&srs.params, &[inner("good.json", &good), bad])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&label) && err.contains("does not verify"),
            "{err}"
        );
    }
    assert!(aggregation::check_inner(&srs.params, &[inner("good.json", &good)]).is_ok());
    assert!(matches!(
        aggregation::check_inner(&srs.params, &[]),
        Err(CircuitError::Incompatible(m)) if m == "nothing to aggregate"
    ));
}
