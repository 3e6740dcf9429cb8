//! Recurrent layers, unrolled over the (static) sequence: LSTM, GRU and RNN (ONNX layout 0,
//! forward, reverse or bidirectional, any initial state, default activations). Each step is
//! dense products with the constant recurrence weights, lookups for the gates and products of
//! computed tensors for the state updates; the input projections of every step are one dense
//! layer. onnxruntime's DynamicQuantizeLSTM comes here with its weights dequantized
//! (`dynamic.rs`).

use super::{attr_int, attr_string, invalid, node_name, unsupported, Importer, Operand};
use crate::error::Result;
use crate::model::{Activation, FloatOp, ProductDims, TensorId};
use tract_onnx::pb::NodeProto;

/// Which recurrent cell.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    Lstm,
    Gru,
    Rnn,
}

impl Cell {
    /// Gates per cell, in ONNX's weight order (LSTM `iofc`, GRU `zrh`).
    fn gates(self) -> usize {
        match self {
            Self::Lstm => 4,
            Self::Gru => 3,
            Self::Rnn => 1,
        }
    }
}

impl Importer {
    /// LSTM, GRU and RNN.
    pub(super) fn recurrent(&mut self, node: &NodeProto, name: String) -> Result<()> {
        let cell = match node.op_type.as_str() {
            "LSTM" | "DynamicQuantizeLSTM" => Cell::Lstm,
            "GRU" => Cell::Gru,
            _ => Cell::Rnn,
        };
        if attr_int(node, "layout").unwrap_or(0) != 0 {
            return Err(unsupported(
                node,
                "layout=1 (export with the sequence axis first)",
            ));
        }
        if node
            .attribute
            .iter()
            .any(|a| a.name == "clip" || (a.name == "input_forget" && a.i != 0))
        {
            return Err(unsupported(
                node,
                "cell clipping or coupled input-forget gates",
            ));
        }
        if let Some(acts) = node.attribute.iter().find(|a| a.name == "activations") {
            let names: Vec<String> = acts
                .strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).to_lowercase())
                .collect();
            let defaults: &[&str] = match cell {
                Cell::Lstm => &["sigmoid", "tanh", "tanh"],
                Cell::Gru => &["sigmoid", "tanh"],
                Cell::Rnn => &["tanh"],
            };
            if names
                .iter()
                .zip(defaults.iter().cycle())
                .any(|(n, d)| n != d)
            {
                return Err(unsupported(node, "activations other than the defaults"));
            }
        }
        // sequence_lens (4) and, for LSTM, peepholes (7) must be absent.
        let present = |i: usize| node.input.get(i).is_some_and(|s| !s.is_empty());
        if present(4) || (cell == Cell::Lstm && present(7)) {
            return Err(unsupported(node, "sequence lengths or peepholes"));
        }

        let x = self.var(node, 0)?;
        let shape = self.graph.tensors[x].shape.clone();
        let [seq, batch, input] = shape[..] else {
            return Err(invalid(
                node,
                format!("input of shape {shape:?} is not [seq, batch, input]"),
            ));
        };
        let hidden = attr_int(node, "hidden_size")
            .filter(|h| *h > 0)
            .ok_or_else(|| invalid(node, "no hidden_size".into()))? as usize;
        let directions: Vec<bool> = match attr_string(node, "direction").as_deref() {
            None | Some("forward") => vec![false],
            Some("reverse") => vec![true],
            Some("bidirectional") => vec![false, true],
            Some(other) => return Err(invalid(node, format!("unknown direction `{other}`"))),
        };
        let g = cell.gates();
        let gh = g * hidden;
        let w = self.constant(node, 1, "computed input weights")?.clone();
        let r = self
            .constant(node, 2, "computed recurrence weights")?
            .clone();
        let dirs = directions.len();
        if w.shape != [dirs, gh, input] || r.shape != [dirs, gh, hidden] {
            return Err(invalid(
                node,
                format!("weights {:?} and {:?} do not fit", w.shape, r.shape),
            ));
        }
        let b = match present(3) {
            true => self.constant(node, 3, "a computed bias")?.data.clone(),
            false => vec![0.0; dirs * 2 * gh],
        };
        if b.len() != dirs * 2 * gh {
            return Err(invalid(node, "bias length does not fit".into()));
        }
        let linear_before_reset = attr_int(node, "linear_before_reset").unwrap_or(0) != 0;
        // Initial states (inputs 5: H, 6: C of an LSTM), [dirs, batch, hidden]: per direction
        // the tensor to start from, or none for zero (the first step then skips the
        // recurrence).
        let mut initial: [Vec<Option<TensorId>>; 2] = [vec![None; dirs], vec![None; dirs]];
        let state_shape = [dirs, batch, hidden];
        for (slot, i) in [(0, 5), (1, 6)] {
            if !present(i) || (i == 6 && cell != Cell::Lstm) {
                continue;
            }
            let what = if i == 5 { "initial_h" } else { "initial_c" };
            match self.operand(node, i)? {
                Operand::Const(c) if c.data.iter().all(|v| *v == 0.0) => {}
                Operand::Const(c) => {
                    if c.data.len() != dirs * batch * hidden {
                        return Err(invalid(node, format!("{what} is not {state_shape:?}")));
                    }
                    let data = c.data.clone();
                    for d in 0..dirs {
                        let zero = self.copies(
                            node,
                            &format!("d{d}/{what}_zero"),
                            vec![batch, hidden],
                            vec![x],
                            vec![None; batch * hidden],
                        )?;
                        let constant = data[d * batch * hidden..(d + 1) * batch * hidden]
                            .iter()
                            .map(|v| *v as f32)
                            .collect();
                        let n = node_name(node);
                        initial[slot][d] = Some(self.step(
                            node,
                            &format!("d{d}/{what}"),
                            vec![batch, hidden],
                            |output| FloatOp::AddConst {
                                node: n,
                                input: zero,
                                constant,
                                output,
                            },
                        )?);
                    }
                }
                Operand::Var(t) => {
                    if self.graph.tensors[t].shape != state_shape {
                        return Err(invalid(node, format!("{what} is not {state_shape:?}")));
                    }
                    for (d, start) in initial[slot].iter_mut().enumerate() {
                        *start = Some(self.pick(
                            node,
                            &format!("d{d}/{what}"),
                            t,
                            batch,
                            hidden,
                            |bi, j| (d * batch + bi) * hidden + j,
                        )?);
                    }
                }
            }
        }

        let mut hs: Vec<Vec<TensorId>> = Vec::new(); // per direction, per time step
        let mut finals: Vec<(TensorId, Option<TensorId>)> = Vec::new();
        for (d, reverse) in directions.iter().enumerate() {
            let wd = &w.data[d * gh * input..(d + 1) * gh * input];
            let rd = &r.data[d * gh * hidden..(d + 1) * gh * hidden];
            let (wb, rb) = (
                &b[d * 2 * gh..d * 2 * gh + gh],
                &b[d * 2 * gh + gh..(d + 1) * 2 * gh],
            );
            // Input projections of every step at once; for GRU's candidate gate with
            // linear_before_reset = 0 the recurrence bias stays out (it goes inside r ⊙ …).
            let bias: Vec<f32> = (0..gh)
                .map(|j| {
                    let rec = if cell == Cell::Gru && j >= 2 * hidden && linear_before_reset {
                        0.0
                    } else {
                        rb[j]
                    };
                    (wb[j] + rec) as f32
                })
                .collect();
            let proj = self.dense_step(
                node,
                &format!("d{d}/x_proj"),
                x,
                transpose(wd, gh, input),
                bias,
                vec![seq, batch, gh],
            )?;
            let mut h: Option<TensorId> = initial[0][d];
            let mut c: Option<TensorId> = initial[1][d];
            let mut outs = vec![0; seq];
            let order: Vec<usize> = if *reverse {
                (0..seq).rev().collect()
            } else {
                (0..seq).collect()
            };
            for t in order {
                let p = format!("d{d}/t{t}");
                let (prev_h, prev_c) = (h, c);
                // gate k of step t, from the input projection: [batch, hidden]
                let x_gate = |this: &mut Self, k: usize| {
                    this.pick(node, &format!("{p}/x{k}"), proj, batch, hidden, |bi, j| {
                        (t * batch + bi) * gh + k * hidden + j
                    })
                };
                // the recurrence H_{t-1}·Rᵀ for gates `ks` (none on the first step: H = 0)
                let rec = |this: &mut Self, ks: std::ops::Range<usize>, suffix: &str| {
                    prev_h
                        .map(|prev| {
                            let rows = &rd[ks.start * hidden * hidden..ks.end * hidden * hidden];
                            let n_out = ks.len() * hidden;
                            this.dense_step(
                                node,
                                &format!("{p}/{suffix}"),
                                prev,
                                transpose(rows, n_out, hidden),
                                vec![0.0; n_out],
                                vec![batch, n_out],
                            )
                        })
                        .transpose()
                };
                let pre = |this: &mut Self, k: usize, rec: Option<(TensorId, usize)>| {
                    let xk = x_gate(this, k)?;
                    match rec {
                        None => Ok(xk),
                        Some((rt, offset)) => {
                            let width = rt_width(this, rt);
                            let rk = this.pick(
                                node,
                                &format!("{p}/r{k}"),
                                rt,
                                batch,
                                hidden,
                                |bi, j| bi * width + offset + j,
                            )?;
                            this.add_step(node, &format!("{p}/pre{k}"), xk, rk, false)
                        }
                    }
                };
                match cell {
                    Cell::Rnn => {
                        let rt = rec(self, 0..1, "rec")?;
                        let z = pre(self, 0, rt.map(|r| (r, 0)))?;
                        h = Some(self.lookup(node, z, Activation::Tanh, &format!("{p}/h"))?);
                    }
                    Cell::Lstm => {
                        let rt = rec(self, 0..4, "rec")?;
                        let gate = |this: &mut Self, k: usize, act| {
                            let z = pre(this, k, rt.map(|r| (r, k * hidden)))?;
                            this.lookup(node, z, act, &format!("{p}/g{k}"))
                        };
                        let i = gate(self, 0, Activation::Sigmoid)?;
                        let o = gate(self, 1, Activation::Sigmoid)?;
                        let f = gate(self, 2, Activation::Sigmoid)?;
                        let cand = gate(self, 3, Activation::Tanh)?;
                        let ic = self.mul_step(node, &format!("{p}/ic"), i, cand)?;
                        let next_c = match prev_c {
                            None => ic,
                            Some(prev) => {
                                let fc = self.mul_step(node, &format!("{p}/fc"), f, prev)?;
                                self.add_step(node, &format!("{p}/c"), fc, ic, false)?
                            }
                        };
                        let tc =
                            self.lookup(node, next_c, Activation::Tanh, &format!("{p}/tanh_c"))?;
                        h = Some(self.mul_step(node, &format!("{p}/h"), o, tc)?);
                        c = Some(next_c);
                    }
                    Cell::Gru => {
                        let zr = rec(self, 0..2, "rec_zr")?;
                        let z = pre(self, 0, zr.map(|r| (r, 0)))?;
                        let z = self.lookup(node, z, Activation::Sigmoid, &format!("{p}/z"))?;
                        let rg = pre(self, 1, zr.map(|r| (r, hidden)))?;
                        let rg = self.lookup(node, rg, Activation::Sigmoid, &format!("{p}/r"))?;
                        let xh = x_gate(self, 2)?;
                        let cand_in = match prev_h {
                            None if linear_before_reset => {
                                // r ⊙ (0·Rᵀ + Rb): a constant times r.
                                let rbh: Vec<f32> = (0..batch * hidden)
                                    .map(|e| rb[2 * hidden + e % hidden] as f32)
                                    .collect();
                                let zeros = vec![0.0; rbh.len()];
                                let scaled =
                                    self.affine_step(node, &format!("{p}/r_rb"), rg, rbh, zeros)?;
                                self.add_step(node, &format!("{p}/pre_h"), xh, scaled, false)?
                            }
                            None => xh,
                            Some(prev) => {
                                let hr = if linear_before_reset {
                                    let lin = self.dense_step(
                                        node,
                                        &format!("{p}/rec_h"),
                                        prev,
                                        transpose(&rd[2 * hidden * hidden..], hidden, hidden),
                                        rb[2 * hidden..3 * hidden]
                                            .iter()
                                            .map(|v| *v as f32)
                                            .collect(),
                                        vec![batch, hidden],
                                    )?;
                                    self.mul_step(node, &format!("{p}/r_lin"), rg, lin)?
                                } else {
                                    let gated =
                                        self.mul_step(node, &format!("{p}/r_h"), rg, prev)?;
                                    self.dense_step(
                                        node,
                                        &format!("{p}/rec_h"),
                                        gated,
                                        transpose(&rd[2 * hidden * hidden..], hidden, hidden),
                                        vec![0.0; hidden],
                                        vec![batch, hidden],
                                    )?
                                };
                                self.add_step(node, &format!("{p}/pre_h"), xh, hr, false)?
                            }
                        };
                        let cand =
                            self.lookup(node, cand_in, Activation::Tanh, &format!("{p}/cand"))?;
                        // H = cand + z ⊙ (H_prev − cand)
                        let diff = match prev_h {
                            None => {
                                self.lookup(node, cand, Activation::Neg, &format!("{p}/neg"))?
                            }
                            Some(prev) => {
                                self.add_step(node, &format!("{p}/diff"), prev, cand, true)?
                            }
                        };
                        let zd = self.mul_step(node, &format!("{p}/zd"), z, diff)?;
                        h = Some(self.add_step(node, &format!("{p}/h"), cand, zd, false)?);
                    }
                }
                outs[t] = h.expect("set above");
            }
            finals.push((h.expect("seq > 0"), c));
            hs.push(outs);
        }

        // Y [seq, dirs, batch, hidden], Y_h and Y_c [dirs, batch, hidden].
        let per = batch * hidden;
        let outputs = node.output.clone();
        if let Some(y) = outputs.first().filter(|s| !s.is_empty()) {
            let inputs: Vec<TensorId> = hs.iter().flat_map(|d| d.iter().copied()).collect();
            let map = (0..seq * dirs * per)
                .map(|i| {
                    let (t, d, e) = (i / (dirs * per), i / per % dirs, i % per);
                    Some(((d * seq + t) as u32, e as u32))
                })
                .collect();
            let output = self.add_tensor(y, vec![seq, dirs, batch, hidden]);
            self.graph.ops.push(FloatOp::Select {
                node: name.clone(),
                inputs,
                output,
                map,
            });
        }
        for (k, out) in outputs.iter().enumerate().skip(1).take(2) {
            if out.is_empty() {
                continue;
            }
            let inputs: Vec<TensorId> = finals
                .iter()
                .map(|(h, c)| if k == 1 { Some(*h) } else { *c })
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    invalid(node, "a cell state output from a cell without one".into())
                })?;
            let map = (0..dirs * per)
                .map(|i| Some(((i / per) as u32, (i % per) as u32)))
                .collect();
            let output = self.add_tensor(out, vec![dirs, batch, hidden]);
            self.graph.ops.push(FloatOp::Select {
                node: name.clone(),
                inputs,
                output,
                map,
            });
        }
        Ok(())
    }

    /// `out[b, j] = src[index(b, j)]` for a `[rows, cols]` result: columns picked by copies.
    fn pick(
        &mut self,
        node: &NodeProto,
        suffix: &str,
        src: TensorId,
        rows: usize,
        cols: usize,
        index: impl Fn(usize, usize) -> usize,
    ) -> Result<TensorId> {
        let map = (0..rows * cols)
            .map(|e| Some((0, index(e / cols, e % cols) as u32)))
            .collect();
        self.copies(node, suffix, vec![rows, cols], vec![src], map)
    }

    /// A dense layer over the last axis (`weight` row-major `[n_in, n_out]`), as an
    /// intermediate tensor of `shape`.
    pub(super) fn dense_step(
        &mut self,
        node: &NodeProto,
        suffix: &str,
        input: TensorId,
        weight: Vec<f32>,
        bias: Vec<f32>,
        shape: Vec<usize>,
    ) -> Result<TensorId> {
        let n_in = *self.graph.tensors[input].shape.last().expect("ranked");
        let n_out = bias.len();
        let name = node_name(node);
        self.step(node, suffix, shape, |output| FloatOp::Dense {
            node: name,
            input,
            output,
            n_in,
            n_out,
            weight,
            bias,
        })
    }

    /// `x·scale + shift` element-wise, as an intermediate tensor.
    pub(super) fn affine_step(
        &mut self,
        node: &NodeProto,
        suffix: &str,
        input: TensorId,
        scale: Vec<f32>,
        shift: Vec<f32>,
    ) -> Result<TensorId> {
        let shape = self.graph.tensors[input].shape.clone();
        let name = node_name(node);
        self.step(node, suffix, shape, |output| FloatOp::Affine {
            node: name,
            input,
            output,
            scale,
            shift,
        })
    }

    pub(super) fn mul_step(
        &mut self,
        node: &NodeProto,
        suffix: &str,
        a: TensorId,
        b: TensorId,
    ) -> Result<TensorId> {
        let shape = self.graph.tensors[a].shape.clone();
        let dims = ProductDims::elementwise(shape.iter().product());
        let name = node_name(node);
        self.step(node, suffix, shape, |output| FloatOp::Product {
            node: name,
            a,
            b,
            output,
            dims,
        })
    }

    pub(super) fn add_step(
        &mut self,
        node: &NodeProto,
        suffix: &str,
        a: TensorId,
        b: TensorId,
        sub: bool,
    ) -> Result<TensorId> {
        let shape = self.graph.tensors[a].shape.clone();
        let name = node_name(node);
        self.step(node, suffix, shape, |output| FloatOp::Add {
            node: name,
            a,
            b,
            output,
            sub,
        })
    }
}

/// The width of the last axis of a tensor.
fn rt_width(this: &Importer, t: TensorId) -> usize {
    *this.graph.tensors[t].shape.last().expect("ranked")
}

/// `m` (row-major `[rows, cols]`) transposed to row-major `[cols, rows]`, as `f32`.
fn transpose(m: &[f64], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            out[j * rows + i] = m[i * cols + j] as f32;
        }
    }
    out
}
