//! Arithmetic on computed tensors: Add, Sub, Mul and Div of two computed operands (broadcast
//! by copy constraints), a constant divided by a computed value, Pow, the variadic
//! Sum/Mean/Max/Min, PRelu, and MatMul and Einsum with two computed operands.

use super::dims::{broadcast, unravel};
use super::{attr_int, invalid, unsupported, Const, Importer, Operand};
use crate::error::Result;
use crate::model::{Activation, FloatOp, Param, ProductDims, TensorId};
use tract_onnx::pb::NodeProto;

impl Importer {
    /// A binary op of opset < 7 with `broadcast = 1` aligns its second operand with the first
    /// at `axis` (default: the trailing axes, as numpy does): the node with that operand
    /// reshaped to numpy's alignment (trailing ones; a constant reshaped, a computed tensor by
    /// a reshape, no rows), or `None` when numpy's rule already gives it.
    pub(super) fn legacy_broadcast(&mut self, node: &NodeProto) -> Result<Option<NodeProto>> {
        if attr_int(node, "broadcast") != Some(1) || node.input.len() < 2 {
            return Ok(None);
        }
        let rank = |op: Operand<'_>, importer: &Self| match op {
            Operand::Var(t) => importer.graph.tensors[t].shape.clone(),
            Operand::Const(c) => c.shape.clone(),
        };
        let a = rank(self.operand(node, 0)?, self);
        let b = rank(self.operand(node, 1)?, self);
        let axis = match attr_int(node, "axis") {
            None => return Ok(None),
            Some(x) if x < 0 => x + a.len() as i64,
            Some(x) => x,
        };
        let trailing = a.len() as i64 - axis - b.len() as i64;
        if axis < 0 || trailing < 0 {
            return Err(invalid(
                node,
                format!("broadcast axis {axis} does not fit {b:?} into {a:?}"),
            ));
        }
        if trailing == 0 {
            return Ok(None);
        }
        let shape: Vec<usize> = b
            .iter()
            .copied()
            .chain(std::iter::repeat_n(1, trailing as usize))
            .collect();
        let name = format!("{}/legacy_broadcast", node.input[1]);
        match self.operand(node, 1)? {
            Operand::Const(c) => {
                let c = Const { shape, ..c.clone() };
                self.consts.insert(name.clone(), c);
            }
            Operand::Var(t) => {
                let output = self.add_tensor(&name, shape);
                self.graph.ops.push(FloatOp::Reshape {
                    node: super::node_name(node),
                    input: t,
                    output,
                });
            }
        }
        let mut node = node.clone();
        node.input[1] = name;
        // Numpy's rule from here on (a constant folded by tract included).
        node.attribute
            .retain(|a| a.name != "broadcast" && a.name != "axis");
        Ok(Some(node))
    }
}

/// The numpy broadcast of two shapes.
pub(super) fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let pad = |s: &[usize]| -> Vec<usize> {
        std::iter::repeat_n(1, rank - s.len())
            .chain(s.iter().copied())
            .collect()
    };
    pad(a)
        .iter()
        .zip(&pad(b))
        .map(|(x, y)| match (*x, *y) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// The Select map that permutes the axes of `shape` (`perm[d]` is the input axis of output
/// axis `d`), and the permuted shape.
pub(super) fn permutation(
    shape: &[usize],
    perm: &[usize],
) -> (Vec<usize>, Vec<Option<(u32, u32)>>) {
    let out: Vec<usize> = perm.iter().map(|a| shape[*a]).collect();
    let numel: usize = out.iter().product();
    let map = (0..numel)
        .map(|i| {
            let src = permuted_source(perm, &unravel(i, &out));
            Some((0, super::dims::ravel(&src, shape) as u32))
        })
        .collect();
    (out, map)
}

/// The input multi-index that output multi-index `o` of a transpose by `perm` reads.
pub(super) fn permuted_source(perm: &[usize], o: &[usize]) -> Vec<usize> {
    let mut src = vec![0; o.len()];
    for (d, a) in perm.iter().enumerate() {
        src[*a] = o[d];
    }
    src
}

impl Importer {
    /// `t` broadcast to `shape` (numpy rules): `t` itself, or a Select (copies, no rows).
    pub(super) fn broadcast_var(
        &mut self,
        node: &NodeProto,
        t: TensorId,
        shape: &[usize],
        suffix: &str,
    ) -> Result<TensorId> {
        let from = self.graph.tensors[t].shape.clone();
        if from == shape {
            return Ok(t);
        }
        let indices: Vec<f64> = (0..from.iter().product::<usize>())
            .map(|i| i as f64)
            .collect();
        let src = broadcast(&from, &indices, shape)
            .ok_or_else(|| invalid(node, format!("cannot broadcast {from:?} to {shape:?}")))?;
        let map = src.iter().map(|i| Some((0, *i as u32))).collect();
        self.copies(node, suffix, shape.to_vec(), vec![t], map)
    }

    /// The two computed operands of `node` broadcast to their common shape, and that shape.
    pub(super) fn broadcast_operands(
        &mut self,
        node: &NodeProto,
    ) -> Result<(TensorId, TensorId, Vec<usize>)> {
        let (a, b) = (self.var(node, 0)?, self.var(node, 1)?);
        let (sa, sb) = (
            self.graph.tensors[a].shape.clone(),
            self.graph.tensors[b].shape.clone(),
        );
        let shape = broadcast_shapes(&sa, &sb)
            .ok_or_else(|| invalid(node, format!("cannot broadcast {sa:?} with {sb:?}")))?;
        let a = self.broadcast_var(node, a, &shape, "broadcast_a")?;
        let b = self.broadcast_var(node, b, &shape, "broadcast_b")?;
        Ok((a, b, shape))
    }

    /// Add, Sub, Mul and Div of two computed tensors, broadcast to a common shape.
    pub(super) fn binary(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let output = self.output_name(node)?;
        if node.op_type == "Div" && self.value_types().integer(output) {
            return Err(unsupported(
                node,
                "integer division of two computed tensors (it truncates; by a constant divisor it is supported)",
            ));
        }
        let (a, b) = (self.var(node, 0)?, self.var(node, 1)?);
        if node.op_type == "Mul" && self.scale_cancelling_product(node, &name, a, b)?.is_some() {
            return Ok(());
        }
        let (a, b, shape) = self.broadcast_operands(node)?;
        let numel = shape.iter().product();
        let op = node.op_type.clone();
        self.push(node, shape, |output| match op.as_str() {
            "Add" | "Sub" => FloatOp::Add {
                node: name,
                a,
                b,
                output,
                sub: op == "Sub",
            },
            "Mul" => FloatOp::Product {
                node: name,
                a,
                b,
                output,
                dims: ProductDims::elementwise(numel),
            },
            _ => FloatOp::Div {
                node: name,
                a,
                b,
                output,
                whole: false,
            },
        })
    }

    /// `c / x` for a constant `c`: the reciprocal by lookup, then a constant factor.
    pub(super) fn const_over_var(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let c = self.constant(node, 0, "a computed dividend")?.clone();
        let x = self.var(node, 1)?;
        let xs = self.graph.tensors[x].shape.clone();
        let shape = broadcast_shapes(&c.shape, &xs)
            .ok_or_else(|| invalid(node, format!("cannot broadcast {:?} with {xs:?}", c.shape)))?;
        let x = self.broadcast_var(node, x, &shape, "broadcast")?;
        let factor = broadcast(&c.shape, &c.data, &shape)
            .ok_or_else(|| invalid(node, "cannot broadcast the dividend".into()))?;
        if factor.iter().all(|v| *v == 1.0) {
            return self.push(node, shape, |output| FloatOp::Activation {
                node: name,
                act: Activation::Reciprocal,
                input: x,
                output,
            });
        }
        let n = name.clone();
        let inv = self.step(node, "reciprocal", shape.clone(), |output| {
            FloatOp::Activation {
                node: n,
                act: Activation::Reciprocal,
                input: x,
                output,
            }
        })?;
        let shift = vec![0f32; factor.len()];
        let scale = factor.iter().map(|v| *v as f32).collect();
        self.push(node, shape, |output| FloatOp::Affine {
            node: name,
            input: inv,
            output,
            scale,
            shift,
        })
    }

    /// `x^p` for a constant exponent: squares exactly by the product gate, the common roots
    /// and inverses by their own tables, any other exponent by a Pow table.
    pub(super) fn pow(&mut self, node: &NodeProto, name: String) -> Result<()> {
        if let Operand::Const(base) = self.operand(node, 0)? {
            return self.pow_of_constant(node, name, base.clone());
        }
        let x = self.var(node, 0)?;
        let p = self.constant(node, 1, "a computed exponent")?;
        let e = match p.data.as_slice() {
            [first, rest @ ..] if rest.iter().all(|v| v == first) => *first,
            _ => return Err(unsupported(node, "an exponent that varies by element")),
        };
        let shape = self.graph.tensors[x].shape.clone();
        let numel = shape.iter().product();
        let act = match e {
            1.0 => {
                return self.push(node, shape, |output| FloatOp::Reshape {
                    node: name,
                    input: x,
                    output,
                })
            }
            2.0 => {
                return self.push(node, shape, |output| FloatOp::Product {
                    node: name,
                    a: x,
                    b: x,
                    output,
                    dims: ProductDims::elementwise(numel),
                })
            }
            0.5 => Activation::Sqrt,
            -1.0 => Activation::Reciprocal,
            -0.5 => Activation::Rsqrt,
            _ => Activation::Pow {
                exponent: Param::new(e as f32),
            },
        };
        self.push(node, shape, |output| FloatOp::Activation {
            node: name,
            act,
            input: x,
            output,
        })
    }

    /// Sum, Mean, Max and Min of any number of computed tensors (broadcast): a chain of
    /// additions (then `1/n` for Mean), or one max/min over windows of their concatenation;
    /// constant operands among them: [`Self::variadic_with_constants`].
    pub(super) fn variadic(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let mut constants = Vec::new();
        for i in 0..node.input.len() {
            if let Operand::Const(c) = self.operand(node, i)? {
                constants.push(c.clone());
            }
        }
        if !constants.is_empty() {
            return self.variadic_with_constants(node, name, &constants);
        }
        let inputs: Vec<TensorId> = (0..node.input.len())
            .map(|i| self.var(node, i))
            .collect::<Result<_>>()?;
        if inputs.is_empty() {
            return Err(invalid(node, "no operands".into()));
        }
        let mut shape = self.graph.tensors[inputs[0]].shape.clone();
        for t in &inputs[1..] {
            let other = &self.graph.tensors[*t].shape;
            shape = broadcast_shapes(&shape, other).ok_or_else(|| {
                invalid(node, format!("cannot broadcast {shape:?} with {other:?}"))
            })?;
        }
        let inputs: Vec<TensorId> = inputs
            .iter()
            .enumerate()
            .map(|(i, t)| self.broadcast_var(node, *t, &shape, &format!("broadcast_{i}")))
            .collect::<Result<_>>()?;
        let numel: usize = shape.iter().product();
        let n = inputs.len();
        match node.op_type.as_str() {
            "Max" | "Min" if n > 1 => {
                let map = (0..n)
                    .flat_map(|k| (0..numel).map(move |e| Some((k as u32, e as u32))))
                    .collect();
                let all = self.copies(node, "stacked", vec![n * numel], inputs.clone(), map)?;
                let windows = (0..numel)
                    .map(|e| (0..n).map(|k| (k * numel + e) as u32).collect())
                    .collect();
                let min = node.op_type == "Min";
                self.push(node, shape, |output| FloatOp::MaxPool {
                    node: name,
                    input: all,
                    output,
                    windows,
                    min,
                })
            }
            op => {
                let mean = op == "Mean";
                let mut acc = inputs[0];
                for (i, t) in inputs.iter().enumerate().skip(1) {
                    let make = |output| FloatOp::Add {
                        node: name.clone(),
                        a: acc,
                        b: *t,
                        output,
                        sub: false,
                    };
                    if i + 1 == n && !mean {
                        return self.push(node, shape, make);
                    }
                    acc = self.step(node, &format!("sum_{i}"), shape.clone(), make)?;
                }
                if mean && n > 1 {
                    let scale = vec![1.0 / n as f32; numel];
                    let shift = vec![0f32; numel];
                    return self.push(node, shape, |output| FloatOp::Affine {
                        node: name,
                        input: acc,
                        output,
                        scale,
                        shift,
                    });
                }
                self.push(node, shape, |output| FloatOp::Reshape {
                    node: name,
                    input: acc,
                    output,
                })
            }
        }
    }

    /// Pow of a constant positive base `b` (one value) to a computed exponent: `exp(x·ln b)`,
    /// an affine map and an Exp lookup (an isolation forest's `2^(−depth/c)`).
    fn pow_of_constant(&mut self, node: &NodeProto, name: String, base: Const) -> Result<()> {
        let x = self.var(node, 1)?;
        let b = match base.data.as_slice() {
            [first, rest @ ..] if rest.iter().all(|v| v == first) && *first > 0.0 => *first,
            _ => {
                return Err(unsupported(
                    node,
                    "a constant base that is not one positive number",
                ))
            }
        };
        let shape = self.graph.tensors[x].shape.clone();
        let numel = shape.iter().product();
        let nm = name.clone();
        let scaled = self.step(node, "exponent", shape.clone(), |output| FloatOp::Affine {
            node: nm,
            input: x,
            output,
            scale: vec![b.ln() as f32; numel],
            shift: vec![0.0; numel],
        })?;
        self.push(node, shape, |output| FloatOp::Activation {
            node: name,
            act: Activation::Exp,
            input: scaled,
            output,
        })
    }

    /// Sum, Mean, Max or Min with constant operands beside computed ones (an isolation
    /// forest's `max(n, 2)`): the computed operands' own result `v` (as [`Self::variadic`]
    /// makes it), then with the constants combined into one `c` (broadcast): `v + c` for Sum,
    /// `(v·m + c)/n` for Mean of `m` computed among `n`, `c + relu(v − c)` for Max and
    /// `c − relu(c − v)` for Min.
    fn variadic_with_constants(
        &mut self,
        node: &NodeProto,
        name: String,
        constants: &[Const],
    ) -> Result<()> {
        let vars: Vec<&str> = (0..node.input.len())
            .filter(|i| matches!(self.operand(node, *i), Ok(Operand::Var(_))))
            .map(|i| node.input[i].as_str())
            .collect();
        let out = self.output_name(node)?.to_owned();
        let own = format!("{out}/computed");
        let mut computed = node.clone();
        computed.input = vars.iter().map(|v| (*v).to_owned()).collect();
        computed.output = vec![own.clone()];
        let op = node.op_type.clone();
        self.variadic(&computed, name.clone())?;
        let v = self.ids[&own];
        let mut shape = self.graph.tensors[v].shape.clone();
        for c in constants {
            shape = broadcast_shapes(&shape, &c.shape).ok_or_else(|| {
                invalid(
                    node,
                    format!("cannot broadcast {shape:?} with {:?}", c.shape),
                )
            })?;
        }
        let v = self.broadcast_var(node, v, &shape, "broadcast")?;
        let numel: usize = shape.iter().product();
        let mut c: Option<Vec<f64>> = None;
        for k in constants {
            let k = broadcast(&k.shape, &k.data, &shape).ok_or_else(|| {
                invalid(node, format!("cannot broadcast {:?} to {shape:?}", k.shape))
            })?;
            c = Some(match c {
                None => k,
                Some(c) => c
                    .iter()
                    .zip(&k)
                    .map(|(a, b)| match op.as_str() {
                        "Max" => a.max(*b),
                        "Min" => a.min(*b),
                        _ => a + b,
                    })
                    .collect(),
            });
        }
        let c: Vec<f32> = c.unwrap_or_default().iter().map(|v| *v as f32).collect();
        let affine = |input, scale: f32, shift: &[f32]| {
            let (name, shift) = (name.clone(), shift.to_vec());
            move |output| FloatOp::Affine {
                node: name,
                input,
                output,
                scale: vec![scale; numel],
                shift,
            }
        };
        match op.as_str() {
            "Sum" => self.push(node, shape, affine(v, 1.0, &c)),
            "Mean" => {
                let n = node.input.len() as f32;
                let m = vars.len() as f32;
                let shift: Vec<f32> = c.iter().map(|c| c / n).collect();
                self.push(node, shape, affine(v, m / n, &shift))
            }
            _ => {
                // Max: c + relu(v − c); Min: c − relu(c − v).
                let sign = if op == "Max" { 1.0 } else { -1.0 };
                let neg: Vec<f32> = c.iter().map(|c| -sign * c).collect();
                let apart = self.step(node, "apart", shape.clone(), affine(v, sign, &neg))?;
                let nm = name.clone();
                let kept = self.step(node, "beyond", shape.clone(), |output| {
                    FloatOp::Activation {
                        node: nm,
                        act: Activation::Relu,
                        input: apart,
                        output,
                    }
                })?;
                self.push(node, shape, affine(kept, sign, &c))
            }
        }
    }

    /// PRelu with a constant slope: LeakyRelu when the slope is one number, else
    /// `relu(x) + slope·(x − relu(x))`.
    pub(super) fn prelu(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let x = self.var(node, 0)?;
        let slope = self.constant(node, 1, "a computed slope")?.clone();
        let shape = self.graph.tensors[x].shape.clone();
        if let [first, rest @ ..] = slope.data.as_slice() {
            if rest.iter().all(|v| v == first) {
                let act = Activation::LeakyRelu {
                    alpha: Param::new(*first as f32),
                };
                return self.push(node, shape, |output| FloatOp::Activation {
                    node: name,
                    act,
                    input: x,
                    output,
                });
            }
        }
        let slope = broadcast(&slope.shape, &slope.data, &shape)
            .ok_or_else(|| invalid(node, format!("cannot broadcast the slope to {shape:?}")))?;
        let n = name.clone();
        let relu = self.step(node, "relu", shape.clone(), |output| FloatOp::Activation {
            node: n,
            act: Activation::Relu,
            input: x,
            output,
        })?;
        let n = name.clone();
        let neg = self.step(node, "negative_part", shape.clone(), |output| {
            FloatOp::Add {
                node: n,
                a: x,
                b: relu,
                output,
                sub: true,
            }
        })?;
        let n = name.clone();
        let scaled = self.step(node, "scaled", shape.clone(), |output| FloatOp::Affine {
            node: n,
            input: neg,
            output,
            scale: slope.iter().map(|v| *v as f32).collect(),
            shift: vec![0f32; slope.len()],
        })?;
        self.push(node, shape, |output| FloatOp::Add {
            node: name,
            a: relu,
            b: scaled,
            output,
            sub: false,
        })
    }

    /// MatMul of two computed tensors (numpy semantics: 1-D operands, broadcast batch axes)
    /// through the product gate.
    pub(super) fn matmul_vars(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let a = match self.operand(node, 0)? {
            Operand::Var(t) => t,
            Operand::Const(_) => {
                return Err(unsupported(
                    node,
                    "a constant left operand with a computed right operand",
                ))
            }
        };
        let b = self.var(node, 1)?;
        let (mut sa, mut sb) = (
            self.graph.tensors[a].shape.clone(),
            self.graph.tensors[b].shape.clone(),
        );
        if sa.is_empty() || sb.is_empty() {
            return Err(invalid(node, "a scalar operand".into()));
        }
        let (a_vec, b_vec) = (sa.len() == 1, sb.len() == 1);
        if a_vec {
            sa.insert(0, 1);
        }
        let b = if b_vec {
            sb.push(1);
            let n = name.clone();
            self.step(node, "column", sb.clone(), |output| FloatOp::Reshape {
                node: n,
                input: b,
                output,
            })?
        } else {
            b
        };
        let (m, k) = (sa[sa.len() - 2], sa[sa.len() - 1]);
        let (k2, n) = (sb[sb.len() - 2], sb[sb.len() - 1]);
        if k != k2 {
            return Err(invalid(
                node,
                format!("inner dimensions differ: {sa:?} × {sb:?}"),
            ));
        }
        let batch = broadcast_shapes(&sa[..sa.len() - 2], &sb[..sb.len() - 2])
            .ok_or_else(|| invalid(node, format!("batch axes of {sa:?} and {sb:?} differ")))?;
        let a = self.broadcast_var(node, a, &[batch.clone(), vec![m, k]].concat(), "left")?;
        let b = self.broadcast_var(node, b, &[batch.clone(), vec![k, n]].concat(), "right")?;
        let mut out = batch.clone();
        if !a_vec {
            out.push(m);
        }
        if !b_vec {
            out.push(n);
        }
        let dims = ProductDims {
            batch: batch.iter().product(),
            m,
            k,
            n,
        };
        self.push(node, out, |output| FloatOp::Product {
            node: name,
            a,
            b,
            output,
            dims,
        })
    }

    /// Einsum of two computed operands whose every index is a batch index (in both operands
    /// and the output), a free index of one operand (and the output) or a contracted index
    /// (in both, not the output): operands transposed by copies, one batched product, the
    /// result transposed to the output's order.
    pub(super) fn einsum(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let equation = super::attr_string(node, "equation")
            .ok_or_else(|| invalid(node, "no equation".into()))?
            .replace(' ', "");
        let bad = |why: &str| unsupported(node, &format!("equation `{equation}`: {why}"));
        let (lhs, out) = equation
            .split_once("->")
            .ok_or_else(|| bad("an implicit output (write `->`)"))?;
        let terms: Vec<Vec<char>> = lhs.split(',').map(|t| t.chars().collect()).collect();
        let out: Vec<char> = out.chars().collect();
        if terms.len() != 2 {
            return Err(bad("only two operands are supported"));
        }
        if equation.contains('.') {
            return Err(bad("ellipses"));
        }
        let (ta, tb) = (&terms[0], &terms[1]);
        let unique = |t: &[char]| t.iter().all(|c| t.iter().filter(|d| *d == c).count() == 1);
        if !unique(ta) || !unique(tb) || !unique(&out) {
            return Err(bad("a repeated index within one operand (diagonals)"));
        }
        let a = self.var(node, 0)?;
        let b = self.var(node, 1)?;
        let (sa, sb) = (
            self.graph.tensors[a].shape.clone(),
            self.graph.tensors[b].shape.clone(),
        );
        if sa.len() != ta.len() || sb.len() != tb.len() {
            return Err(invalid(node, "equation and operand ranks differ".into()));
        }
        let mut size = std::collections::HashMap::new();
        for (c, d) in ta.iter().zip(&sa).chain(tb.iter().zip(&sb)) {
            if *size.entry(*c).or_insert(*d) != *d {
                return Err(invalid(node, format!("index `{c}` has two sizes")));
            }
        }
        let (mut batch, mut free_a, mut free_b, mut contracted) = (vec![], vec![], vec![], vec![]);
        for c in ta.iter().chain(tb.iter().filter(|c| !ta.contains(c))) {
            match (ta.contains(c), tb.contains(c), out.contains(c)) {
                (true, true, true) => batch.push(*c),
                (true, false, true) => free_a.push(*c),
                (false, true, true) => free_b.push(*c),
                (true, true, false) => contracted.push(*c),
                _ => return Err(bad(&format!("index `{c}` is summed within one operand"))),
            }
        }
        if out.iter().any(|c| !ta.contains(c) && !tb.contains(c)) {
            return Err(invalid(
                node,
                "an output index appears in no operand".into(),
            ));
        }
        let order = |t: &[char], groups: [&[char]; 3]| -> Vec<usize> {
            groups
                .iter()
                .flat_map(|g| g.iter())
                .map(|c| t.iter().position(|x| x == c).expect("classified from t"))
                .collect()
        };
        let perm_a = order(ta, [&batch, &free_a, &contracted]);
        let perm_b = order(tb, [&batch, &contracted, &free_b]);
        let a = self.permute_var(node, a, &perm_a, "left")?;
        let b = self.permute_var(node, b, &perm_b, "right")?;
        let prod = |g: &[char]| g.iter().map(|c| size[c]).product::<usize>();
        let dims = ProductDims {
            batch: prod(&batch),
            m: prod(&free_a),
            k: prod(&contracted),
            n: prod(&free_b),
        };
        let natural: Vec<char> = [batch, free_a, free_b].concat();
        let natural_shape: Vec<usize> = natural.iter().map(|c| size[c]).collect();
        if natural == out {
            return self.push(node, natural_shape, |output| FloatOp::Product {
                node: name,
                a,
                b,
                output,
                dims,
            });
        }
        let n = name.clone();
        let product = self.step(node, "product", natural_shape.clone(), |output| {
            FloatOp::Product {
                node: n,
                a,
                b,
                output,
                dims,
            }
        })?;
        let perm: Vec<usize> = out
            .iter()
            .map(|c| {
                natural
                    .iter()
                    .position(|x| x == c)
                    .expect("every output index")
            })
            .collect();
        let (shape, map) = permutation(&natural_shape, &perm);
        self.push(node, shape, |output| FloatOp::Select {
            node: name,
            inputs: vec![product],
            output,
            map,
        })
    }

    /// `t` with its axes permuted (`perm[d]` is the input axis of output axis `d`): `t`
    /// itself for the identity, else a Select.
    pub(super) fn permute_var(
        &mut self,
        node: &NodeProto,
        t: TensorId,
        perm: &[usize],
        suffix: &str,
    ) -> Result<TensorId> {
        if perm.iter().enumerate().all(|(d, a)| d == *a) {
            return Ok(t);
        }
        let (shape, map) = permutation(&self.graph.tensors[t].shape.clone(), perm);
        self.copies(node, suffix, shape, vec![t], map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_broadcast_like_numpy() {
        assert_eq!(broadcast_shapes(&[2, 1, 3], &[4, 1]), Some(vec![2, 4, 3]));
        assert_eq!(broadcast_shapes(&[3], &[2, 3]), Some(vec![2, 3]));
        assert_eq!(broadcast_shapes(&[2, 3], &[3, 2]), None);
    }

    #[test]
    fn permutation_moves_elements_with_their_axes() {
        // [[0, 1, 2], [3, 4, 5]] transposed is [[0, 3], [1, 4], [2, 5]].
        let (shape, map) = permutation(&[2, 3], &[1, 0]);
        assert_eq!(shape, vec![3, 2]);
        let flat: Vec<u32> = map.iter().map(|m| m.unwrap().1).collect();
        assert_eq!(flat, vec![0, 3, 1, 4, 2, 5]);
    }
}
