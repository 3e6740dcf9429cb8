//! Corpus models compiled for a test, and the lie about a division's quotient that its
//! remainder's range check must catch (shared by the op-coverage and quantized-model tests).

use super::{compile_stem, failures, first_element_off_by, fixture, fixture_samples, input_file};
use snarkml_circuits::halo2_proofs::dev::VerifyFailure;
use snarkml_circuits::layout::range_tag;
use snarkml_circuits::model::layers::Div;
use snarkml_circuits::prover::failure_row;
use snarkml_circuits::quantize::{CompileOptions, CompiledModel, Layer};

/// A corpus model compiled with `opts` on its calibration samples, its input file's first
/// input and that input quantized.
pub(crate) fn corpus_at(
    name: &str,
    opts: &CompileOptions,
) -> (CompiledModel, Vec<f32>, Vec<Vec<i64>>) {
    let stem = format!("corpus/{name}");
    let model = compile_stem(&stem, &fixture_samples(&stem), opts).unwrap();
    let input = input_file(&fixture(&format!("{stem}.input.json"))).unwrap();
    let q = model.quantize_inputs(&input.input_data).unwrap();
    (model, input.input_data[0].clone(), q)
}

/// A corpus model compiled on its calibration samples, and its input quantized.
pub(crate) fn corpus_model(name: &str) -> (CompiledModel, Vec<Vec<i64>>) {
    let (model, _, q) = corpus_at(name, &CompileOptions::default());
    (model, q)
}

/// The first quotient of the division `layer` claimed one unit higher (the rest computed
/// from it) fails the first remainder's range check, and nothing else.
pub(crate) fn assert_quotient_lie_fails_its_remainder_check(
    model: &CompiledModel,
    q: &[Vec<i64>],
    layer: usize,
) {
    let plan = first_element_off_by(model, q, layer, 1);
    // The first range check of the division layer (layers[0] of the plan is the inputs) is
    // the first element's remainder r, which a quotient one too high makes negative.
    let Layer::Div(Div { range_bits, .. }) = model.layers[layer] else {
        unreachable!()
    };
    let start = plan.layers[layer + 1].start;
    let limbs = model.tables.limbs(range_bits);
    // The quotient's own (signed) check may come first with the same tag (a whole quotient's
    // is as narrow as the remainders'; with limbs): r's is the first unsigned one (no offset
    // in its row's bias; with limbs, the chain's first row).
    let r_check = (start..plan.rows)
        .find(|r| {
            plan.lookup[*r]
                && plan.tag[*r] == range_tag(limbs[0])
                && plan.bias[*r] == 0
                && (limbs.len() == 1 || plan.dot_first[*r])
        })
        .unwrap();
    let f = failures(model, plan);
    if limbs.len() == 1 {
        // One lookup: the negative r is not in the range table.
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(
            matches!(&f[0], VerifyFailure::Lookup { name, .. } if name == "activation and range table"),
            "{f:#?}"
        );
        assert_eq!(failure_row(&f[0]), Some(r_check), "{f:#?}");
    } else {
        // Limbs: each limb is in its range, so they recompose a value in [0, 2^bits), never
        // the negative r: the copy of r into the chain's last accumulator fails, nothing else.
        let last = r_check + limbs.len() - 1;
        assert!(
            f.iter()
                .all(|e| matches!(e, VerifyFailure::Permutation { .. })),
            "{f:#?}"
        );
        assert!(
            f.iter().any(|e| failure_row(e) == Some(last)),
            "no failure at the limb chain's end, row {last}: {f:#?}"
        );
    }
}
