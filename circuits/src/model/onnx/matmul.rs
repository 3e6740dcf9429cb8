//! Gemm and MatMul with a constant operand: a constant right operand is one dense layer; a
//! constant left one (hummingbird's trees, `W·xᵀ`), a computed right one or a computed bias
//! are rewritten as the nodes that compute the same (Transpose, MatMul, Mul, Add) and imported
//! as such. (Products of two computed tensors: `elementwise.rs`.)

use super::dims::broadcast;
use super::{
    attr_float, attr_int, invalid, unsupported, Const, Importer, Operand, COMPUTED_RIGHT_OPERAND,
};
use crate::error::Result;
use crate::model::FloatOp;
use tract_onnx::pb::{self, NodeProto};

/// A node the importer makes in place of `from` (its name kept, for errors and profiles):
/// `op` of `input`, writing `output`.
fn made_node(
    from: &NodeProto,
    op: &str,
    input: Vec<String>,
    output: String,
    attribute: Vec<pb::AttributeProto>,
) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: from.name.clone(),
        input,
        output: vec![output],
        attribute,
        ..Default::default()
    }
}

/// An `ints` attribute (a Transpose's `perm`).
fn ints_attribute(name: &str, ints: Vec<i64>) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints,
        ..Default::default()
    }
}

impl Importer {
    /// Gemm with a computed right operand (PyTorch's old `mm` and `addmm` exports), a constant
    /// left one (hummingbird's GEMM trees: `W·xᵀ`) or a bias C other than one value per column
    /// (skl2onnx's k-means: `‖x‖²`, computed): the same as the nodes Transpose (with `transA`,
    /// `transB`), MatMul, Mul by `alpha` and Add of `beta·C`, imported as such.
    fn gemm_computed(&mut self, node: &NodeProto) -> Result<()> {
        let out = self.output_name(node)?.to_owned();
        let step =
            |op: &str, input, output, attribute| made_node(node, op, input, output, attribute);
        let scalar = |importer: &mut Self, suffix: &str, v: f64| {
            let name = format!("{out}/{suffix}");
            importer.consts.insert(
                name.clone(),
                Const {
                    shape: vec![],
                    data: vec![v],
                    integer: false,
                },
            );
            name
        };
        let (alpha, beta) = (
            attr_float(node, "alpha").unwrap_or(1.0),
            attr_float(node, "beta").unwrap_or(1.0),
        );
        let c = node.input.get(2).filter(|c| !c.is_empty()).cloned();
        let mut nodes = Vec::new();
        let (mut a, mut b) = (node.input[0].clone(), node.input[1].clone());
        for (operand, attr, suffix) in [(&mut a, "transA", "a_t"), (&mut b, "transB", "b_t")] {
            if attr_int(node, attr).unwrap_or(0) != 0 {
                let perm = ints_attribute("perm", vec![1, 0]);
                let t = format!("{out}/{suffix}");
                nodes.push(step(
                    "Transpose",
                    vec![operand.clone()],
                    t.clone(),
                    vec![perm],
                ));
                *operand = t;
            }
        }
        let last = |stage: &str, done: bool| {
            if done {
                out.clone()
            } else {
                format!("{out}/{stage}")
            }
        };
        let scaled = alpha != 1.0;
        let product = last("product", !scaled && c.is_none());
        nodes.push(step("MatMul", vec![a, b], product.clone(), vec![]));
        let mut cur = product;
        if scaled {
            let a = scalar(self, "alpha", alpha);
            let o = last("scaled", c.is_none());
            nodes.push(step("Mul", vec![cur, a], o.clone(), vec![]));
            cur = o;
        }
        if let Some(mut c) = c {
            if beta != 1.0 {
                let k = scalar(self, "beta", beta);
                nodes.push(step("Mul", vec![c, k], format!("{out}/c_scaled"), vec![]));
                c = format!("{out}/c_scaled");
            }
            nodes.push(step("Add", vec![cur, c], out.clone(), vec![]));
        }
        for n in &nodes {
            self.node(n)?;
        }
        Ok(())
    }

    /// MatMul of a constant matrix `C` by a computed `X` (hummingbird's trees, `W·xᵀ`): the
    /// same as `(Xᵀ·Cᵀ)ᵀ`, the transposes of `X` and of the result copies (no rows), the
    /// product one dense layer.
    pub(super) fn matmul_const_left(&mut self, node: &NodeProto) -> Result<()> {
        let c = self.constant(node, 0, "a computed left operand")?.clone();
        let x = self.var(node, 1)?;
        let rank = self.graph.tensors[x].shape.len();
        if c.shape.len() > 2 {
            return self.matmul_const_left_batched(node, c);
        }
        if c.shape.len() != 2 {
            return Err(invalid(node, "a scalar operand".into()));
        }
        let out = self.output_name(node)?.to_owned();
        let (m, k) = (c.shape[0], c.shape[1]);
        let transposed: Vec<f64> = (0..k * m).map(|e| c.data[(e % m) * k + e / m]).collect();
        let c_t = format!("{out}/left_t");
        self.consts.insert(
            c_t.clone(),
            Const {
                shape: vec![k, m],
                data: transposed,
                integer: c.integer,
            },
        );
        let step =
            |op: &str, input, output, attribute| made_node(node, op, input, output, attribute);
        if rank < 2 {
            // C·x of a vector: x·Cᵀ.
            return self.node(&step(
                "MatMul",
                vec![node.input[1].clone(), c_t],
                out,
                vec![],
            ));
        }
        let swap: Vec<i64> = (0..rank as i64)
            .map(|a| match a {
                a if a == rank as i64 - 2 => a + 1,
                a if a == rank as i64 - 1 => a - 1,
                a => a,
            })
            .collect();
        let perm = ints_attribute("perm", swap);
        let (x_t, y_t) = (format!("{out}/right_t"), format!("{out}/product_t"));
        let nodes = [
            step(
                "Transpose",
                vec![node.input[1].clone()],
                x_t.clone(),
                vec![perm.clone()],
            ),
            step("MatMul", vec![x_t, c_t], y_t.clone(), vec![]),
            step("Transpose", vec![y_t], out, vec![perm]),
        ];
        for n in &nodes {
            self.node(n)?;
        }
        Ok(())
    }

    /// A batch of constant matrices `C[b]` by computed `X[b]` (hummingbird's GEMM trees: one
    /// matrix per tree, `[trees, m, k] × [trees, k, n]`; or one shared `X` of `[k, n]`): each
    /// product a constant-left MatMul of its own, the results stacked along the batch.
    fn matmul_const_left_batched(&mut self, node: &NodeProto, c: Const) -> Result<()> {
        let x = self.var(node, 1)?;
        let sx = self.graph.tensors[x].shape.clone();
        let rank = c.shape.len();
        let (batch, (m, k)) = (&c.shape[..rank - 2], (c.shape[rank - 2], c.shape[rank - 1]));
        let count: usize = batch.iter().product();
        let shared = sx.len() == 2;
        if !shared && (sx.len() != rank || sx[..rank - 2] != *batch || sx[rank - 2] != k) {
            return Err(unsupported(
                node,
                &format!(
                    "a constant left operand {:?} for a right operand {sx:?}",
                    c.shape
                ),
            ));
        }
        let n = sx[sx.len() - 1];
        let out = self.output_name(node)?.to_owned();
        let step = |op: &str, input, output| made_node(node, op, input, output, vec![]);
        let constant = |this: &mut Self, suffix: String, shape: Vec<usize>, data: Vec<f64>| {
            let name = format!("{out}/{suffix}");
            let integer = data.iter().all(|v| v.fract() == 0.0);
            this.consts.insert(
                name.clone(),
                Const {
                    shape,
                    data,
                    integer,
                },
            );
            name
        };
        let flat = constant(
            self,
            "flat".into(),
            vec![2],
            vec![(count * k) as f64, n as f64],
        );
        let x_flat = format!("{out}/right_flat");
        if !shared {
            self.node(&step(
                "Reshape",
                vec![node.input[1].clone(), flat],
                x_flat.clone(),
            ))?;
        }
        let one = constant(
            self,
            "one_shape".into(),
            vec![3],
            vec![1.0, m as f64, n as f64],
        );
        let mut parts = Vec::with_capacity(count);
        for b in 0..count {
            let right = if shared {
                node.input[1].clone()
            } else {
                let rows = constant(self, format!("rows{b}"), vec![k], {
                    (b * k..(b + 1) * k).map(|r| r as f64).collect()
                });
                let right = format!("{out}/right{b}");
                self.node(&step("Gather", vec![x_flat.clone(), rows], right.clone()))?;
                right
            };
            let matrix = c.data[b * m * k..(b + 1) * m * k].to_vec();
            let left = constant(self, format!("left{b}"), vec![m, k], matrix);
            let product = format!("{out}/product{b}");
            self.node(&step("MatMul", vec![left, right], product.clone()))?;
            let part = format!("{out}/part{b}");
            self.node(&step("Reshape", vec![product, one.clone()], part.clone()))?;
            parts.push(part);
        }
        let stacked = format!("{out}/stacked");
        let axis = pb::AttributeProto {
            name: "axis".into(),
            r#type: pb::attribute_proto::AttributeType::Int as i32,
            i: 0,
            ..Default::default()
        };
        self.node(&made_node(
            node,
            "Concat",
            parts,
            stacked.clone(),
            vec![axis],
        ))?;
        let shape: Vec<f64> = batch.iter().chain(&[m, n]).map(|d| *d as f64).collect();
        let shape = constant(self, "shape".into(), vec![shape.len()], shape);
        self.node(&step("Reshape", vec![stacked, shape], out))
    }

    pub(super) fn gemm(&mut self, node: &NodeProto, name: String) -> Result<()> {
        if attr_int(node, "transA").unwrap_or(0) != 0
            || matches!(self.operand(node, 0)?, Operand::Const(_))
        {
            return self.gemm_computed(node);
        }
        let input = self.var(node, 0)?;
        // A computed B, or a bias C other than one value per column (computed, as k-means'
        // `‖x‖²`, or varying across rows): a MatMul, then Mul and Add.
        let trans_b = attr_int(node, "transB").unwrap_or(0) != 0;
        let c = node.input.get(2).filter(|c| !c.is_empty());
        let general = match (self.operand(node, 1)?, c) {
            (Operand::Var(_), _) => true,
            (_, None) => false,
            (Operand::Const(b), Some(_)) => match self.operand(node, 2)? {
                Operand::Var(_) => true,
                Operand::Const(c) => {
                    let n = if trans_b {
                        b.shape.first()
                    } else {
                        b.shape.get(1)
                    };
                    c.shape.iter().product::<usize>() > n.copied().unwrap_or(0)
                }
            },
        };
        if general {
            return self.gemm_computed(node);
        }
        let b = self.constant(node, 1, COMPUTED_RIGHT_OPERAND)?;
        let a_shape = self.graph.tensors[input].shape.clone();
        if a_shape.len() != 2 || b.shape.len() != 2 {
            return Err(invalid(
                node,
                format!("Gemm needs 2-D operands, got {a_shape:?} and {:?}", b.shape),
            ));
        }
        let alpha = attr_float(node, "alpha").unwrap_or(1.0);
        let beta = attr_float(node, "beta").unwrap_or(1.0);
        let (k, n) = if trans_b {
            (b.shape[1], b.shape[0])
        } else {
            (b.shape[0], b.shape[1])
        };
        if a_shape[1] != k {
            return Err(invalid(
                node,
                format!("inner dimensions differ: {a_shape:?} × {:?}", b.shape),
            ));
        }
        let mut weight = vec![0f32; k * n];
        for i in 0..k {
            for j in 0..n {
                let v = if trans_b {
                    b.data[j * k + i]
                } else {
                    b.data[i * n + j]
                };
                weight[i * n + j] = (alpha * v) as f32;
            }
        }
        let bias = match node.input.get(2).filter(|s| !s.is_empty()) {
            None => vec![0f32; n],
            Some(_) => {
                // One value per column (C computed or varying across rows went the general way).
                let c = self.constant(node, 2, "a computed bias C")?;
                let per_column = broadcast(&c.shape, &c.data, &[1, n]).ok_or_else(|| {
                    invalid(
                        node,
                        format!("a bias C of shape {:?} for {n} columns", c.shape),
                    )
                })?;
                per_column.iter().map(|v| (beta * v) as f32).collect()
            }
        };
        self.push(node, vec![a_shape[0], n], |output| FloatOp::Dense {
            node: name,
            input,
            output,
            n_in: k,
            n_out: n,
            weight,
            bias,
        })
    }

    pub(super) fn matmul(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let input = self.var(node, 0)?;
        let b = self.constant(node, 1, COMPUTED_RIGHT_OPERAND)?;
        let a_shape = self.graph.tensors[input].shape.clone();
        if b.shape.len() != 2 || a_shape.is_empty() {
            return Err(unsupported(
                node,
                "a right operand that is not a 2-D constant matrix",
            ));
        }
        let (k, n) = (b.shape[0], b.shape[1]);
        if a_shape[a_shape.len() - 1] != k {
            return Err(invalid(
                node,
                format!("inner dimensions differ: {a_shape:?} × {:?}", b.shape),
            ));
        }
        let weight = b.data.iter().map(|v| *v as f32).collect();
        let mut shape = a_shape;
        *shape.last_mut().expect("non-empty") = n;
        self.push(node, shape, |output| FloatOp::Dense {
            node: name,
            input,
            output,
            n_in: k,
            n_out: n,
            weight,
            bias: vec![0f32; n],
        })
    }
}
