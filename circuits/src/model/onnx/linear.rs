//! Linear and affine ops: pooling, Conv, Add, Sub/Mul/Div by constants, batch normalization
//! (Gemm and MatMul with a constant operand: `matmul.rs`; the folds that merge them come
//! after import: `graph_folds.rs`).

use super::dims::broadcast;
use super::elementwise::broadcast_shapes;
use super::{attr_float, attr_int, attr_ints, auto_pads, invalid, unsupported, Importer, Operand};
use crate::error::Result;
use crate::model::{ConvGeometry, FloatOp, TensorId};
use tract_onnx::pb::NodeProto;

impl Importer {
    /// AveragePool and GlobalAveragePool as a depthwise convolution with weights `1/K`; with
    /// padding that does not count (`count_include_pad = 0`), a convolution of ones followed by
    /// a per-element division by the number of real elements in each window.
    pub(super) fn avg_pool(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let input = self.var(node, 0)?;
        let (geometry, kernel, pads, include_pad) = self.pool_geometry(node, input)?;
        let out_shape = geometry.output_shape();
        let window: usize = kernel.iter().product();
        let channels = geometry.in_channels;
        let bias = vec![0f32; channels];
        if include_pad || pads.iter().all(|p| *p == 0) {
            let weight = vec![1.0 / window as f32; geometry.weight_len()];
            return self.push(node, out_shape, |output| FloatOp::Conv {
                node: name,
                input,
                output,
                geometry,
                weight,
                bias,
            });
        }
        let mut counts = vec![0usize; out_shape.iter().product()];
        geometry.for_each_output(|i, _, terms| counts[i] = terms.len());
        let sum_name = format!("{}/window_sum", self.output_name(node)?);
        let sum = self.add_tensor(&sum_name, out_shape.clone());
        let weight = vec![1f32; geometry.weight_len()];
        self.graph.ops.push(FloatOp::Conv {
            node: name.clone(),
            input,
            output: sum,
            geometry,
            weight,
            bias,
        });
        let scale = counts.iter().map(|n| 1.0 / *n as f32).collect();
        let shift = vec![0f32; counts.len()];
        self.push(node, out_shape, |output| FloatOp::Affine {
            node: name,
            input: sum,
            output,
            scale,
            shift,
        })
    }

    /// MaxPool and GlobalMaxPool: the maximum over each window (padding excluded).
    pub(super) fn max_pool(&mut self, node: &NodeProto, name: String) -> Result<()> {
        if node.output.get(1).is_some_and(|o| !o.is_empty()) {
            return Err(unsupported(node, "the Indices output"));
        }
        let input = self.var(node, 0)?;
        let (geometry, ..) = self.pool_geometry(node, input)?;
        let mut windows = Vec::new();
        geometry.for_each_output(|_, _, terms| {
            windows.push(terms.iter().map(|(i, _)| *i as u32).collect::<Vec<u32>>())
        });
        if windows.iter().any(Vec::is_empty) {
            return Err(invalid(
                node,
                "a pooling window lies entirely in the padding".into(),
            ));
        }
        let shape = geometry.output_shape();
        self.push(node, shape, |output| FloatOp::MaxPool {
            node: name,
            input,
            output,
            windows,
            min: false,
        })
    }

    /// LpPool and GlobalLpPool: `(Σ |x|^p)^(1/p)` over each window (padding excluded), with
    /// p = 2 squared exactly by the product gate.
    pub(super) fn lp_pool(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let input = self.var(node, 0)?;
        let (geometry, ..) = self.pool_geometry(node, input)?;
        let p = attr_int(node, "p").unwrap_or(2);
        if p < 1 {
            return Err(invalid(node, format!("p = {p}")));
        }
        let shape = self.graph.tensors[input].shape.clone();
        let n = name.clone();
        let powered = if p == 2 {
            let dims = crate::model::ProductDims::elementwise(shape.iter().product());
            self.step(node, "square", shape, |output| FloatOp::Product {
                node: n,
                a: input,
                b: input,
                output,
                dims,
            })?
        } else {
            let abs = self.lookup(node, input, crate::model::Activation::Abs, "abs")?;
            if p == 1 {
                abs
            } else {
                let exponent = crate::model::Param::new(p as f32);
                self.lookup(
                    node,
                    abs,
                    crate::model::Activation::Pow { exponent },
                    "power",
                )?
            }
        };
        let mut windows = Vec::new();
        geometry.for_each_output(|_, _, terms| {
            windows.push(terms.iter().map(|(i, _)| *i as u32).collect::<Vec<u32>>())
        });
        let out_shape = geometry.output_shape();
        let n = name.clone();
        let sum = self.step(node, "sum", out_shape.clone(), |output| FloatOp::Sum {
            node: n,
            input: powered,
            output,
            windows,
        })?;
        let act = match p {
            1 => {
                return self.push(node, out_shape, |output| FloatOp::Reshape {
                    node: name,
                    input: sum,
                    output,
                })
            }
            2 => crate::model::Activation::Sqrt,
            _ => crate::model::Activation::Pow {
                exponent: crate::model::Param::new(1.0 / p as f32),
            },
        };
        self.push(node, out_shape, |output| FloatOp::Activation {
            node: name,
            act,
            input: sum,
            output,
        })
    }

    /// The window geometry of a pooling node (as a depthwise convolution), its kernel, its
    /// pads, and whether padding counts in averages.
    fn pool_geometry(
        &self,
        node: &NodeProto,
        input: usize,
    ) -> Result<(ConvGeometry, Vec<usize>, Vec<usize>, bool)> {
        let in_shape = self.graph.tensors[input].shape.clone();
        let d = in_shape.len().saturating_sub(2);
        if d == 0 {
            return Err(invalid(
                node,
                format!("cannot pool a tensor of shape {in_shape:?}"),
            ));
        }
        let (kernel, strides, pads, dilations, include_pad) = if node.op_type.starts_with("Global")
        {
            (
                in_shape[2..].to_vec(),
                vec![1; d],
                vec![0; 2 * d],
                vec![1; d],
                true,
            )
        } else {
            if attr_int(node, "ceil_mode").unwrap_or(0) != 0 {
                return Err(unsupported(node, "ceil_mode=1"));
            }
            let usize_list = |v: Vec<i64>| -> Result<Vec<usize>> {
                v.into_iter()
                    .map(|x| {
                        usize::try_from(x)
                            .map_err(|_| invalid(node, "negative pooling parameter".into()))
                    })
                    .collect()
            };
            let kernel = usize_list(
                attr_ints(node, "kernel_shape")
                    .ok_or_else(|| invalid(node, "no kernel_shape".into()))?,
            )?;
            let strides = usize_list(attr_ints(node, "strides").unwrap_or_else(|| vec![1; d]))?;
            let dilations = usize_list(attr_ints(node, "dilations").unwrap_or_else(|| vec![1; d]))?;
            if dilations.contains(&0) {
                return Err(invalid(node, "dilation 0".into()));
            }
            let pads = match auto_pads(node, &in_shape[2..], &kernel, &strides, &dilations)? {
                Some(pads) => pads,
                None => usize_list(attr_ints(node, "pads").unwrap_or_else(|| vec![0; 2 * d]))?,
            };
            (
                kernel,
                strides,
                pads,
                dilations,
                attr_int(node, "count_include_pad").unwrap_or(0) != 0,
            )
        };
        if kernel.len() != d || strides.len() != d || pads.len() != 2 * d || dilations.len() != d {
            return Err(invalid(
                node,
                "kernel, strides, pads and dilations do not match the input rank".into(),
            ));
        }
        let channels = in_shape[1];
        let geometry = ConvGeometry::new(
            &in_shape,
            channels,
            &kernel,
            &strides,
            &pads[..d],
            &pads[d..],
            &dilations,
            channels,
        )
        .ok_or_else(|| {
            invalid(
                node,
                format!("pooling window {kernel:?} does not fit {in_shape:?}"),
            )
        })?;
        Ok((geometry, kernel, pads, include_pad))
    }

    /// The shape of `input` broadcast with a constant operand's `with` (numpy rules: the
    /// constant may be the larger, as `x[None] − means[classes]`); `input`'s own where they do
    /// not broadcast (the constant's broadcast then names the problem).
    fn widened_shape(&self, input: TensorId, with: &[usize]) -> Vec<usize> {
        let shape = &self.graph.tensors[input].shape;
        broadcast_shapes(shape, with).unwrap_or_else(|| shape.clone())
    }

    /// Sub, Mul and Div with one constant operand: an element-wise affine map.
    pub(super) fn arith(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let (input, c, const_first) = match (self.operand(node, 0)?, self.operand(node, 1)?) {
            (Operand::Var(x), Operand::Const(c)) => (x, c, false),
            (Operand::Const(c), Operand::Var(x)) => (x, c, true),
            (Operand::Var(_), Operand::Var(_)) => return self.binary(node, name),
            (Operand::Const(_), Operand::Const(_)) => {
                return Err(unsupported(node, "two constant operands"))
            }
        };
        // Integer operands (ONNX's Div takes two of one type) divide with truncation.
        let integer = c.integer;
        let shape = self.widened_shape(input, &c.shape);
        let c = broadcast(&c.shape, &c.data, &shape)
            .ok_or_else(|| invalid(node, format!("cannot broadcast {:?} to {shape:?}", c.shape)))?;
        let input = self.broadcast_var(node, input, &shape, "broadcast")?;
        let (scale, shift): (Vec<f64>, Vec<f64>) = match (node.op_type.as_str(), const_first) {
            ("Mul", _) => (c, vec![0.0; shape.iter().product()]),
            ("Sub", false) => {
                let constant = c.iter().map(|v| -*v as f32).collect();
                return self.push(node, shape, |output| FloatOp::AddConst {
                    node: name,
                    input,
                    constant,
                    output,
                });
            }
            ("Sub", true) => (vec![-1.0; c.len()], c),
            ("Div", false) if integer => return self.integer_div(node, name),
            ("Div", true) if integer => {
                return Err(unsupported(
                    node,
                    "integer division of a constant by a computed tensor",
                ))
            }
            ("Div", false) => {
                if c.contains(&0.0) {
                    return Err(invalid(node, "division by zero".into()));
                }
                (c.iter().map(|v| 1.0 / v).collect(), vec![0.0; c.len()])
            }
            _ => return self.const_over_var(node, name),
        };
        let (scale, shift) = (
            scale.iter().map(|v| *v as f32).collect(),
            shift.iter().map(|v| *v as f32).collect(),
        );
        self.push(node, shape, |output| FloatOp::Affine {
            node: name,
            input,
            output,
            scale,
            shift,
        })
    }

    /// Inference batch normalization over axis 1: an affine map per channel.
    pub(super) fn batch_norm(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let input = self.var(node, 0)?;
        let shape = self.graph.tensors[input].shape.clone();
        let eps = attr_float(node, "epsilon").unwrap_or(1e-5);
        let [gamma, beta, mean, var] = [1, 2, 3, 4].map(|i| {
            self.constant(node, i, "computed statistics")
                .map(|c| c.data.clone())
        });
        let (gamma, beta, mean, var) = (gamma?, beta?, mean?, var?);
        let channels = *shape
            .get(1)
            .ok_or_else(|| invalid(node, "input has no channel axis".into()))?;
        if [&gamma, &beta, &mean, &var]
            .iter()
            .any(|v| v.len() != channels)
        {
            return Err(invalid(
                node,
                format!("statistics are not of length {channels}"),
            ));
        }
        let inner: usize = shape[2..].iter().product();
        let numel: usize = shape.iter().product();
        let mut scale = Vec::with_capacity(numel);
        let mut shift = Vec::with_capacity(numel);
        for i in 0..numel {
            let c = i / inner % channels;
            let a = gamma[c] / (var[c] + eps).sqrt();
            scale.push(a as f32);
            shift.push((beta[c] - mean[c] * a) as f32);
        }
        self.push(node, shape, |output| FloatOp::Affine {
            node: name,
            input,
            output,
            scale,
            shift,
        })
    }

    pub(super) fn conv(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let input = self.var(node, 0)?;
        let w = self.constant(node, 1, "computed weights")?;
        let in_shape = self.graph.tensors[input].shape.clone();
        let d = in_shape.len().saturating_sub(2);
        if d == 0 || w.shape.len() != d + 2 {
            return Err(invalid(
                node,
                format!(
                    "input {in_shape:?} and weights {:?} do not make a convolution",
                    w.shape
                ),
            ));
        }
        let kernel: Vec<usize> = w.shape[2..].to_vec();
        if let Some(ks) = attr_ints(node, "kernel_shape") {
            if ks.iter().map(|v| *v as usize).collect::<Vec<_>>() != kernel {
                return Err(invalid(
                    node,
                    "kernel_shape disagrees with the weights".into(),
                ));
            }
        }
        let ones = vec![1i64; d];
        let zeros = vec![0i64; 2 * d];
        let to_usize = |v: Vec<i64>| -> Option<Vec<usize>> {
            v.into_iter().map(|x| usize::try_from(x).ok()).collect()
        };
        let strides = to_usize(attr_ints(node, "strides").unwrap_or_else(|| ones.clone()));
        let dilations = to_usize(attr_ints(node, "dilations").unwrap_or_else(|| ones.clone()));
        let pads = to_usize(attr_ints(node, "pads").unwrap_or(zeros));
        let group = attr_int(node, "group").unwrap_or(1);
        let (Some(strides), Some(dilations), Some(pads)) = (strides, dilations, pads) else {
            return Err(invalid(node, "negative stride, dilation or padding".into()));
        };
        let pads = auto_pads(node, &in_shape[2..], &kernel, &strides, &dilations)?.unwrap_or(pads);
        if pads.len() != 2 * d || group < 1 {
            return Err(invalid(node, "bad pads or group".into()));
        }
        let geometry = ConvGeometry::new(
            &in_shape,
            w.shape[0],
            &kernel,
            &strides,
            &pads[..d],
            &pads[d..],
            &dilations,
            group as usize,
        )
        .filter(|g| g.weight_len() == w.data.len() && w.shape[1] * group as usize == in_shape[1])
        .ok_or_else(|| {
            invalid(
                node,
                format!(
                    "inconsistent convolution: input {in_shape:?}, weights {:?}, group {group}",
                    w.shape
                ),
            )
        })?;
        let weight = w.data.iter().map(|v| *v as f32).collect();
        let bias = self.conv_bias(node, geometry.out_channels)?;
        let shape = geometry.output_shape();
        self.push(node, shape, |output| FloatOp::Conv {
            node: name,
            input,
            output,
            geometry,
            weight,
            bias,
        })
    }

    /// A convolution's optional bias (input 2): one constant per output channel, else zeros.
    pub(super) fn conv_bias(&self, node: &NodeProto, channels: usize) -> Result<Vec<f32>> {
        match node.input.get(2).filter(|s| !s.is_empty()) {
            None => Ok(vec![0f32; channels]),
            Some(_) => {
                let b = self.constant(node, 2, "a computed bias")?;
                if b.data.len() != channels {
                    return Err(invalid(
                        node,
                        "bias length differs from the output channels".into(),
                    ));
                }
                Ok(b.data.iter().map(|v| *v as f32).collect())
            }
        }
    }

    pub(super) fn add(&mut self, node: &NodeProto, name: String) -> Result<()> {
        match (self.operand(node, 0)?, self.operand(node, 1)?) {
            (Operand::Var(_), Operand::Var(_)) => self.binary(node, name),
            (Operand::Var(input), Operand::Const(c)) | (Operand::Const(c), Operand::Var(input)) => {
                let shape = self.widened_shape(input, &c.shape);
                let constant = broadcast(&c.shape, &c.data, &shape)
                    .ok_or_else(|| {
                        invalid(node, format!("cannot broadcast {:?} to {shape:?}", c.shape))
                    })?
                    .into_iter()
                    .map(|v| v as f32)
                    .collect();
                let input = self.broadcast_var(node, input, &shape, "broadcast")?;
                self.push(node, shape, |output| FloatOp::AddConst {
                    node: name,
                    input,
                    constant,
                    output,
                })
            }
            (Operand::Const(_), Operand::Const(_)) => {
                Err(unsupported(node, "two constant operands"))
            }
        }
    }
}
