//! The quantized reference execution: the compiled model run on integers with exactly the
//! arithmetic the circuit constrains. The circuit's public outputs must equal these.

use crate::error::{CircuitError, Result};
use crate::fixed_point::fits_signed;
use crate::model::{Activation, CompiledModel};
use crate::ops::{check_range_at, Exec};

/// The value of every tensor after running the compiled model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    /// Quantized values, indexed by tensor id.
    pub values: Vec<Vec<i64>>,
}

impl Execution {
    /// The model outputs, in order.
    pub fn outputs(&self, model: &CompiledModel) -> Vec<Vec<i64>> {
        model
            .outputs
            .iter()
            .map(|o| self.values[o.tensor].clone())
            .collect()
    }
}

/// Runs the compiled model on quantized inputs, layer by layer (each by its
/// [`crate::ops::Op::execute`]).
pub fn run(model: &CompiledModel, inputs: &[Vec<i64>]) -> Result<Execution> {
    let mut values: Vec<Vec<i64>> = vec![Vec::new(); model.tensors.len()];
    for (spec, data) in model.inputs.iter().zip(inputs) {
        let name = &model.tensors[spec.tensor].name;
        for (k, v) in data.iter().enumerate() {
            if spec.boundary {
                // A tensor from the previous segment: range-checked to its packing width.
                if !fits_signed(i128::from(*v), spec.pack_bits) {
                    return Err(CircuitError::Overflow {
                        at: format!("input `{name}`"),
                        value: i128::from(*v),
                        bits: spec.pack_bits,
                    });
                }
                continue;
            }
            check_range_at(model, Activation::Identity, i128::from(*v), || {
                match spec.feature_bits.len() {
                    0 => format!("input `{name}`"),
                    n => format!(
                        "input `{name}` element {k} (feature {}, quantized {} bits finer as the calibration set's range of that feature allowed)",
                        k % n,
                        spec.feature_bits[k % n]
                    ),
                }
            })?;
        }
        values[spec.tensor] = data.clone();
    }
    for layer in &model.layers {
        let op = layer.op();
        let out = op.execute(&Exec {
            model,
            values: &values,
            node: layer.node(),
        })?;
        values[op.output()] = out;
    }
    Ok(Execution { values })
}
