//! Input files: one set of model inputs (`{"input_data": …}`, with the salts of hashed
//! tensors), calibration samples, and field elements as users write them.

use crate::error::{CircuitError, Result};
use crate::fixed_point::field_from_hex;
use crate::json::{from_json, to_json};
use crate::Fr;
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One set of model inputs: `{"input_data": [[…floats of input 0…], …]}`, the layout other
/// tools already use, and optionally the salts of hashed inputs and outputs by tensor name
/// (`{"salts": {"input": "0x…"}}`; a hashed tensor without one gets a random salt). Each
/// input is flat or nested in its shape (`[[[0.1, …], …]]`): nested arrays are read in
/// row-major order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputFile {
    /// One flat vector per model input.
    #[serde(deserialize_with = "flattened_inputs")]
    pub input_data: Vec<Vec<f32>>,
    /// Salts of hashed tensors, by ONNX name: field elements as `0x` hex or decimal.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub salts: BTreeMap<String, String>,
}

/// Reads `input_data`: one array per model input, each flat or nested to any depth.
fn flattened_inputs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Vec<f32>>, D::Error> {
    fn flatten(v: &serde_json::Value, out: &mut Vec<f32>) -> std::result::Result<(), String> {
        match v {
            serde_json::Value::Number(n) => out.push(n.as_f64().unwrap_or(f64::NAN) as f32),
            // Boolean model inputs (masks, flags).
            serde_json::Value::Bool(b) => out.push(f32::from(u8::from(*b))),
            serde_json::Value::Array(items) => {
                for item in items {
                    flatten(item, out)?;
                }
            }
            other => {
                return Err(format!(
                    "expected a number, a boolean or an array, got {other}"
                ))
            }
        }
        Ok(())
    }
    let inputs = Vec::<serde_json::Value>::deserialize(d)?;
    inputs
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if !v.is_array() {
                return Err(serde::de::Error::custom(format!(
                    "input_data[{i}] is not an array: input_data holds one array per model input ([[…]] for one input)"
                )));
            }
            let mut flat = Vec::new();
            flatten(v, &mut flat)
                .map_err(|e| serde::de::Error::custom(format!("input_data[{i}]: {e}")))?;
            Ok(flat)
        })
        .collect()
}

/// Parses a field element written as `0x` hex (at most 64 digits) or decimal.
pub fn parse_field(s: &str) -> Option<Fr> {
    if s.starts_with("0x") {
        return field_from_hex(s);
    }
    if s.is_empty() || s.len() > 78 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ten = Fr::from(10);
    let value = s
        .bytes()
        .fold(Fr::ZERO, |acc, d| acc * ten + Fr::from(u64::from(d - b'0')));
    // Reject values that wrapped around the modulus.
    (field_to_decimal(&value) == s.trim_start_matches('0')).then_some(value)
}

/// A field element in decimal, without leading zeros (zero is the empty string).
fn field_to_decimal(f: &Fr) -> String {
    let mut digits = Vec::new();
    let mut limbs: Vec<u64> = f
        .to_repr()
        .as_ref()
        .chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    while limbs.iter().any(|l| *l != 0) {
        let mut rem = 0u128;
        for limb in limbs.iter_mut().rev() {
            let cur = (rem << 64) | u128::from(*limb);
            *limb = (cur / 10) as u64;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    digits.reverse();
    String::from_utf8(digits).expect("ascii digits")
}

impl InputFile {
    /// Parses an input file.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        from_json(
            bytes,
            "input file (expected {\"input_data\": [[...], ...]})",
        )
    }

    /// The file's bytes.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        to_json(self, "input file")
    }
}

/// Parses calibration samples, each one vector per model input: `{"inputs": [sample, …]}`
/// where a sample is the flat data of a single-input model, or one flat vector per input; an
/// [`InputFile`] is one sample too. Each form is tried in turn, so that a file of none of them
/// is refused saying which part is wrong.
pub fn parse_calibration(bytes: &[u8]) -> Result<Vec<Vec<Vec<f32>>>> {
    const WHAT: &str =
        "calibration file (expected {\"inputs\": [[...], ...]} or {\"input_data\": [[...]]})";
    let bad = |reason: String| CircuitError::Json { what: WHAT, reason };
    let file: serde_json::Value = from_json(bytes, WHAT)?;
    let Some(inputs) = file.get("inputs") else {
        if file.get("input_data").is_some() {
            return Ok(vec![
                InputFile::deserialize(&file)
                    .map_err(|e| bad(e.to_string()))?
                    .input_data,
            ]);
        }
        return Err(bad("it has neither `inputs` nor `input_data`".into()));
    };
    if let Ok(single) = Vec::<Vec<f32>>::deserialize(inputs) {
        return Ok(single.into_iter().map(|s| vec![s]).collect());
    }
    Vec::<Vec<Vec<f32>>>::deserialize(inputs).map_err(|e| {
        bad(format!(
            "`inputs` is neither a list of flat samples nor of one flat vector per input: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_files_of_each_form_parse_and_others_are_refused_naming_the_form() {
        let single = br#"{"inputs": [[1.5, 2], [3, 4.25]]}"#;
        assert_eq!(
            parse_calibration(single).unwrap(),
            vec![vec![vec![1.5, 2.0]], vec![vec![3.0, 4.25]]]
        );
        let multi = br#"{"inputs": [[[1], [2, 3]], [[4], [5, 6]]]}"#;
        assert_eq!(
            parse_calibration(multi).unwrap(),
            vec![
                vec![vec![1.0], vec![2.0, 3.0]],
                vec![vec![4.0], vec![5.0, 6.0]]
            ]
        );
        let one = br#"{"input_data": [[[0.5, 1]]]}"#;
        assert_eq!(parse_calibration(one).unwrap(), vec![vec![vec![0.5, 1.0]]]);
        for (bad, says) in [
            (
                &br#"{"samples": [[1]]}"#[..],
                "neither `inputs` nor `input_data`",
            ),
            (br#"{"inputs": [["a"]]}"#, "neither a list of flat samples"),
            (br#"{"inputs": 3}"#, "neither a list of flat samples"),
            (br#"{"input_data": 3}"#, "input_data"),
            (b"[1, 2", "calibration file"),
        ] {
            match parse_calibration(bad).unwrap_err() {
                CircuitError::Json { what, reason } => {
                    assert!(what.starts_with("calibration file"), "{what}");
                    let text = format!("{what}: {reason}");
                    assert!(text.contains(says), "{text}");
                }
                other => panic!("expected a Json error, got {other:?}"),
            }
        }
    }

    #[test]
    fn fields_parse_from_hex_and_decimal_and_wrapping_is_refused() {
        assert_eq!(parse_field("0"), Some(Fr::ZERO));
        assert_eq!(parse_field("007"), Some(Fr::from(7)));
        assert_eq!(parse_field("0x0a"), Some(Fr::from(10)));
        let r_minus_1 =
            "21888242871839275222246405745257275088548364400416034343698204186575808495616";
        assert_eq!(parse_field(r_minus_1), Some(-Fr::ONE));
        let r = "21888242871839275222246405745257275088548364400416034343698204186575808495617";
        assert_eq!(parse_field(r), None);
        for bad in ["", "-1", "1.5", "0xzz", "12a"] {
            assert_eq!(parse_field(bad), None, "{bad}");
        }
    }
}
