//! The quantized reference execution: the compiled model run on integers with exactly the
//! arithmetic the circuit constrains. The circuit's public outputs must equal these.

use crate::error::{CircuitError, Result};
use crate::fixed_point::{divide, rescale};
use crate::model::Activation;
use crate::model::{CompiledModel, Layer, Rescale};

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

/// Checks that `value` fits the signed `bits`-bit lookup table of `act`.
pub fn check_range(model: &CompiledModel, act: Activation, value: i128, node: &str) -> Result<()> {
    check_range_at(model, act, value, || format!("node `{node}`"))
}

/// [`check_range`] for a value of a place `at()` names.
fn check_range_at(
    model: &CompiledModel,
    act: Activation,
    value: i128,
    at: impl FnOnce() -> String,
) -> Result<()> {
    let bits = model.tables.activations.get(&act).copied().unwrap_or(0);
    let half = 1i128 << bits.saturating_sub(1);
    if bits == 0 || value < -half || value >= half {
        return Err(CircuitError::Overflow {
            at: at(),
            value,
            bits,
        });
    }
    Ok(())
}

/// Rescales (and activates) an accumulator, or keeps it when the layer has no rescale.
fn finish(model: &CompiledModel, acc: i128, rs: Option<Rescale>, node: &str) -> Result<i128> {
    match rs {
        Some(r) => {
            let (q, _) = rescale(acc, r.shift);
            check_range(model, r.act, q, node)?;
            Ok(model.tables.apply(r.act, q))
        }
        None => Ok(acc),
    }
}

fn narrow(v: i128, node: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| CircuitError::Overflow {
        at: format!("node `{node}`"),
        value: v,
        bits: 64,
    })
}

/// Runs the compiled model on quantized inputs.
pub fn run(model: &CompiledModel, inputs: &[Vec<i64>]) -> Result<Execution> {
    let mut values: Vec<Vec<i64>> = vec![Vec::new(); model.tensors.len()];
    for (spec, data) in model.inputs.iter().zip(inputs) {
        let name = &model.tensors[spec.tensor].name;
        for v in data {
            check_range_at(model, Activation::Identity, i128::from(*v), || {
                format!("input `{name}`")
            })?;
        }
        values[spec.tensor] = data.clone();
    }
    for layer in &model.layers {
        let node = layer.node();
        let (output, out) = match layer {
            Layer::Dense {
                input,
                output,
                n_in,
                n_out,
                weight,
                bias,
                rescale: rs,
                ..
            } => {
                let x = &values[*input];
                let mut out = Vec::with_capacity(x.len() / n_in * n_out);
                for row in x.chunks(*n_in) {
                    for j in 0..*n_out {
                        let acc = row
                            .iter()
                            .enumerate()
                            .fold(i128::from(bias[j]), |acc, (i, v)| {
                                acc + i128::from(*v) * i128::from(weight[i * n_out + j])
                            });
                        let y = finish(model, acc, *rs, node)?;
                        out.push(narrow(y, node)?);
                    }
                }
                (*output, out)
            }
            Layer::Conv {
                input,
                output,
                geometry,
                weight,
                bias,
                rescale: rs,
                ..
            } => {
                let x = &values[*input];
                let mut out = vec![0i64; geometry.output_shape().iter().product()];
                let mut err = None;
                geometry.for_each_output(|i, o, terms| {
                    let acc = terms.iter().fold(i128::from(bias[o]), |acc, (xi, wi)| {
                        acc + i128::from(x[*xi]) * i128::from(weight[*wi])
                    });
                    match finish(model, acc, *rs, node).and_then(|y| narrow(y, node)) {
                        Ok(y) => out[i] = y,
                        Err(e) => err = err.take().or(Some(e)),
                    }
                });
                if let Some(e) = err {
                    return Err(e);
                }
                (*output, out)
            }
            Layer::Affine {
                input,
                output,
                weight,
                bias,
                rescale: rs,
                ..
            } => {
                let out = values[*input]
                    .iter()
                    .zip(weight.iter().zip(bias))
                    .map(|(x, (w, b))| {
                        let acc = i128::from(*b) + i128::from(*x) * i128::from(*w);
                        finish(model, acc, *rs, node).and_then(|y| narrow(y, node))
                    })
                    .collect::<Result<_>>()?;
                (*output, out)
            }
            Layer::MaxPool {
                input,
                output,
                windows,
                min,
                ..
            } => {
                let x = &values[*input];
                let out = windows
                    .iter()
                    .map(|w| {
                        // As the circuit computes it: each difference goes through the ReLU
                        // table (max: acc + relu(x − acc); min: acc − relu(acc − x)).
                        let mut acc = i128::from(x[w[0] as usize]);
                        for i in &w[1..] {
                            let x = i128::from(x[*i as usize]);
                            let diff = if *min { acc - x } else { x - acc };
                            check_range(model, Activation::Relu, diff, node)?;
                            acc += if *min { -diff.max(0) } else { diff.max(0) };
                        }
                        narrow(acc, node)
                    })
                    .collect::<Result<_>>()?;
                (*output, out)
            }
            Layer::Sum {
                input,
                output,
                windows,
                ..
            } => {
                let x = &values[*input];
                let out = windows
                    .iter()
                    .map(|w| narrow(w.iter().map(|i| i128::from(x[*i as usize])).sum(), node))
                    .collect::<Result<_>>()?;
                (*output, out)
            }
            Layer::Product {
                a,
                b,
                output,
                dims,
                rescale: rs,
                ..
            } => {
                let (x, y) = (&values[*a], &values[*b]);
                let mut out = vec![0i64; dims.lens().2];
                let mut err = None;
                dims.for_each(|o, pairs| {
                    let acc = pairs
                        .iter()
                        .map(|(i, j)| i128::from(x[*i]) * i128::from(y[*j]))
                        .sum();
                    match finish(model, acc, *rs, node).and_then(|v| narrow(v, node)) {
                        Ok(v) => out[o] = v,
                        Err(e) => err = err.take().or(Some(e)),
                    }
                });
                if let Some(e) = err {
                    return Err(e);
                }
                (*output, out)
            }
            Layer::Div {
                a,
                b,
                output,
                range_bits,
                ..
            } => {
                let out = values[*a]
                    .iter()
                    .zip(&values[*b])
                    .map(|(x, y)| {
                        let (x, y) = (i128::from(*x), i128::from(*y));
                        if y <= 0 {
                            return Err(CircuitError::BadValue {
                                what: format!("node `{node}`"),
                                reason: format!("division by a value that is not positive ({y})"),
                            });
                        }
                        // Both remainders r and 2b − 1 − r must fit the range table.
                        if 2 * y > 1i128 << range_bits {
                            return Err(CircuitError::Overflow {
                                at: format!("node `{node}`"),
                                value: y,
                                bits: *range_bits,
                            });
                        }
                        // The quotient keeps the dividend's scale.
                        let (q, _) = divide(x, y, model.tensors[*b].scale_bits);
                        check_range(model, Activation::Identity, q, node)?;
                        narrow(q, node)
                    })
                    .collect::<Result<_>>()?;
                (*output, out)
            }
            Layer::Select {
                inputs,
                output,
                map,
                ..
            } => {
                let out = map
                    .iter()
                    .map(|m| m.map_or(0, |(a, i)| values[inputs[a as usize]][i as usize]))
                    .collect();
                (*output, out)
            }
            Layer::Add {
                a, b, output, sub, ..
            } => {
                let sign = if *sub { -1 } else { 1 };
                let out = values[*a]
                    .iter()
                    .zip(&values[*b])
                    .map(|(x, y)| narrow(i128::from(*x) + sign * i128::from(*y), node))
                    .collect::<Result<_>>()?;
                (*output, out)
            }
            Layer::AddConst {
                input,
                constant,
                output,
                ..
            } => {
                let out = values[*input]
                    .iter()
                    .zip(constant)
                    .map(|(x, c)| narrow(i128::from(*x) + i128::from(*c), node))
                    .collect::<Result<_>>()?;
                (*output, out)
            }
            Layer::Activation {
                act, input, output, ..
            } => {
                let out = values[*input]
                    .iter()
                    .map(|x| {
                        check_range(model, *act, i128::from(*x), node)?;
                        narrow(model.tables.apply(*act, i128::from(*x)), node)
                    })
                    .collect::<Result<_>>()?;
                (*output, out)
            }
            Layer::Reshape { input, output, .. } => (*output, values[*input].clone()),
        };
        values[output] = out;
    }
    Ok(Execution { values })
}
