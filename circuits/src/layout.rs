//! The layout planner: a compiled model (and, when proving, its inputs) becomes a [`Plan`] —
//! every advice value, fixed value, selector and copy constraint of the circuit, decided
//! natively before halo2 sees anything. The circuit then only writes the plan out, which
//! keeps synthesis trivial and lets tests corrupt any single cell.
//!
//! Columns: `x[0..W]` and `acc` (advice), `w[0..W]`, `bias`, `tag` (fixed), one instance
//! column, and a three-column lookup table `(tag, in, out)`.
//!
//! Row shapes:
//! ```text
//! dot product, first row:  | x0 .. x(W-1) | acc = bias + Σ xi·wi        |  w0 .. w(W-1), bias
//! dot product, next rows:  | x0 .. x(W-1) | acc = acc(prev) + Σ xi·wi   |  w0 .. w(W-1)
//! rescale (2 rows):        | q | y | .. | a |  acc a + half = q·2^s + r   |  w0 = 2^s, w1 = half, tag = f
//!                          | r | 0 | .. |   |  (tag_range(s), r, 0) ∈ table, (f, q, y) ∈ table
//! activation:              | x | y | .. |   |  (f, x, y) ∈ table
//! ```
//! Shape ops (reshape, flatten) reuse cells and cost no rows.

use crate::error::Result;
use crate::fixed_point::rescale;
use crate::model::Activation;
use crate::quantize::{CompiledModel, Layer, Tables};

/// Table tag of an activation function.
pub fn act_tag(act: Activation) -> u64 {
    match act {
        Activation::Identity => 1,
        Activation::Relu => 2,
    }
}

/// Table tag of the range check `0 ≤ r < 2^shift`.
pub fn range_tag(shift: u32) -> u64 {
    64 + u64::from(shift)
}

/// Every row of the lookup table `(tag, in, out)`; the all-zero row first (the value seen by
/// rows that do not look anything up).
pub fn table_rows(tables: &Tables) -> Vec<(u64, i128, i128)> {
    let mut rows = vec![(0, 0, 0)];
    for shift in &tables.range_shifts {
        rows.extend((0..1i128 << shift).map(|r| (range_tag(*shift), r, 0)));
    }
    for (act, bits) in &tables.activations {
        let half = 1i128 << (bits - 1);
        rows.extend((-half..half).map(|x| (act_tag(*act), x, act.apply(x))));
    }
    rows
}

/// An advice cell: column index (`0..W` are `x`, `W` is `acc`) and row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CellRef {
    /// Advice column index.
    pub col: usize,
    /// Row.
    pub row: usize,
}

/// The rows a layer occupies, for naming a failing constraint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerRows {
    /// The ONNX node.
    pub node: String,
    /// First row.
    pub start: usize,
    /// One past the last row.
    pub end: usize,
}

/// The whole circuit, decided natively.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Multiply-accumulates per row.
    pub width: usize,
    /// Rows used.
    pub rows: usize,
    /// Whether advice values are a real witness (false for key generation).
    pub witness: bool,
    /// Advice values, `[W + 1][rows]`.
    pub advice: Vec<Vec<i128>>,
    /// Fixed weight columns, `[W][rows]`.
    pub weights: Vec<Vec<i64>>,
    /// Fixed bias column.
    pub bias: Vec<i64>,
    /// Fixed lookup tag column.
    pub tag: Vec<u64>,
    /// Selector of first dot-product rows.
    pub dot_first: Vec<bool>,
    /// Selector of chained dot-product rows.
    pub dot_next: Vec<bool>,
    /// Selector of rescale rows.
    pub rescale: Vec<bool>,
    /// Selector of lookup rows.
    pub lookup: Vec<bool>,
    /// Copy constraints between advice cells.
    pub copies: Vec<(CellRef, CellRef)>,
    /// Advice cells copied from instance rows (the public inputs).
    pub from_instance: Vec<(CellRef, usize)>,
    /// Advice cells exposed at instance rows (the public outputs).
    pub to_instance: Vec<(CellRef, usize)>,
    /// The public instance values: inputs, then outputs.
    pub instances: Vec<i128>,
    /// Where each layer lives.
    pub layers: Vec<LayerRows>,
}

struct Builder {
    plan: Plan,
}

impl Builder {
    fn row(&mut self) -> usize {
        let p = &mut self.plan;
        let r = p.rows;
        p.rows += 1;
        p.advice.iter_mut().for_each(|c| c.push(0));
        p.weights.iter_mut().for_each(|c| c.push(0));
        p.bias.push(0);
        p.tag.push(0);
        for sel in [
            &mut p.dot_first,
            &mut p.dot_next,
            &mut p.rescale,
            &mut p.lookup,
        ] {
            sel.push(false);
        }
        r
    }

    fn value(&self, c: CellRef) -> i128 {
        self.plan.advice[c.col][c.row]
    }

    /// Places a copy of `src` at `dst`.
    fn copy(&mut self, src: CellRef, dst: CellRef) {
        self.plan.advice[dst.col][dst.row] = self.value(src);
        self.plan.copies.push((src, dst));
    }

    /// Lays out `bias + Σ value(cell)·weight` over as many rows as needed; returns the cell of
    /// the final accumulator.
    fn dot(&mut self, terms: &[(CellRef, i64)], bias: i64) -> CellRef {
        let w = self.plan.width;
        let mut acc = i128::from(bias);
        let mut last = None;
        for (i, chunk) in terms.chunks(w).enumerate() {
            let r = self.row();
            if i == 0 {
                self.plan.dot_first[r] = true;
                self.plan.bias[r] = bias;
            } else {
                self.plan.dot_next[r] = true;
            }
            for (slot, (src, weight)) in chunk.iter().enumerate() {
                self.copy(*src, CellRef { col: slot, row: r });
                self.plan.weights[slot][r] = *weight;
                acc += self.value(*src) * i128::from(*weight);
            }
            self.plan.advice[w][r] = acc;
            last = Some(CellRef { col: w, row: r });
        }
        last.unwrap_or_else(|| {
            // No terms: a single row holding the bias.
            let r = self.row();
            self.plan.dot_first[r] = true;
            self.plan.bias[r] = bias;
            self.plan.advice[w][r] = acc;
            CellRef { col: w, row: r }
        })
    }

    /// Rescales the accumulator at `acc` by `2^shift` and applies `act`; returns the output cell.
    fn rescale(&mut self, acc: CellRef, shift: u32, act: Activation) -> CellRef {
        let w = self.plan.width;
        let (q, r) = rescale(self.value(acc), shift);
        let top = self.row();
        let bottom = self.row();
        self.copy(acc, CellRef { col: w, row: top });
        let p = &mut self.plan;
        p.advice[0][top] = q;
        p.advice[1][top] = act.apply(q);
        p.weights[0][top] = 1i64 << shift;
        p.weights[1][top] = if shift == 0 { 0 } else { 1i64 << (shift - 1) };
        p.tag[top] = act_tag(act);
        p.rescale[top] = true;
        p.lookup[top] = true;
        p.advice[0][bottom] = r;
        p.tag[bottom] = range_tag(shift);
        p.lookup[bottom] = true;
        CellRef { col: 1, row: top }
    }

    /// Applies `act` to the value at `src` by lookup; returns the output cell.
    fn activation(&mut self, src: CellRef, act: Activation) -> CellRef {
        let r = self.row();
        self.copy(src, CellRef { col: 0, row: r });
        self.plan.advice[1][r] = act.apply(self.value(src));
        self.plan.tag[r] = act_tag(act);
        self.plan.lookup[r] = true;
        CellRef { col: 1, row: r }
    }
}

impl Plan {
    /// Plans the circuit of `model` with `width` multiply-accumulates per row. With `inputs`
    /// (quantized, one vector per model input) the plan carries the witness; without, it
    /// carries zeros and is only good for key generation.
    pub fn build(model: &CompiledModel, width: usize, inputs: Option<&[Vec<i64>]>) -> Result<Plan> {
        let mut b = Builder {
            plan: Plan {
                width,
                rows: 0,
                witness: inputs.is_some(),
                advice: vec![Vec::new(); width + 1],
                weights: vec![Vec::new(); width],
                bias: Vec::new(),
                tag: Vec::new(),
                dot_first: Vec::new(),
                dot_next: Vec::new(),
                rescale: Vec::new(),
                lookup: Vec::new(),
                copies: Vec::new(),
                from_instance: Vec::new(),
                to_instance: Vec::new(),
                instances: Vec::new(),
                layers: Vec::new(),
            },
        };
        let mut cells: Vec<Vec<CellRef>> = vec![Vec::new(); model.tensors.len()];

        // Public inputs: copied from the instance column, `width` per row.
        let start = b.plan.rows;
        for (i, spec) in model.inputs.iter().enumerate() {
            let n = model.tensors[spec.tensor].numel();
            let data = inputs.map(|all| all[i].as_slice());
            for e in 0..n {
                let col = e % width;
                if col == 0 {
                    b.row();
                }
                let cell = CellRef {
                    col,
                    row: b.plan.rows - 1,
                };
                let v = data.map_or(0, |d| i128::from(d[e]));
                b.plan.advice[col][cell.row] = v;
                b.plan.from_instance.push((cell, b.plan.instances.len()));
                b.plan.instances.push(v);
                cells[spec.tensor].push(cell);
            }
        }
        b.plan.layers.push(LayerRows {
            node: "inputs".into(),
            start,
            end: b.plan.rows,
        });

        for layer in &model.layers {
            let start = b.plan.rows;
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
                    let src = cells[*input].clone();
                    let mut out = Vec::with_capacity(src.len() / n_in * n_out);
                    for row in src.chunks(*n_in) {
                        for j in 0..*n_out {
                            let terms: Vec<(CellRef, i64)> = row
                                .iter()
                                .enumerate()
                                .map(|(i, c)| (*c, weight[i * n_out + j]))
                                .collect();
                            let acc = b.dot(&terms, bias[j]);
                            out.push(match rescale {
                                Some(r) => b.rescale(acc, r.shift, r.act),
                                None => acc,
                            });
                        }
                    }
                    cells[*output] = out;
                }
                Layer::Add {
                    a, b: rhs, output, ..
                } => {
                    let (xa, xb) = (cells[*a].clone(), cells[*rhs].clone());
                    cells[*output] = xa
                        .iter()
                        .zip(&xb)
                        .map(|(ca, cb)| b.dot(&[(*ca, 1), (*cb, 1)], 0))
                        .collect();
                }
                Layer::AddConst {
                    input,
                    constant,
                    output,
                    ..
                } => {
                    let x = cells[*input].clone();
                    cells[*output] = x
                        .iter()
                        .zip(constant)
                        .map(|(c, k)| b.dot(&[(*c, 1)], *k))
                        .collect();
                }
                Layer::Activation {
                    act, input, output, ..
                } => {
                    let x = cells[*input].clone();
                    cells[*output] = x.iter().map(|c| b.activation(*c, *act)).collect();
                }
                Layer::Reshape { input, output, .. } => cells[*output] = cells[*input].clone(),
            }
            b.plan.layers.push(LayerRows {
                node: layer.node().to_owned(),
                start,
                end: b.plan.rows,
            });
        }

        for spec in &model.outputs {
            for cell in cells[spec.tensor].clone() {
                let v = b.value(cell);
                b.plan.to_instance.push((cell, b.plan.instances.len()));
                b.plan.instances.push(v);
            }
        }
        Ok(b.plan)
    }

    /// The public outputs this plan exposes, one vector per model output.
    pub fn outputs(&self, model: &CompiledModel) -> Vec<Vec<i64>> {
        let mut at = self.instances.len() - self.to_instance.len();
        model
            .outputs
            .iter()
            .map(|o| {
                let n = model.tensors[o.tensor].numel();
                let v = self.instances[at..at + n]
                    .iter()
                    .map(|x| *x as i64)
                    .collect();
                at += n;
                v
            })
            .collect()
    }

    /// The layer that owns `row`.
    pub fn layer_at(&self, row: usize) -> Option<&str> {
        self.layers
            .iter()
            .find(|l| (l.start..l.end).contains(&row))
            .map(|l| l.node.as_str())
    }
}
