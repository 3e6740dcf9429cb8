//! What is verified is exactly what was proven (issue #23): a proof file shows only what its
//! public instances prove for the model; a proof is read to its last byte; a proof is checked
//! before it is returned; an ONNX shape that cannot be proven is refused at import, naming the
//! tensor and the dimension, before anything is allocated for it.

mod common;

use common::compile;
use common::{compile_with, fixture, srs};
use prost::Message;
use snarkml_circuits::circuit::ModelCircuit;
use snarkml_circuits::fixed_point::field_to_hex;
use snarkml_circuits::io::ProofFile;
use snarkml_circuits::model::onnx::MAX_ELEMENTS;
use snarkml_circuits::prover::{self, Proof, Transcript};
use snarkml_circuits::quantize::{CompileOptions, CompiledModel, Visibility};
use snarkml_circuits::srs::Srs;
use snarkml_circuits::{CircuitError, Fr};
use tract_onnx::pb::{self, tensor_shape_proto::dimension::Value as Dim, type_proto};
use tract_onnx::prelude::Framework;

/// A proof file of `model` on `inputs` (quantized) with the instances its circuit computes:
/// what `prove` would write, without proving (the checks below read the instances only).
fn unproven_file(model: &CompiledModel, inputs: &[Vec<i64>]) -> ProofFile {
    let circuit = ModelCircuit::with_salts(model, Some(inputs), &[Fr::from(3), Fr::from(4)])
        .expect("circuit");
    let proof = Proof {
        proof: vec![0; 32],
        transcript: Transcript::Keccak,
        instances: circuit.instance_column(),
        outputs: circuit.plan.outputs.clone(),
        commitments: circuit.plan.commitments.clone(),
    };
    ProofFile::new(model, &proof, inputs, "vk", "srs")
}

/// The field named by the refusal of `file` checked against `model`.
fn refused_field(file: &ProofFile, model: &CompiledModel) -> String {
    match file.check_against(model) {
        Err(CircuitError::UnprovenField { field, .. }) => field,
        other => panic!("expected UnprovenField, got {other:?}"),
    }
}

#[test]
fn a_proof_file_shows_finer_input_features_as_proven_and_refuses_other_feature_bits() {
    // Tabular features of very different ranges, calibrated on 48 rows: narrow ones finer.
    let stem = "corpus/tabular_narrow";
    let samples = common::fixture_samples(stem);
    let model = common::compile_stem(stem, &samples, &CompileOptions::default()).unwrap();
    let bits = model.inputs[0].feature_bits.clone();
    assert!(bits.iter().any(|b| *b > 0), "{bits:?}");
    let q = model.quantize_inputs(&samples[0]).unwrap();
    let file = unproven_file(&model, &q);
    let checked = file.check_against(&model).unwrap();
    assert_eq!(checked.inputs[0].feature_bits, bits);
    // Each value dequantized at its own feature's scale.
    for (j, (v, x)) in checked.inputs[0].values.iter().zip(&q[0]).enumerate() {
        let scale = f64::from(model.scale_bits + bits[j]).exp2();
        assert_eq!(*v, *x as f64 / scale, "feature {j}");
    }
    let mut uniform = file.clone();
    uniform.inputs[0].feature_bits.clear();
    assert_eq!(refused_field(&uniform, &model), "inputs[0].feature_bits");
    // A value read at the tensor's own scale (as if no feature were finer) is not what the
    // instances prove.
    let j = bits.iter().position(|b| *b > 0).unwrap();
    let mut misread = file.clone();
    misread.inputs[0].values[j] = q[0][j] as f64 / f64::from(model.scale_bits).exp2();
    assert_eq!(
        refused_field(&misread, &model),
        format!("inputs[0].values[{j}]")
    );
}

#[test]
fn a_proof_file_showing_anything_its_instances_do_not_prove_is_refused_naming_the_field() {
    let (model, q) = compile_with("relu3", &CompileOptions::default());
    let file = unproven_file(&model, &q);
    // Untouched, it shows exactly what the instances prove: relu([-1.5, 0.25, 2]).
    let checked = file.check_against(&model).unwrap();
    assert_eq!(checked, file);
    assert_eq!(checked.outputs[0].values, [0.0, 0.25, 2.0]);

    type Edit = fn(&mut ProofFile);
    let edits: [(Edit, &str); 12] = [
        (|f| f.outputs[0].values[2] = 9.0, "outputs[0].values[2]"),
        (|f| f.inputs[0].values[0] = 1.5, "inputs[0].values[0]"),
        (|f| f.outputs[0].values.push(1.0), "outputs[0].values"),
        (|f| f.outputs[0].scale_bits += 1, "outputs[0].scale_bits"),
        (|f| f.outputs[0].name = "logits".into(), "outputs[0].name"),
        (|f| f.outputs[0].pack_bits += 1, "outputs[0].pack_bits"),
        (|f| f.outputs[0].shape = vec![3], "outputs[0].shape"),
        (|f| f.model = "other".into(), "model"),
        (
            |f| f.outputs[0].quantized[1] += 1,
            "outputs[0].quantized[1]",
        ),
        (
            |f| f.outputs[0].visibility = Visibility::Private,
            "outputs[0].visibility",
        ),
        (
            |f| f.outputs[0].commitment = Some(field_to_hex(&Fr::from(1))),
            "outputs[0].commitment",
        ),
        (
            |f| f.weights_commitment = Some(field_to_hex(&Fr::from(1))),
            "weights_commitment",
        ),
    ];
    for (edit, field) in edits {
        let mut edited = file.clone();
        edit(&mut edited);
        assert_eq!(refused_field(&edited, &model), field);
        // Parsed from the file's bytes the same, with a message naming the field.
        let err = for_model(&edited.to_json().unwrap(), &model).unwrap_err();
        assert!(
            matches!(&err, CircuitError::UnprovenField { field: f, .. } if f == field),
            "{err}"
        );
        assert!(err.to_string().contains(&format!("`{field}`")), "{err}");
        assert_eq!(err.to_string().lines().count(), 1, "{err}");
    }
    // Another instance count is named too (before anything is unpacked).
    let mut short = file.clone();
    short.instances.pop();
    assert_eq!(refused_field(&short, &model), "instances");
}

#[test]
fn hashed_and_private_tensors_show_no_values_and_a_file_claiming_some_is_refused() {
    let opts = CompileOptions {
        inputs: Visibility::Private,
        outputs: Visibility::Hashed,
        ..CompileOptions::default()
    };
    let (model, q) = compile_with("relu3", &opts);
    let file = unproven_file(&model, &q);
    let checked = file.check_against(&model).unwrap();
    assert!(checked.outputs[0].values.is_empty() && checked.inputs[0].values.is_empty());
    assert!(checked.outputs[0].commitment.is_some());

    let mut claimed = file.clone();
    claimed.outputs[0].values = vec![0.0, 0.25, 2.0];
    assert_eq!(refused_field(&claimed, &model), "outputs[0].values");
    let mut claimed = file.clone();
    claimed.inputs[0].quantized = vec![-6, 1, 8];
    assert_eq!(refused_field(&claimed, &model), "inputs[0].quantized");
    let msg = claimed.check_against(&model).unwrap_err().to_string();
    assert!(msg.contains("shows its values"), "{msg}");
    let mut other = file.clone();
    other.outputs[0].commitment = Some(field_to_hex(&Fr::from(7)));
    assert_eq!(refused_field(&other, &model), "outputs[0].commitment");
}

/// relu3's model, SRS parameters, proving key and input, proven with `transcript`.
fn relu3_proof(
    transcript: Transcript,
) -> (
    CompiledModel,
    snarkml_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG<snarkml_circuits::Bn256>,
    snarkml_circuits::halo2_proofs::plonk::ProvingKey<snarkml_circuits::G1Affine>,
    Vec<Vec<i64>>,
    Proof,
) {
    let (model, q) = compile_with("relu3", &CompileOptions::default());
    let params = srs(model.layout.k).trimmed(model.layout.k).unwrap();
    let pk = prover::keygen(&params, &model).unwrap();
    let proof = prover::prove_with(&params, &pk, &model, &q, &[], transcript).unwrap();
    (model, params, pk, q, proof)
}

#[test]
fn bytes_after_the_end_of_a_proof_are_refused_by_native_verification() {
    for transcript in [Transcript::Keccak, Transcript::Poseidon] {
        let (_, params, pk, _, proof) = relu3_proof(transcript);
        let verify = |bytes: &[u8]| {
            prover::verify_with(&params, pk.get_vk(), &proof.instances, bytes, transcript)
        };
        verify(&proof.proof).unwrap();
        let mut zeros = proof.proof.clone();
        zeros.extend([0u8; 32]);
        assert!(
            matches!(
                verify(&zeros),
                Err(CircuitError::TrailingProofBytes { extra: 32 })
            ),
            "{transcript:?}: {:?}",
            verify(&zeros)
        );
        let mut random = proof.proof.clone();
        random.extend((0..100u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        assert!(
            matches!(
                verify(&random),
                Err(CircuitError::TrailingProofBytes { extra: 100 })
            ),
            "{transcript:?}: {:?}",
            verify(&random)
        );
        let msg = verify(&zeros).unwrap_err().to_string();
        assert_eq!(msg, "proof rejected: 32 byte(s) after the end of the proof");
    }
}

#[test]
fn a_proof_that_does_not_verify_is_never_returned_by_prove() {
    // Keys from one SRS, proving parameters from another of the same size: the proof is made,
    // but against these keys it cannot verify, and `prove` says so instead of returning it.
    let (model, params, pk, q, _) = relu3_proof(Transcript::Keccak);
    let other = Srs::generate_insecure(model.layout.k, 8)
        .unwrap()
        .trimmed(model.layout.k)
        .unwrap();
    let err = prover::prove_with(&other, &pk, &model, &q, &[], Transcript::Keccak).unwrap_err();
    assert!(matches!(err, CircuitError::ProofSelfCheck(_)), "{err}");
    assert!(err.to_string().contains("nothing was written"), "{err}");
    // The right parameters still prove.
    prover::prove_with(&params, &pk, &model, &q, &[], Transcript::Keccak).unwrap();
}

/// The ONNX protobuf of fixture `stem`.
fn proto(stem: &str) -> pb::ModelProto {
    tract_onnx::onnx()
        .proto_model_for_path(fixture(&format!("{stem}.onnx")))
        .unwrap()
}

/// relu3 with its input declared of shape `dims`.
fn relu3_with_input_dims(dims: &[i64]) -> Vec<u8> {
    let mut m = proto("relu3");
    let input = &mut m.graph.as_mut().unwrap().input[0];
    let Some(type_proto::Value::TensorType(t)) = input.r#type.as_mut().unwrap().value.as_mut()
    else {
        panic!("relu3's input is a tensor");
    };
    t.shape.as_mut().unwrap().dim = dims
        .iter()
        .map(|d| pb::tensor_shape_proto::Dimension {
            denotation: String::new(),
            value: Some(Dim::DimValue(*d)),
        })
        .collect();
    m.encode_to_vec()
}

/// linear with its `weight` initializer declared of shape `dims` (its data unchanged).
fn linear_with_weight_dims(dims: &[i64]) -> Vec<u8> {
    let mut m = proto("linear");
    let weight = m
        .graph
        .as_mut()
        .unwrap()
        .initializer
        .iter_mut()
        .find(|t| t.name == "weight")
        .unwrap();
    weight.dims = dims.to_vec();
    m.encode_to_vec()
}

/// The ONNX files of `tests/fixtures/refused/` with shapes that cannot be proven (also what
/// `tests/cli.rs` compiles): name, bytes, the tensor and the reason the refusal names.
fn refused_shapes() -> Vec<(&'static str, Vec<u8>, &'static str, &'static str)> {
    vec![
        (
            "shape_input_dim_zero",
            relu3_with_input_dims(&[1, 0]),
            "input",
            "dimension 1 is 0; dimensions must be positive",
        ),
        (
            "shape_input_dim_negative",
            relu3_with_input_dims(&[1, -5]),
            "input",
            "dimension 1 is -5; dimensions must be positive",
        ),
        (
            "shape_input_dim_2pow62",
            relu3_with_input_dims(&[1, 1 << 62]),
            "input",
            "dimension 1 is 4611686018427387904, which makes more than 268435456 (2^28) elements",
        ),
        (
            "shape_input_dim_1e9",
            relu3_with_input_dims(&[1, 1_000_000_000]),
            "input",
            "dimension 1 is 1000000000, which makes more than 268435456 (2^28) elements",
        ),
        (
            "shape_input_elements_2pow30",
            relu3_with_input_dims(&[1 << 15, 1 << 15]),
            "input",
            "dimension 1 is 32768, which makes more than 268435456 (2^28) elements",
        ),
        (
            "shape_weight_dim_2pow62",
            linear_with_weight_dims(&[4, 1 << 62]),
            "weight",
            "dimension 1 is 4611686018427387904, which makes more than",
        ),
        (
            "shape_weight_dim_negative",
            linear_with_weight_dims(&[4, -3]),
            "weight",
            "dimension 1 is -3; dimensions must be non-negative",
        ),
    ]
}

#[test]
fn declared_shapes_that_cannot_be_proven_are_refused_naming_the_tensor_and_dimension() {
    assert_eq!(MAX_ELEMENTS, 1 << 28);
    let regenerate = std::env::var_os("SNARKML_REGENERATE_FIXTURES").is_some();
    for (name, bytes, tensor, reason) in refused_shapes() {
        let path = fixture(&format!("refused/{name}.onnx"));
        if regenerate {
            std::fs::write(&path, &bytes).unwrap();
        }
        assert_eq!(
            std::fs::read(&path).ok().as_deref(),
            Some(&bytes[..]),
            "{name}: the fixture differs from what this test makes; regenerate it with SNARKML_REGENERATE_FIXTURES=1"
        );
        let err = common::parse_onnx(&path).unwrap_err();
        assert!(
            matches!(&err, CircuitError::BadShape { tensor: t, reason: r, .. } if t == tensor && r.contains(reason)),
            "{name}: {err}"
        );
        // Compiling refuses the same way, on one line, before any sample is looked at.
        let err = compile(&path, &[vec![vec![0.0; 3]]], &CompileOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("ONNX tensor `{tensor}` has shape [")),
            "{err}"
        );
        assert!(err.contains(reason), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // A symbolic (batch) dimension is still one sample, and positive dimensions compile.
    let ok = relu3_with_input_dims(&[1, 3]);
    let graph = snarkml_circuits::model::onnx::parse(snarkml_circuits::model::onnx::OnnxBytes {
        bytes: &ok,
        name: "ok",
    })
    .unwrap();
    assert_eq!(graph.tensors[graph.inputs[0]].shape, [1, 3]);
}

/// A proof file's bytes parsed, and checked against what its instances prove for `model`.
fn for_model(bytes: &[u8], model: &CompiledModel) -> Result<ProofFile, CircuitError> {
    ProofFile::parse(bytes)?.check_against(model)
}

#[test]
fn a_proof_file_parsed_for_its_model_checks_every_field_it_shows() {
    let (model, _, _, q, proof) = relu3_proof(Transcript::Keccak);
    let file = ProofFile::new(&model, &proof, &q, "vk", "srs");
    assert_eq!(for_model(&file.to_json().unwrap(), &model).unwrap(), file);
    // Edited outputs that the old self-consistency check let through (it ignored `values`).
    let mut edited = file.clone();
    edited.outputs[0].values = vec![7.0, 7.0, 7.0];
    let bytes = edited.to_json().unwrap();
    ProofFile::from_json(&bytes).expect("self-consistent: only the values were edited");
    let err = for_model(&bytes, &model).unwrap_err().to_string();
    assert!(
        err.starts_with("proof file field `outputs[0].values[0]` shows 7 but the proof proves 0"),
        "{err}"
    );
}
