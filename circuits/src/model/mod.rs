//! The float model graph: what the compiler understood of an ONNX file, before quantization.

pub mod activation;
pub mod compiled;
pub mod conv;
pub mod layers;
pub mod onnx;

pub use activation::{Activation, Param};
pub use compiled::{
    commit_values, min_k, CompiledModel, IoSpec, LayoutParams, QTensor, QuantReport, Tables,
    Visibility, FORMAT_VERSION, LIMB_BITS, MAX_GAIN, MAX_K, RESERVED_ROWS,
};
pub use conv::ConvGeometry;
pub use layers::{Layer, LinearCheck, Rescale};

use serde::{Deserialize, Serialize};

/// Index of a tensor in [`FloatGraph::tensors`].
pub type TensorId = usize;

/// A tensor computed by the model (inputs included; constants are folded into ops).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorDef {
    /// The ONNX value name.
    pub name: String,
    /// Its static shape.
    pub shape: Vec<usize>,
}

impl TensorDef {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// One operation of the float graph, in topological order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FloatOp {
    /// `out[r, j] = Σ_i in[r, i]·weight[i, j] + bias[j]` over the last axis.
    Dense {
        /// ONNX node name.
        node: String,
        /// Input tensor, shape `[.., n_in]`.
        input: TensorId,
        /// Output tensor, shape `[.., n_out]`.
        output: TensorId,
        /// Length of the contracted axis.
        n_in: usize,
        /// Length of the produced axis.
        n_out: usize,
        /// Row-major `[n_in, n_out]`.
        weight: Vec<f32>,
        /// `[n_out]`, zeros when the node has none.
        bias: Vec<f32>,
    },
    /// A convolution (any spatial rank, stride, padding, dilation, groups).
    Conv {
        /// ONNX node name.
        node: String,
        /// Input `[N, C, spatial…]`.
        input: TensorId,
        /// Output `[N, O, spatial'…]`.
        output: TensorId,
        /// The geometry.
        geometry: ConvGeometry,
        /// `[O, C / group, kernel…]`.
        weight: Vec<f32>,
        /// `[O]`, zeros when the node has none.
        bias: Vec<f32>,
    },
    /// `out[i] = in[i]·scale[i] + shift[i]`: multiplication, division and subtraction by
    /// constants, inference batch normalization.
    Affine {
        /// ONNX node name.
        node: String,
        /// Operand.
        input: TensorId,
        /// Result (same shape).
        output: TensorId,
        /// One factor per element.
        scale: Vec<f32>,
        /// One offset per element.
        shift: Vec<f32>,
    },
    /// A pure rearrangement: `out[i]` is an element of one of the inputs, or zero (padding).
    /// Transpose, Slice, Concat, Gather with constant indices, constant Pad.
    Select {
        /// ONNX node name.
        node: String,
        /// Operands.
        inputs: Vec<TensorId>,
        /// Result.
        output: TensorId,
        /// For each output element: `(operand, element)`, or `None` for a zero.
        map: Vec<Option<(u32, u32)>>,
    },
    /// `out[i] = max` of the input elements in window `i` (MaxPool, GlobalMaxPool, ReduceMax,
    /// Max), or the minimum with `min` (ReduceMin, Min).
    MaxPool {
        /// ONNX node name.
        node: String,
        /// Operand.
        input: TensorId,
        /// Result.
        output: TensorId,
        /// Input element indices of each output's window (padding excluded: it never wins).
        windows: Vec<Vec<u32>>,
        /// The minimum instead of the maximum.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        min: bool,
    },
    /// Element-wise sum (or difference, with `sub`) of two computed tensors of the same shape.
    Add {
        /// ONNX node name.
        node: String,
        /// Left operand.
        a: TensorId,
        /// Right operand.
        b: TensorId,
        /// Result.
        output: TensorId,
        /// `a − b` instead of `a + b`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        sub: bool,
    },
    /// A batched matrix product of two computed tensors (see [`ProductDims`]); element-wise
    /// multiplication is the case `m = k = n = 1`.
    Product {
        /// ONNX node name.
        node: String,
        /// Left operand, `[batch, m, k]` flattened.
        a: TensorId,
        /// Right operand, `[batch, k, n]` flattened.
        b: TensorId,
        /// Result, `[batch, m, n]` flattened.
        output: TensorId,
        /// The dimensions.
        dims: ProductDims,
    },
    /// `out[i] = a[i] / b[i]` for two computed tensors of the same shape (`b > 0`: softmax
    /// denominators, norms).
    Div {
        /// ONNX node name.
        node: String,
        /// Dividend.
        a: TensorId,
        /// Divisor.
        b: TensorId,
        /// Result.
        output: TensorId,
        /// The quotient rounded to a whole number: `round(a / b)`, ties to even as ONNX
        /// rounds (the circuit rounds them up), as dynamic quantization divides by its scale
        /// (`onnx/dynamic.rs`).
        whole: bool,
    },
    /// Floor division by a positive constant: `out[i] = ⌊in[i] / divisor⌋`, or with
    /// `remainder` the floor modulus `in[i] − divisor·⌊in[i] / divisor⌋` (in `[0, divisor)`):
    /// integer `Mod`, `BitShift` right, `BitwiseAnd` with a mask of low bits.
    FloorDiv {
        /// ONNX node name.
        node: String,
        /// Dividend.
        input: TensorId,
        /// Result.
        output: TensorId,
        /// The divisor (positive).
        divisor: f64,
        /// The remainder instead of the quotient.
        remainder: bool,
    },
    /// `out[i] = Σ` of the input elements in window `i` (ReduceSum and the sums inside
    /// softmax, layer normalization and the other reductions).
    Sum {
        /// ONNX node name.
        node: String,
        /// Operand.
        input: TensorId,
        /// Result.
        output: TensorId,
        /// Input element indices of each output's window.
        windows: Vec<Vec<u32>>,
    },
    /// Element-wise sum of a computed tensor and a constant (already broadcast to the output).
    AddConst {
        /// ONNX node name.
        node: String,
        /// The computed operand.
        input: TensorId,
        /// The constant, one value per output element.
        constant: Vec<f32>,
        /// Result.
        output: TensorId,
    },
    /// An element-wise activation.
    Activation {
        /// ONNX node name.
        node: String,
        /// Which function.
        act: Activation,
        /// Operand.
        input: TensorId,
        /// Result.
        output: TensorId,
    },
    /// A change of shape that keeps the elements in order (Reshape, Flatten, Squeeze, ...).
    Reshape {
        /// ONNX node name.
        node: String,
        /// Operand.
        input: TensorId,
        /// Result.
        output: TensorId,
    },
}

impl FloatOp {
    /// The ONNX node this op came from.
    pub fn node(&self) -> &str {
        match self {
            Self::Dense { node, .. }
            | Self::Conv { node, .. }
            | Self::Affine { node, .. }
            | Self::Select { node, .. }
            | Self::MaxPool { node, .. }
            | Self::Add { node, .. }
            | Self::AddConst { node, .. }
            | Self::Activation { node, .. }
            | Self::Product { node, .. }
            | Self::Div { node, .. }
            | Self::FloorDiv { node, .. }
            | Self::Sum { node, .. }
            | Self::Reshape { node, .. } => node,
        }
    }

    /// The tensor this op writes.
    pub fn output(&self) -> TensorId {
        match self {
            Self::Dense { output, .. }
            | Self::Conv { output, .. }
            | Self::Affine { output, .. }
            | Self::Select { output, .. }
            | Self::MaxPool { output, .. }
            | Self::Add { output, .. }
            | Self::AddConst { output, .. }
            | Self::Activation { output, .. }
            | Self::Product { output, .. }
            | Self::Div { output, .. }
            | Self::FloorDiv { output, .. }
            | Self::Sum { output, .. }
            | Self::Reshape { output, .. } => *output,
        }
    }

    /// The tensors this op reads.
    pub fn inputs(&self) -> Vec<TensorId> {
        match self {
            Self::Add { a, b, .. } | Self::Product { a, b, .. } | Self::Div { a, b, .. } => {
                vec![*a, *b]
            }
            Self::Select { inputs, .. } => inputs.clone(),
            Self::Dense { input, .. }
            | Self::Conv { input, .. }
            | Self::Affine { input, .. }
            | Self::MaxPool { input, .. }
            | Self::AddConst { input, .. }
            | Self::Activation { input, .. }
            | Self::FloorDiv { input, .. }
            | Self::Sum { input, .. }
            | Self::Reshape { input, .. } => vec![*input],
        }
    }
}

/// The shape of a batched matrix product `[batch, m, k] × [batch, k, n] → [batch, m, n]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDims {
    /// Independent products.
    pub batch: usize,
    /// Rows of the left operand.
    pub m: usize,
    /// The contracted length.
    pub k: usize,
    /// Columns of the right operand.
    pub n: usize,
}

impl ProductDims {
    /// Element-wise multiplication of `len` elements.
    pub fn elementwise(len: usize) -> Self {
        Self {
            batch: len,
            m: 1,
            k: 1,
            n: 1,
        }
    }

    /// Elements of the left operand, the right operand and the result.
    pub fn lens(&self) -> (usize, usize, usize) {
        (
            self.batch * self.m * self.k,
            self.batch * self.k * self.n,
            self.batch * self.m * self.n,
        )
    }

    /// Calls `f(out, pairs)` for every output element, in order, with the `(a, b)` element
    /// indices whose products it sums.
    pub fn for_each(&self, mut f: impl FnMut(usize, &[(usize, usize)])) {
        let Self { batch, m, k, n } = *self;
        let mut pairs = Vec::with_capacity(k);
        for bt in 0..batch {
            for i in 0..m {
                for j in 0..n {
                    pairs.clear();
                    pairs.extend((0..k).map(|t| ((bt * m + i) * k + t, (bt * k + t) * n + j)));
                    f((bt * m + i) * n + j, &pairs);
                }
            }
        }
    }
}

/// The element type a model input is declared with. Integers and booleans are exact values
/// (token ids, indices, masks, flags): an input file must give them as whole numbers within
/// the type, and they are represented exactly in fixed point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum InputType {
    /// `float32` (or another float type): any finite value.
    #[default]
    Float,
    /// `bool`: 0 or 1 (`false`, `true`).
    Bool,
    /// A signed or unsigned integer of `bits` bits.
    Int {
        /// Width of the type.
        bits: u32,
        /// Two's complement (else unsigned).
        signed: bool,
    },
}

impl InputType {
    /// The least and greatest value of an integer or boolean type; `None` for floats.
    pub fn bounds(self) -> Option<(f64, f64)> {
        match self {
            Self::Float => None,
            Self::Bool => Some((0.0, 1.0)),
            Self::Int { bits, signed: true } => {
                let half = 2f64.powi(bits as i32 - 1);
                Some((-half, half - 1.0))
            }
            Self::Int {
                bits,
                signed: false,
            } => Some((0.0, 2f64.powi(bits as i32) - 1.0)),
        }
    }

    /// Refuses ([`crate::error::CircuitError::BadValue`], naming model input `input`) the
    /// first of `data` that is not a value of this type.
    pub fn check_values(self, input: &str, data: &[f32]) -> crate::error::Result<()> {
        match data.iter().find_map(|v| self.refuse(*v)) {
            Some(reason) => Err(crate::error::CircuitError::BadValue {
                what: format!("input `{input}`"),
                reason,
            }),
            None => Ok(()),
        }
    }

    /// Why `value` is not a value of this type, if it is not.
    fn refuse(self, value: f32) -> Option<String> {
        let (lo, hi) = self.bounds()?;
        let v = f64::from(value);
        if v.fract() != 0.0 {
            return Some(format!(
                "{value} is not a whole number, as its {self} type needs"
            ));
        }
        (v < lo || v > hi).then(|| format!("{value} is outside its {self} type ({lo}..={hi})"))
    }
}

impl std::fmt::Display for InputType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Float => f.write_str("float"),
            Self::Bool => f.write_str("bool"),
            Self::Int { bits, signed } => write!(f, "{}int{bits}", if *signed { "" } else { "u" }),
        }
    }
}

/// A model as a graph of supported float ops.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FloatGraph {
    /// The model's name (the ONNX graph name, or the file stem).
    pub name: String,
    /// Every computed tensor.
    pub tensors: Vec<TensorDef>,
    /// The model inputs, in ONNX order.
    pub inputs: Vec<TensorId>,
    /// The declared element type of each input (floats when empty).
    #[serde(default)]
    pub input_types: Vec<InputType>,
    /// The model outputs, in ONNX order.
    pub outputs: Vec<TensorId>,
    /// The ops, in topological order.
    pub ops: Vec<FloatOp>,
}

impl FloatGraph {
    /// The declared element type of input `i`.
    pub fn input_type(&self, i: usize) -> InputType {
        self.input_types.get(i).copied().unwrap_or_default()
    }

    /// Runs the graph on floats (our own interpretation, used to check the import against tract)
    /// and returns the outputs.
    pub fn run_f32(&self, inputs: &[Vec<f32>]) -> Vec<Vec<f32>> {
        let values = self.run_f32_all(inputs);
        self.outputs.iter().map(|id| values[*id].clone()).collect()
    }

    /// Runs the graph on floats and returns the value of every tensor.
    pub fn run_f32_all(&self, inputs: &[Vec<f32>]) -> Vec<Vec<f32>> {
        let mut values: Vec<Vec<f32>> = vec![Vec::new(); self.tensors.len()];
        for (id, data) in self.inputs.iter().zip(inputs) {
            values[*id] = data.clone();
        }
        for op in &self.ops {
            let out = match op {
                FloatOp::Dense {
                    input,
                    n_in,
                    n_out,
                    weight,
                    bias,
                    ..
                } => {
                    let x = &values[*input];
                    let mut out = Vec::with_capacity(x.len() / n_in * n_out);
                    for row in x.chunks(*n_in) {
                        for j in 0..*n_out {
                            let dot: f32 = row
                                .iter()
                                .enumerate()
                                .map(|(i, v)| v * weight[i * n_out + j])
                                .sum();
                            out.push(dot + bias[j]);
                        }
                    }
                    out
                }
                FloatOp::Conv {
                    input,
                    geometry,
                    weight,
                    bias,
                    ..
                } => {
                    let x = &values[*input];
                    let mut out = vec![0f32; geometry.output_shape().iter().product()];
                    geometry.for_each_output(|i, o, terms| {
                        out[i] = bias[o]
                            + terms
                                .iter()
                                .map(|(xi, wi)| x[*xi] * weight[*wi])
                                .sum::<f32>();
                    });
                    out
                }
                FloatOp::Affine {
                    input,
                    scale,
                    shift,
                    ..
                } => values[*input]
                    .iter()
                    .zip(scale.iter().zip(shift))
                    .map(|(x, (a, b))| x * a + b)
                    .collect(),
                FloatOp::Select { inputs, map, .. } => map
                    .iter()
                    .map(|m| m.map_or(0.0, |(a, i)| values[inputs[a as usize]][i as usize]))
                    .collect(),
                FloatOp::MaxPool {
                    input,
                    windows,
                    min,
                    ..
                } => windows
                    .iter()
                    .map(|w| {
                        let xs = w.iter().map(|i| values[*input][*i as usize]);
                        if *min {
                            xs.fold(f32::INFINITY, f32::min)
                        } else {
                            xs.fold(f32::NEG_INFINITY, f32::max)
                        }
                    })
                    .collect(),
                FloatOp::Sum { input, windows, .. } => windows
                    .iter()
                    .map(|w| w.iter().map(|i| values[*input][*i as usize]).sum())
                    .collect(),
                FloatOp::Add { a, b, sub, .. } => values[*a]
                    .iter()
                    .zip(&values[*b])
                    .map(|(x, y)| if *sub { x - y } else { x + y })
                    .collect(),
                FloatOp::Product { a, b, dims, .. } => {
                    let (x, y) = (&values[*a], &values[*b]);
                    let mut out = vec![0f32; dims.lens().2];
                    dims.for_each(|o, pairs| {
                        out[o] = pairs.iter().map(|(i, j)| x[*i] * y[*j]).sum();
                    });
                    out
                }
                FloatOp::Div { a, b, whole, .. } => values[*a]
                    .iter()
                    .zip(&values[*b])
                    // ONNX rounds ties to even; the circuit rounds them up (see
                    // `ops/division.rs`).
                    .map(|(x, y)| {
                        if *whole {
                            (x / y).round_ties_even()
                        } else {
                            x / y
                        }
                    })
                    .collect(),
                FloatOp::FloorDiv {
                    input,
                    divisor,
                    remainder,
                    ..
                } => values[*input]
                    .iter()
                    .map(|x| {
                        let x = f64::from(*x);
                        let q = (x / divisor).floor();
                        (if *remainder { x - divisor * q } else { q }) as f32
                    })
                    .collect(),
                FloatOp::AddConst {
                    input, constant, ..
                } => values[*input]
                    .iter()
                    .zip(constant)
                    .map(|(x, c)| x + c)
                    .collect(),
                FloatOp::Activation { act, input, .. } => {
                    values[*input].iter().map(|x| act.apply_f32(*x)).collect()
                }
                FloatOp::Reshape { input, .. } => values[*input].clone(),
            };
            values[op.output()] = out;
        }
        values
    }

    /// How many ops read each tensor (model outputs count as a reader).
    pub fn readers(&self) -> Vec<usize> {
        let mut readers = vec![0; self.tensors.len()];
        for op in &self.ops {
            for t in op.inputs() {
                readers[t] += 1;
            }
        }
        for t in &self.outputs {
            readers[*t] += 1;
        }
        readers
    }
}
