//! Structural checks of a compiled model read from disk.

use super::{CompiledModel, Layer, QTensor, Visibility};
use crate::model::{Activation, TensorId};

impl CompiledModel {
    /// Checks the structure a hand-edited or corrupted file could break (tensor ids, lengths,
    /// table widths, layout), so that nothing later indexes out of range.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let n = self.tensors.len();
        let numel = |t: TensorId| -> std::result::Result<usize, String> {
            self.tensors
                .get(t)
                .map(QTensor::numel)
                .ok_or_else(|| format!("tensor id {t} out of range (there are {n})"))
        };
        let len_is = |what: &str, got: usize, want: usize| {
            if got == want {
                Ok(())
            } else {
                Err(format!("{what}: {got} values where {want} are needed"))
            }
        };
        if !(3..=64).contains(&self.layout.width) || !(4..=super::MAX_K).contains(&self.layout.k) {
            return Err(format!(
                "layout width {} / k {} out of range",
                self.layout.width, self.layout.k
            ));
        }
        let tables = &self.tables;
        if tables
            .activations
            .iter()
            .filter(|(act, bits)| !tables.limbed_table(**act, **bits))
            .map(|(_, bits)| bits)
            .chain(&tables.range_shifts)
            .any(|b| *b == 0 || *b > 24)
        {
            return Err("a lookup table width is outside 1..=24 bits".into());
        }
        if tables.limb_bits.is_some_and(|l| l == 0 || l > 24)
            || tables.limbed_identity().is_some_and(|b| b > 64)
        {
            return Err("a limb width is outside 1..=24 bits or a range past 64 bits".into());
        }
        if tables.gains.values().any(|g| *g > super::MAX_GAIN) {
            return Err(format!(
                "an activation's output gain is past {} bits",
                super::MAX_GAIN
            ));
        }
        // Every limb of every limbed check needs its range table.
        let has_range = |bits: u32| {
            tables
                .limbs(bits)
                .iter()
                .all(|b| tables.range_shifts.contains(b))
        };
        if tables.limbed_identity().is_some_and(|b| !has_range(b)) {
            return Err("no range tables for the limbs of the identity checks".into());
        }
        if self.weights == Visibility::Public {
            return Err("weights are fixed, private or hashed, never public".into());
        }
        self.weights_salt().map_err(|e| e.to_string())?;
        for io in self.inputs.iter().chain(&self.outputs) {
            numel(io.tensor)?;
            if !(2..=126).contains(&io.pack_bits) {
                return Err(format!("pack width {} out of range", io.pack_bits));
            }
            if io.visibility == Visibility::Fixed {
                return Err(
                    "an input or output cannot be `fixed` (public, private or hashed)".into(),
                );
            }
        }
        let act_ok = |act: &Activation| self.tables.activations.contains_key(act);
        for layer in &self.layers {
            let node = layer.node();
            let with =
                |r: std::result::Result<(), String>| r.map_err(|e| format!("layer `{node}`: {e}"));
            match layer {
                Layer::Dense {
                    input,
                    output,
                    n_in,
                    n_out,
                    weight,
                    bias,
                    rescale,
                    ..
                } => {
                    let (i, o) = (numel(*input)?, numel(*output)?);
                    with(len_is("weights", weight.len(), n_in * n_out))?;
                    with(len_is("bias", bias.len(), *n_out))?;
                    if *n_in == 0 || i % n_in != 0 || o != i / n_in * n_out {
                        return with(Err("input and output sizes do not fit the matrix".into()));
                    }
                    if rescale.is_some_and(|r| !act_ok(&r.act)) {
                        return with(Err("no table for its activation".into()));
                    }
                }
                Layer::Conv {
                    input,
                    output,
                    geometry,
                    weight,
                    bias,
                    rescale,
                    ..
                } => {
                    let in_shape = [
                        vec![geometry.batch, geometry.in_channels],
                        geometry.in_spatial.clone(),
                    ]
                    .concat();
                    with(len_is("input", numel(*input)?, in_shape.iter().product()))?;
                    with(len_is(
                        "output",
                        numel(*output)?,
                        geometry.output_shape().iter().product(),
                    ))?;
                    with(len_is("weights", weight.len(), geometry.weight_len()))?;
                    with(len_is("bias", bias.len(), geometry.out_channels))?;
                    if rescale.is_some_and(|r| !act_ok(&r.act)) {
                        return with(Err("no table for its activation".into()));
                    }
                }
                Layer::Affine {
                    input,
                    output,
                    weight,
                    bias,
                    rescale,
                    ..
                } => {
                    let o = numel(*output)?;
                    with(len_is("input", numel(*input)?, o))?;
                    with(len_is("weights", weight.len(), o))?;
                    with(len_is("bias", bias.len(), o))?;
                    if rescale.is_some_and(|r| !act_ok(&r.act)) {
                        return with(Err("no table for its activation".into()));
                    }
                }
                Layer::Select {
                    inputs,
                    output,
                    map,
                    ..
                } => {
                    with(len_is("map", map.len(), numel(*output)?))?;
                    let sizes = inputs
                        .iter()
                        .map(|t| numel(*t))
                        .collect::<std::result::Result<Vec<_>, _>>()?;
                    if map
                        .iter()
                        .flatten()
                        .any(|(a, i)| sizes.get(*a as usize).is_none_or(|s| *i as usize >= *s))
                    {
                        return with(Err("an index points outside its operand".into()));
                    }
                }
                Layer::MaxPool {
                    input,
                    output,
                    windows,
                    ..
                }
                | Layer::Sum {
                    input,
                    output,
                    windows,
                    ..
                } => {
                    let size = numel(*input)?;
                    with(len_is("windows", windows.len(), numel(*output)?))?;
                    if windows
                        .iter()
                        .any(|w| w.is_empty() || w.iter().any(|i| *i as usize >= size))
                    {
                        return with(Err("a window is empty or points outside the input".into()));
                    }
                    if matches!(layer, Layer::MaxPool { .. }) && !act_ok(&Activation::Relu) {
                        return with(Err("no ReLU table for the comparisons".into()));
                    }
                }
                Layer::Add { a, b, output, .. } => {
                    let o = numel(*output)?;
                    with(len_is("left operand", numel(*a)?, o))?;
                    with(len_is("right operand", numel(*b)?, o))?;
                }
                Layer::Product {
                    a,
                    b,
                    output,
                    dims,
                    rescale,
                    ..
                } => {
                    let (la, lb, lo) = dims.lens();
                    with(len_is("left operand", numel(*a)?, la))?;
                    with(len_is("right operand", numel(*b)?, lb))?;
                    with(len_is("output", numel(*output)?, lo))?;
                    if dims.k == 0 {
                        return with(Err("an empty contraction".into()));
                    }
                    if rescale.is_some_and(|r| !act_ok(&r.act)) {
                        return with(Err("no table for its activation".into()));
                    }
                }
                Layer::Div {
                    a,
                    b,
                    output,
                    range_bits,
                    ..
                } => {
                    let o = numel(*output)?;
                    with(len_is("dividend", numel(*a)?, o))?;
                    with(len_is("divisor", numel(*b)?, o))?;
                    if !has_range(*range_bits) || !act_ok(&Activation::Identity) {
                        return with(Err("no range table for its remainders".into()));
                    }
                }
                Layer::AddConst {
                    input,
                    constant,
                    output,
                    ..
                } => {
                    let o = numel(*output)?;
                    with(len_is("input", numel(*input)?, o))?;
                    with(len_is("constant", constant.len(), o))?;
                }
                Layer::Activation {
                    act, input, output, ..
                } => {
                    with(len_is("input", numel(*input)?, numel(*output)?))?;
                    if !act_ok(act) {
                        return with(Err("no table for its activation".into()));
                    }
                }
                Layer::Reshape { input, output, .. } => {
                    with(len_is("input", numel(*input)?, numel(*output)?))?
                }
            }
        }
        if !self.inputs.is_empty() && !act_ok(&Activation::Identity) {
            return Err("no identity table for the input range checks".into());
        }
        Ok(())
    }
}
