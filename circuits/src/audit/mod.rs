//! Accuracy audits: the labelled dataset, its Poseidon hash chain (the dataset commitment
//! `C_D`), the quantized reference count of correct predictions, and the Hoeffding bound on
//! how many samples an audit needs.
//!
//! The chain starts at [`CHAIN_START`] and takes one step per sample:
//! `h' = Poseidon(h ‖ pack(x) ‖ label)`, where `x` is the sample quantized as the model's input
//! and packed as public values are (`pack_bits` per value, [`crate::fixed_point::pack`]), so a
//! 64-pixel sample costs a few field elements to hash instead of 64. `C_D` is the chain's end.

pub mod chunk;

use crate::error::{CircuitError, Result};
use crate::fixed_point::pack;
use crate::model::CompiledModel;
use crate::poseidon;
use crate::Fr;
use halo2_proofs::halo2curves::ff::Field;
use serde::{Deserialize, Serialize};

/// Where the dataset hash chain starts (the `AuditBounty` contract's `CHAIN_START`).
pub const CHAIN_START: Fr = Fr::ZERO;

/// A labelled dataset: `{"inputs": [[…flat floats…], …], "labels": [3, 7, …]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// One flat input per sample (single-input models).
    pub inputs: Vec<Vec<f32>>,
    /// The class of each sample.
    pub labels: Vec<u32>,
}

impl Dataset {
    /// Parses a dataset file and checks it is well formed.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let data: Self = crate::json::from_json(
            bytes,
            "dataset (expected {\"inputs\": [[…], …], \"labels\": […]})",
        )?;
        if data.inputs.is_empty() {
            return Err(CircuitError::malformed("the dataset has no samples"));
        }
        if data.inputs.len() != data.labels.len() {
            return Err(CircuitError::malformed(format!(
                "{} inputs but {} labels",
                data.inputs.len(),
                data.labels.len()
            )));
        }
        Ok(data)
    }

    /// The file's bytes.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        crate::json::to_json(self, "dataset")
    }

    /// The samples quantized as `model`'s single input, with their labels; checks shapes and
    /// that every label is a class of the model's single output.
    pub fn quantize(&self, model: &CompiledModel) -> Result<Vec<(Vec<i64>, u32)>> {
        if model.inputs.len() != 1 || model.outputs.len() != 1 {
            return Err(CircuitError::Incompatible(format!(
                "audits need a model with one input and one output; `{}` has {} and {}",
                model.name,
                model.inputs.len(),
                model.outputs.len()
            )));
        }
        let classes = model.tensors[model.outputs[0].tensor].numel();
        self.inputs
            .iter()
            .zip(&self.labels)
            .enumerate()
            .map(|(i, (x, label))| {
                if *label as usize >= classes {
                    return Err(CircuitError::BadValue {
                        what: format!("sample {i}"),
                        reason: format!(
                            "label {label} is not one of the model's {classes} classes"
                        ),
                    });
                }
                let q = model
                    .quantize_inputs(std::slice::from_ref(x))
                    .map_err(|e| CircuitError::BadValue {
                        what: format!("sample {i}"),
                        reason: e.to_string(),
                    })?;
                Ok((q.into_iter().next().expect("one input"), *label))
            })
            .collect()
    }
}

/// One step of the dataset hash chain.
pub fn chain_step(h: Fr, x: &[i64], label: u32, pack_bits: u32) -> Fr {
    let mut message = vec![h];
    message.extend(pack(x, pack_bits));
    message.push(Fr::from(u64::from(label)));
    poseidon::hash(&message)
}

/// The chain over `samples` from `start`: every intermediate value, `start` first.
pub fn chain(start: Fr, samples: &[(Vec<i64>, u32)], pack_bits: u32) -> Vec<Fr> {
    let mut out = Vec::with_capacity(samples.len() + 1);
    out.push(start);
    let mut h = start;
    for (x, label) in samples {
        h = chain_step(h, x, *label, pack_bits);
        out.push(h);
    }
    out
}

/// The dataset commitment `C_D` of `samples` (quantized for `model`).
pub fn dataset_commitment(model: &CompiledModel, samples: &[(Vec<i64>, u32)]) -> Fr {
    *chain(CHAIN_START, samples, model.inputs[0].pack_bits)
        .last()
        .expect("the chain has its start")
}

/// The prediction: the first index of the largest value.
pub fn argmax(values: &[i64]) -> usize {
    values
        .iter()
        .enumerate()
        .fold(
            (0, i64::MIN),
            |(bi, bv), (i, v)| if *v > bv { (i, *v) } else { (bi, bv) },
        )
        .0
}

/// How many `samples` the quantized model classifies correctly (the reference the audit
/// proof must reproduce).
pub fn correct_count(model: &CompiledModel, samples: &[(Vec<i64>, u32)]) -> Result<usize> {
    let mut correct = 0;
    for (x, label) in samples {
        let out = crate::exec::run(model, std::slice::from_ref(x))?.outputs(model);
        if argmax(&out[0]) == *label as usize {
            correct += 1;
        }
    }
    Ok(correct)
}

/// Hoeffding's bound: the samples needed so that the measured accuracy is within `epsilon` of
/// the true one with probability `confidence`: `n = ⌈ln(2/δ) / (2ε²)⌉`, `δ = 1 − confidence`.
pub fn sample_size(epsilon: f64, confidence: f64) -> Result<u64> {
    if !(epsilon > 0.0 && epsilon < 1.0) {
        return Err(CircuitError::bad_option(
            "epsilon",
            format!("epsilon {epsilon} is not in (0, 1)"),
        ));
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(CircuitError::bad_option(
            "confidence",
            format!("confidence {confidence} is not in (0, 1)"),
        ));
    }
    let delta = 1.0 - confidence;
    Ok(((2.0 / delta).ln() / (2.0 * epsilon * epsilon)).ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hoeffding_sample_sizes() {
        // ln(20) / 0.0002 = 14978.66…
        assert_eq!(sample_size(0.01, 0.9).unwrap(), 14_979);
        assert_eq!(sample_size(0.05, 0.95).unwrap(), 738);
        for (e, c, bad) in [
            (0.0, 0.9, "epsilon"),
            (1.0, 0.9, "epsilon"),
            (0.1, 1.0, "confidence"),
            (0.1, 0.0, "confidence"),
            (f64::NAN, 0.5, "epsilon"),
        ] {
            match sample_size(e, c) {
                Err(CircuitError::BadOption { option, .. }) => assert_eq!(option, bad, "{e} {c}"),
                other => panic!("{e} {c}: {other:?}"),
            }
        }
    }

    #[test]
    fn chain_binds_order_values_and_labels() {
        let a = (vec![1, 2, 3], 1);
        let b = (vec![1, 2, 4], 1);
        let c = (vec![1, 2, 3], 2);
        let end = |s: &[(Vec<i64>, u32)]| *chain(CHAIN_START, s, 8).last().unwrap();
        let ab = end(&[a.clone(), b.clone()]);
        assert_ne!(ab, end(&[b.clone(), a.clone()]));
        assert_ne!(ab, end(&[a.clone(), c]));
        assert_ne!(ab, end(std::slice::from_ref(&a)));
        // Step by step equals the whole chain.
        let h1 = chain_step(CHAIN_START, &a.0, a.1, 8);
        assert_eq!(chain_step(h1, &b.0, b.1, 8), ab);
    }

    #[test]
    fn argmax_takes_the_first_largest() {
        assert_eq!(argmax(&[1, 5, 5, 2]), 1);
        assert_eq!(argmax(&[-3, -1, -2]), 1);
        assert_eq!(argmax(&[7]), 0);
    }
}
