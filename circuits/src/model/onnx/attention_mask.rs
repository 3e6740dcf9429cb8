//! Attention masks: exporters add `−∞` (or float32's most negative value) to the attention
//! scores a softmax must ignore, a causal mask as a constant (GPT-2: `Where(tril = 0, −∞, 0)`),
//! a padding mask computed from the model's `attention_mask` input (BERT: `Where(keep, 0, −∞)`;
//! transformers 4.x `Where(bool(1 − mask), min, 1 − mask)` and `(1 − mask)·min`, the mask cast
//! from integers or booleans and read as 0/1), or the scores themselves masked
//! (`Where(keep, scores, −∞)`).
//! Fixed point holds no `−∞`, and a finite stand-in would size every table after it to its
//! magnitude; but a softmax of such a sum is the softmax of the scores over the kept positions
//! only, which is what is lowered: the exponentials times the 0/1 mask, summed, divided.
//!
//! The importer notes which tensors are masks (0 where kept, at most [`MASKED`] elsewhere)
//! and which are masked scores, as it meets them; the ops computing them with their infinite
//! constants are still emitted, and pruned as dead when the masked softmax is their only
//! reader. The maximum subtracted before the exponentials is the kept positions' (a masked
//! score above every kept one must not underflow them): over the kept elements of each window
//! for a constant mask, and over the scores with the masked ones lowered to the window's
//! minimum for a computed one. A window with nothing kept gives zeros (ONNX gives NaN, which
//! exporters then map to 0; a finite minimum gives a uniform row there, which is not
//! matched): the sum such a window divides by is 1 (for a computed mask, `1 − max(keep)` is
//! added to every sum).

use super::dims::broadcast;
use super::elementwise::broadcast_shapes;
use super::reduce::Reduction;
use super::{invalid, unsupported, Importer, Operand};
use crate::error::Result;
use crate::model::{FloatOp, ProductDims, TensorId};
use tract_onnx::pb::NodeProto;

/// A value at or below this, added before a softmax, masks its position out: the softmax of
/// scores under about 10⁴ in magnitude gives it exactly 0 in float32 (exp underflows below
/// −104).
pub(super) const MASKED: f64 = -1e4;

/// Which positions a mask keeps (1) or masks out (0).
#[derive(Clone, Debug)]
pub(super) enum Keep {
    /// A computed boolean tensor.
    Var(TensorId),
    /// Constant 0/1 values of a shape.
    Const(Vec<usize>, Vec<f64>),
}

/// A tensor that equals `scores` where `keep` is 1 and is masked elsewhere.
#[derive(Clone, Debug)]
pub(super) struct Masked {
    scores: TensorId,
    keep: Keep,
}

/// Whether constant values are a mask (each 0 or at most [`MASKED`], at least one masked):
/// which positions they keep.
fn constant_mask(data: &[f64]) -> Option<Vec<f64>> {
    let masked = |v: f64| v <= MASKED;
    (data.iter().all(|v| *v == 0.0 || masked(*v)) && data.iter().any(|v| masked(*v))).then(|| {
        data.iter()
            .map(|v| f64::from(u8::from(*v == 0.0)))
            .collect()
    })
}

/// Whether every constant value is at most [`MASKED`].
fn all_masked(data: &[f64]) -> bool {
    !data.is_empty() && data.iter().all(|v| *v <= MASKED)
}

impl Importer {
    /// Notes whether `node` (an Add, Where or Mul, already imported) makes a mask or masked
    /// scores, for a softmax reading them ([`Self::masked_softmax`]).
    pub(super) fn note_mask(&mut self, node: &NodeProto) -> Result<()> {
        let Some(&output) = node.output.first().and_then(|o| self.ids.get(o)) else {
            return Ok(());
        };
        let operand = |this: &Self, i: usize| -> Option<Result<Side>> {
            node.input.get(i).filter(|n| !n.is_empty())?;
            Some(this.operand(node, i).map(|o| match o {
                Operand::Var(t) => Side::Var(t),
                Operand::Const(c) => Side::Const(c.shape.clone(), c.data.clone()),
            }))
        };
        match node.op_type.as_str() {
            "Add" => {
                let (Some(a), Some(b)) = (operand(self, 0), operand(self, 1)) else {
                    return Ok(());
                };
                let (a, b) = (self.term(a?), self.term(b?));
                match (a, b) {
                    (Term::Masked(m), Term::Mask(k)) | (Term::Mask(k), Term::Masked(m)) => {
                        let keep = self.keep_both(node, m.keep, k)?;
                        let scores = m.scores;
                        self.masked.insert(output, Masked { scores, keep });
                    }
                    // Masked scores plus a bias (a padding mask of zeros, a position bias).
                    (Term::Masked(m), Term::Value(v)) | (Term::Value(v), Term::Masked(m)) => {
                        let scores = self.plus(node, m.scores, v)?;
                        let keep = m.keep;
                        self.masked.insert(output, Masked { scores, keep });
                    }
                    (Term::Value(Side::Var(scores)), Term::Mask(keep))
                    | (Term::Mask(keep), Term::Value(Side::Var(scores))) => {
                        self.masked.insert(output, Masked { scores, keep });
                    }
                    (Term::Mask(a), Term::Mask(b)) => {
                        let keep = self.keep_both(node, a, b)?;
                        self.masks.insert(output, keep);
                    }
                    _ => {}
                }
            }
            "Where" => {
                let (Some(c), Some(x), Some(y)) =
                    (operand(self, 0), operand(self, 1), operand(self, 2))
                else {
                    return Ok(());
                };
                let (c, x, y) = (c?, x?, y?);
                let keep_if = |c: &Side, when: bool, this: &mut Self| -> Result<Keep> {
                    Ok(match c {
                        Side::Var(t) if when => Keep::Var(*t),
                        Side::Var(t) => Keep::Var(this.not(node, *t)?),
                        Side::Const(shape, data) => Keep::Const(
                            shape.clone(),
                            data.iter()
                                .map(|v| f64::from(u8::from((*v != 0.0) == when)))
                                .collect(),
                        ),
                    })
                };
                match (&x, &y) {
                    // Where(bool(m), −∞, m): 0 where m is, −∞ elsewhere (transformers 4.x's
                    // `inverted.masked_fill(inverted.bool(), min)`, `inverted = 1 − mask`).
                    (Side::Const(_, a), Side::Var(_))
                        if all_masked(a)
                            && matches!(c, Side::Var(_))
                            && self.cast_source(&node.input[0])
                                == self.cast_source(&node.input[2]) =>
                    {
                        let keep = keep_if(&c, false, self)?;
                        self.masks.insert(output, keep);
                    }
                    // Where(keep, 0, −∞): a mask (a constant condition was folded already).
                    (Side::Const(_, a), Side::Const(_, b)) if matches!(c, Side::Var(_)) => {
                        let zero = |d: &[f64]| !d.is_empty() && d.iter().all(|v| *v == 0.0);
                        let keep = if zero(a) && all_masked(b) {
                            keep_if(&c, true, self)?
                        } else if all_masked(a) && zero(b) {
                            keep_if(&c, false, self)?
                        } else {
                            return Ok(());
                        };
                        self.masks.insert(output, keep);
                    }
                    // Where(keep, scores, −∞): masked scores.
                    (Side::Var(s), Side::Const(_, b)) if all_masked(b) => {
                        let keep = keep_if(&c, true, self)?;
                        self.masked.insert(output, Masked { scores: *s, keep });
                    }
                    (Side::Const(_, a), Side::Var(s)) if all_masked(a) => {
                        let keep = keep_if(&c, false, self)?;
                        self.masked.insert(output, Masked { scores: *s, keep });
                    }
                    _ => {}
                }
            }
            // (1 − m)·min of a 0/1 mask m cast from integers or booleans (transformers'
            // `get_extended_attention_mask`).
            "Mul" => {
                let (Some(a), Some(b)) = (operand(self, 0), operand(self, 1)) else {
                    return Ok(());
                };
                let inverted = match (a?, b?) {
                    (Side::Var(_), Side::Const(_, c)) if all_masked(&c) => &node.input[0],
                    (Side::Const(_, c), Side::Var(_)) if all_masked(&c) => &node.input[1],
                    _ => return Ok(()),
                };
                let Some(sub) = self.producer(inverted).filter(|n| n.op_type == "Sub") else {
                    return Ok(());
                };
                let ones = |n: &String| {
                    (self.consts.get(n)).is_some_and(|c| c.data.iter().all(|v| *v == 1.0))
                };
                let Some(m) = sub
                    .input
                    .get(1)
                    .filter(|_| sub.input.first().is_some_and(ones))
                else {
                    return Ok(());
                };
                let source = self.cast_source(m);
                if self.value_types().integer(&source) {
                    if let Some(&m) = self.ids.get(m) {
                        self.masks.insert(output, Keep::Var(m));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// What an operand of an Add is to a softmax after it.
    fn term(&self, side: Side) -> Term {
        match side {
            Side::Var(t) => match (self.masked.get(&t), self.masks.get(&t)) {
                (Some(m), _) => Term::Masked(m.clone()),
                (_, Some(k)) => Term::Mask(k.clone()),
                _ => Term::Value(Side::Var(t)),
            },
            Side::Const(shape, data) => match constant_mask(&data) {
                Some(keep) => Term::Mask(Keep::Const(shape, keep)),
                None => Term::Value(Side::Const(shape, data)),
            },
        }
    }

    /// `scores + v`, broadcast, as an intermediate tensor of `node`.
    fn plus(&mut self, node: &NodeProto, scores: TensorId, v: Side) -> Result<TensorId> {
        let name = super::node_name(node);
        let from = self.graph.tensors[scores].shape.clone();
        let other = match &v {
            Side::Var(t) => self.graph.tensors[*t].shape.clone(),
            Side::Const(shape, _) => shape.clone(),
        };
        let shape = broadcast_shapes(&from, &other)
            .ok_or_else(|| invalid(node, format!("cannot broadcast {from:?} with {other:?}")))?;
        let scores = self.broadcast_var(node, scores, &shape, "scores")?;
        match v {
            Side::Var(t) => {
                let t = self.broadcast_var(node, t, &shape, "bias")?;
                self.elementwise(node, "biased_scores", scores, t, Elementwise::Add)
            }
            Side::Const(cshape, data) => {
                let constant = broadcast(&cshape, &data, &shape)
                    .ok_or_else(|| invalid(node, "cannot broadcast the bias".into()))?
                    .into_iter()
                    .map(|v| v as f32)
                    .collect();
                self.step(node, "biased_scores", shape, |output| FloatOp::AddConst {
                    node: name,
                    input: scores,
                    constant,
                    output,
                })
            }
        }
    }

    /// The positions both masks keep.
    fn keep_both(&mut self, node: &NodeProto, a: Keep, b: Keep) -> Result<Keep> {
        let shape_of = |this: &Self, k: &Keep| match k {
            Keep::Var(t) => this.graph.tensors[*t].shape.clone(),
            Keep::Const(shape, _) => shape.clone(),
        };
        let (sa, sb) = (shape_of(self, &a), shape_of(self, &b));
        let shape = broadcast_shapes(&sa, &sb)
            .ok_or_else(|| invalid(node, format!("cannot broadcast {sa:?} with {sb:?}")))?;
        let constant = |shape_from: &[usize], data: &[f64]| {
            broadcast(shape_from, data, &shape)
                .ok_or_else(|| invalid(node, "cannot broadcast the mask".into()))
        };
        Ok(match (a, b) {
            (Keep::Const(sa, a), Keep::Const(sb, b)) => {
                let (a, b) = (constant(&sa, &a)?, constant(&sb, &b)?);
                Keep::Const(
                    shape.clone(),
                    a.iter().zip(&b).map(|(p, q)| p * q).collect(),
                )
            }
            (Keep::Var(t), Keep::Const(sc, c)) | (Keep::Const(sc, c), Keep::Var(t)) => {
                let scale: Vec<f32> = constant(&sc, &c)?.iter().map(|v| *v as f32).collect();
                let input = self.broadcast_var(node, t, &shape, "keep_a")?;
                let name = super::node_name(node);
                let n = scale.len();
                Keep::Var(self.step(node, "keep_both", shape.clone(), |output| {
                    FloatOp::Affine {
                        node: name,
                        input,
                        output,
                        scale,
                        shift: vec![0.0; n],
                    }
                })?)
            }
            (Keep::Var(a), Keep::Var(b)) => {
                let a = self.broadcast_var(node, a, &shape, "keep_a")?;
                let b = self.broadcast_var(node, b, &shape, "keep_b")?;
                Keep::Var(self.elementwise(node, "keep_both", a, b, Elementwise::Mul)?)
            }
        })
    }

    /// The main-graph node writing value `name`.
    fn producer(&self, name: &str) -> Option<NodeProto> {
        let graph = self.proto.as_deref()?.graph.as_ref()?;
        (graph.node.iter())
            .find(|n| n.output.iter().any(|o| o == name))
            .cloned()
    }

    /// The value `name` is a Cast (or Identity) of, through any number of them.
    fn cast_source(&self, name: &str) -> String {
        let mut name = name.to_owned();
        while let Some(n) = self
            .producer(&name)
            .filter(|n| matches!(n.op_type.as_str(), "Cast" | "Identity"))
        {
            match n.input.first() {
                Some(input) => name = input.clone(),
                None => break,
            }
        }
        name
    }

    /// `1 − t` of a computed boolean, as an intermediate tensor of `node`.
    fn not(&mut self, node: &NodeProto, t: TensorId) -> Result<TensorId> {
        let shape = self.graph.tensors[t].shape.clone();
        let n = shape.iter().product();
        let name = super::node_name(node);
        self.step(node, "keep", shape, |output| FloatOp::Affine {
            node: name,
            input: t,
            output,
            scale: vec![-1.0; n],
            shift: vec![1.0; n],
        })
    }

    /// The masked scores a softmax reads, if its input is such.
    pub(super) fn masked_input(&self, x: TensorId) -> Option<Masked> {
        self.masked.get(&x).cloned()
    }

    /// Softmax over the reduction `r` of masked scores of `shape`: the kept positions' softmax,
    /// zeros where masked (module doc).
    pub(super) fn masked_softmax(
        &mut self,
        node: &NodeProto,
        name: String,
        masked: Masked,
        r: &Reduction,
        shape: Vec<usize>,
    ) -> Result<()> {
        if node.op_type != "Softmax" {
            return Err(unsupported(
                node,
                "a LogSoftmax of masked scores (−∞ where masked)",
            ));
        }
        let numel: usize = shape.iter().product();
        let scores = self.broadcast_var(node, masked.scores, &shape, "scores")?;
        let (exp, empty) = match masked.keep {
            Keep::Const(kshape, data) => {
                let keep = broadcast(&kshape, &data, &shape)
                    .ok_or_else(|| invalid(node, "cannot broadcast the mask".into()))?;
                let kept = |e: &u32| keep[*e as usize] != 0.0;
                // The maximum over each window's kept elements (all of them where none is).
                let windows: Vec<Vec<u32>> = (r.windows.iter())
                    .map(
                        |w| match w.iter().copied().filter(kept).collect::<Vec<_>>() {
                            k if k.is_empty() => w.clone(),
                            k => k,
                        },
                    )
                    .collect();
                let empty: Vec<f32> = (r.windows.iter())
                    .map(|w| f32::from(u8::from(!w.iter().any(kept))))
                    .collect();
                let within = Reduction {
                    windows,
                    ..r.clone()
                };
                let max = self.window_extreme(node, scores, &within, false)?;
                let max = self.spread(node, max, r, &shape, "max_broadcast")?;
                // A masked element reads its window's maximum: exp(0), then dropped.
                let map = (0..numel as u32)
                    .map(|e| Some((u32::from(!kept(&e)), e)))
                    .collect();
                let z = self.copies(node, "kept_scores", shape.clone(), vec![scores, max], map)?;
                let exp = self.shifted(node, z, max)?;
                let map = (0..numel as u32)
                    .map(|e| kept(&e).then_some((0, e)))
                    .collect();
                let exp = self.copies(node, "kept_exp", shape.clone(), vec![exp], map)?;
                let empty = empty
                    .iter()
                    .any(|e| *e != 0.0)
                    .then_some(Empty::Constant(empty));
                (exp, empty)
            }
            Keep::Var(keep) => {
                let keep = self.broadcast_var(node, keep, &shape, "keep")?;
                // Masked scores lowered to their window's minimum, so that the maximum is the
                // kept ones'.
                let min = self.window_extreme(node, scores, r, true)?;
                let min = self.spread(node, min, r, &shape, "min_broadcast")?;
                let above = self.elementwise(node, "above_min", scores, min, Elementwise::Sub)?;
                let gated = self.elementwise(node, "kept_above", keep, above, Elementwise::Mul)?;
                let z = self.elementwise(node, "kept_scores", gated, min, Elementwise::Add)?;
                let max = self.window_extreme(node, z, r, false)?;
                let max = self.spread(node, max, r, &shape, "max_broadcast")?;
                let exp = self.shifted(node, z, max)?;
                let exp = self.elementwise(node, "kept_exp", keep, exp, Elementwise::Mul)?;
                // 1 for a window that keeps nothing, else 0: `1 − max(keep)`.
                let any = self.window_extreme(node, keep, r, false)?;
                (exp, Some(Empty::Computed(self.not(node, any)?)))
            }
        };
        let mut sum = self.window_sum(node, exp, r, "sum")?;
        // A window with nothing kept divides its zeros by 1.
        let n = super::node_name(node);
        let kept_shape = self.graph.tensors[sum].shape.clone();
        sum = match empty {
            None => sum,
            Some(Empty::Constant(constant)) => {
                self.step(node, "sum_nonzero", kept_shape, |output| {
                    FloatOp::AddConst {
                        node: n,
                        input: sum,
                        constant,
                        output,
                    }
                })?
            }
            Some(Empty::Computed(none)) => {
                self.elementwise(node, "sum_nonzero", sum, none, Elementwise::Add)?
            }
        };
        let total = self.spread(node, sum, r, &shape, "sum_broadcast")?;
        self.push(node, shape, |output| FloatOp::Div {
            node: name,
            a: exp,
            b: total,
            output,
            whole: false,
        })
    }

    /// `exp(z − max)`, as intermediate tensors.
    fn shifted(&mut self, node: &NodeProto, z: TensorId, max: TensorId) -> Result<TensorId> {
        let shifted = self.elementwise(node, "shifted", z, max, Elementwise::Sub)?;
        self.lookup(node, shifted, crate::model::Activation::Exp, "exp")
    }

    /// `a ∘ b` of two computed tensors of one shape, as an intermediate tensor.
    fn elementwise(
        &mut self,
        node: &NodeProto,
        suffix: &str,
        a: TensorId,
        b: TensorId,
        op: Elementwise,
    ) -> Result<TensorId> {
        let shape = self.graph.tensors[a].shape.clone();
        let numel = shape.iter().product();
        let name = super::node_name(node);
        self.step(node, suffix, shape, |output| match op {
            Elementwise::Add | Elementwise::Sub => FloatOp::Add {
                node: name,
                a,
                b,
                output,
                sub: matches!(op, Elementwise::Sub),
            },
            Elementwise::Mul => FloatOp::Product {
                node: name,
                a,
                b,
                output,
                dims: ProductDims::elementwise(numel),
            },
        })
    }
}

/// An operand of an Add before a softmax: masked scores, a mask, or any other value.
enum Term {
    Masked(Masked),
    Mask(Keep),
    Value(Side),
}

/// An operand as [`Importer::note_mask`] reads it.
enum Side {
    Var(TensorId),
    Const(Vec<usize>, Vec<f64>),
}

/// The windows of a masked softmax that keep nothing (1) or something (0).
enum Empty {
    Constant(Vec<f32>),
    Computed(TensorId),
}

#[derive(Clone, Copy)]
enum Elementwise {
    Add,
    Sub,
    Mul,
}
