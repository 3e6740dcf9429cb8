//! The halo2 circuit of a compiled model: configuration (columns, gates, the lookup) and
//! synthesis of a [`Plan`].

use crate::fixed_point::to_field;
use crate::layout::{table_rows, FGate, Plan, PoseidonGate};
use crate::model::{CompiledModel, Tables};
use crate::Fr;
use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::plonk::{
    Advice, Challenge, Circuit, Column, ConstraintSystem, Error, Expression, FirstPhase, Fixed,
    Instance, SecondPhase, Selector, TableColumn,
};
use halo2_proofs::poly::Rotation;
use snark_verifier_sdk::CircuitExt;
use std::sync::Arc;

/// Shape parameters of the circuit (what `configure` needs; stored with the keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CircuitParams {
    /// Multiply-accumulates per dot-product row.
    pub width: usize,
    /// Whether the Poseidon gates are present (something is hashed).
    pub poseidon: bool,
    /// Whether the weights are advice (private or hashed weights).
    pub private_weights: bool,
    /// Whether the product gates are present (two computed tensors are multiplied).
    pub products: bool,
    /// Whether the second phase of randomized (Freivalds) checks is present.
    pub freivalds: bool,
    /// Whether rescales take one row (the one-row rescale gate and a second lookup).
    pub one_row_rescale: bool,
}

impl CircuitParams {
    /// The shape of `model`'s circuit.
    pub fn of(model: &CompiledModel) -> Self {
        Self {
            width: model.layout.width,
            poseidon: model.uses_poseidon(),
            private_weights: model.private_weights(),
            products: model.uses_products(),
            freivalds: model.uses_freivalds(),
            one_row_rescale: model.layout.one_row_rescale,
        }
    }
}

impl Default for CircuitParams {
    fn default() -> Self {
        Self {
            width: 4,
            poseidon: false,
            private_weights: false,
            products: false,
            freivalds: false,
            one_row_rescale: false,
        }
    }
}

/// The columns, gates and lookup of the model circuit.
///
/// Adds `width + 1` advice columns (`x[0..width]`, `acc`), `width + 2` fixed columns
/// (`w[0..width]`, `bias`, `tag`), one instance column, four selectors, three gates
/// ("dot product (first row)", "dot product (chained row)" whose accumulator is multiplied by
/// the `bias` column, "rescale") and one lookup
/// ("activation and range table") into a three-column table.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    /// `x[0..width]` then `acc`.
    pub advice: Vec<Column<Advice>>,
    /// Weight columns `w[0..width]`.
    pub weights: Vec<Column<Fixed>>,
    /// Bias of a first dot-product row.
    pub bias: Column<Fixed>,
    /// Lookup tag of a row (0 when the row looks nothing up).
    pub tag: Column<Fixed>,
    /// Public inputs, then public outputs.
    pub instance: Column<Instance>,
    /// Enables "dot product (first row)".
    pub dot_first: Selector,
    /// Enables "dot product (chained row)".
    pub dot_next: Selector,
    /// Enables "rescale".
    pub rescale: Selector,
    /// Enables the lookup.
    pub lookup: Selector,
    /// Table `(tag, in, out)`.
    pub table: [TableColumn; 3],
    /// The Poseidon gates, when configured.
    pub poseidon: Option<PoseidonConfig>,
    /// Selectors of the parameter-dot gates (first row, chained rows), with private weights.
    pub param_dot: Option<(Selector, Selector)>,
    /// Selectors of the product gates (first row, chained rows), when two computed tensors
    /// are multiplied.
    pub product: Option<(Selector, Selector)>,
    /// The second phase of randomized checks, when a linear layer has one.
    pub freivalds: Option<FreivaldsConfig>,
    /// Enables "rescale (one row)" and the "remainder range table" lookup, with one-row
    /// rescales.
    pub rescale_one: Option<Selector>,
}

/// The second-phase columns, challenges and gates of randomized (Freivalds) checks (row
/// shapes in [`crate::layout`]'s `freivalds` module).
#[derive(Clone, Copy, Debug)]
pub struct FreivaldsConfig {
    /// `h`, `e1`, `e2`: second-phase advice.
    pub columns: [Column<Advice>; 3],
    /// `r` (over a product's columns) and `s` (over its rows), drawn after the first phase.
    pub challenges: [Challenge; 2],
    /// Enables "freivalds horner over cells".
    pub cells: Selector,
    /// Enables "freivalds horner over weights".
    pub weights: Selector,
    /// Enables "freivalds horner over results".
    pub results: Selector,
    /// Enables "freivalds products".
    pub products: Selector,
    /// Enables "freivalds check".
    pub check: Selector,
    /// Enables "freivalds horner over accumulators" (circuits with one-row rescales only).
    pub accs: Option<Selector>,
}

impl FreivaldsConfig {
    /// Adds the second-phase columns and the five gates over `x` (first-phase advice), `w`
    /// (fixed weights) and `f` (the fixed chain flag), and with `acc` (circuits with one-row
    /// rescales: the accumulator column) a sixth, over the accumulators of rescale rows. Every
    /// gate has degree at most 3.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        x: &[Column<Advice>],
        w: &[Column<Fixed>],
        f: Column<Fixed>,
        acc: Option<Column<Advice>>,
    ) -> Self {
        let columns = [0; 3].map(|_| meta.advice_column_in(SecondPhase));
        for c in columns {
            meta.enable_equality(c);
        }
        let challenges = [0; 2].map(|_| meta.challenge_usable_after(FirstPhase));
        let config = Self {
            columns,
            challenges,
            cells: meta.selector(),
            weights: meta.selector(),
            results: meta.selector(),
            products: meta.selector(),
            check: meta.selector(),
            accs: acc.map(|_| meta.selector()),
        };
        let [h, e1, e2] = columns;
        let width = x.len();
        // c^k as an expression.
        let power = |c: &Expression<Fr>, k: usize| -> Expression<Fr> {
            (0..k).fold(Expression::Constant(Fr::one()), |acc, _| acc * c.clone())
        };
        type Cells<'a> = halo2_proofs::plonk::VirtualCells<'a, Fr>;
        let step = |m: &mut Cells<'_>, c: &Expression<Fr>, k: usize| -> Expression<Fr> {
            let flag = m.query_fixed(f, Rotation::cur());
            let prev = m.query_advice(h, Rotation::prev());
            flag * prev * power(c, k)
        };
        meta.create_gate("freivalds horner over cells", |m| {
            let q = m.query_selector(config.cells);
            let r = m.query_challenge(challenges[0]);
            let mut acc = step(m, &r, width);
            for (i, col) in x.iter().enumerate() {
                acc = acc + m.query_advice(*col, Rotation::cur()) * power(&r, width - 1 - i);
            }
            vec![q * (m.query_advice(h, Rotation::cur()) - acc)]
        });
        meta.create_gate("freivalds horner over weights", |m| {
            let q = m.query_selector(config.weights);
            let s = m.query_challenge(challenges[1]);
            let mut acc = step(m, &s, width);
            for (i, col) in w.iter().enumerate() {
                acc = acc + m.query_fixed(*col, Rotation::cur()) * power(&s, width - 1 - i);
            }
            vec![q * (m.query_advice(h, Rotation::cur()) - acc)]
        });
        meta.create_gate("freivalds horner over results", |m| {
            let q = m.query_selector(config.results);
            let s = m.query_challenge(challenges[1]);
            let acc = step(m, &s, 1) + m.query_advice(e1, Rotation::cur());
            vec![q * (m.query_advice(h, Rotation::cur()) - acc)]
        });
        meta.create_gate("freivalds products", |m| {
            let q = m.query_selector(config.products);
            let one = Expression::Constant(Fr::one());
            let acc = step(m, &one, 0)
                + m.query_advice(e1, Rotation::cur()) * m.query_advice(e2, Rotation::cur());
            vec![q * (m.query_advice(h, Rotation::cur()) - acc)]
        });
        meta.create_gate("freivalds check", |m| {
            let q = m.query_selector(config.check);
            vec![q * (m.query_advice(e1, Rotation::cur()) - m.query_advice(e2, Rotation::cur()))]
        });
        if let (Some(selector), Some(acc)) = (config.accs, acc) {
            meta.create_gate("freivalds horner over accumulators", |m| {
                let q = m.query_selector(selector);
                let r = m.query_challenge(challenges[0]);
                let sum = step(m, &r, 1) + m.query_advice(acc, Rotation::cur());
                vec![q * (m.query_advice(h, Rotation::cur()) - sum)]
            });
        }
        config
    }
}

/// Selectors of the Poseidon gates. The state lives in `x0..x2`; constants in `w0..w2`.
#[derive(Clone, Copy, Debug)]
pub struct PoseidonConfig {
    /// Enables "poseidon init".
    pub init: Selector,
    /// Enables "poseidon absorb".
    pub absorb: Selector,
    /// Enables "poseidon full round".
    pub full: Selector,
    /// Enables "poseidon partial round".
    pub partial: Selector,
}

impl PoseidonConfig {
    /// Adds the four Poseidon gates over the state (the first three of `advice`, read at rows
    /// 0, 1 and 2), the squares of the S-box inputs (the columns beside the state, or the row
    /// below it for a full round with fewer than six columns:
    /// [`crate::poseidon::full_round_in_one_row`]) and `constants` (three fixed columns).
    /// Every gate has degree at most 4.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        advice: &[Column<Advice>],
        constants: [Column<Fixed>; 3],
    ) -> Self {
        let config = Self {
            init: meta.selector(),
            absorb: meta.selector(),
            full: meta.selector(),
            partial: meta.selector(),
        };
        let state = [advice[0], advice[1], advice[2]];
        // A partial round's one square, beside the state (it reads only `a0`).
        let beside = [advice[3]; 3];
        let full_beside = crate::poseidon::full_round_in_one_row(advice.len())
            .then(|| [advice[3], advice[4], advice[5]]);
        let mds = crate::poseidon::constants().mds;
        let at = |m: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>,
                  cols: [Column<Advice>; 3],
                  rot: i32| { cols.map(|c| m.query_advice(c, Rotation(rot))) };
        let consts = |m: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>| {
            constants.map(|c| m.query_fixed(c, Rotation::cur()))
        };
        meta.create_gate("poseidon init", |m| {
            let q = m.query_selector(config.init);
            let [s0, s1, s2] = at(m, state, 0);
            let [len, _, _] = consts(m);
            vec![q.clone() * (s0 - len), q.clone() * s1, q * s2]
        });
        meta.create_gate("poseidon absorb", |m| {
            let q = m.query_selector(config.absorb);
            let s = at(m, state, 0);
            let msg = at(m, state, 1);
            let next = at(m, state, 2);
            let [_, m1, m2] = consts(m);
            vec![
                q.clone() * (next[0].clone() - s[0].clone()),
                q.clone() * (next[1].clone() - s[1].clone() - m1 * msg[1].clone()),
                q * (next[2].clone() - s[2].clone() - m2 * msg[2].clone()),
            ]
        });
        // One round: `a` the squares of the S-boxed inputs, `next` the state after.
        let round = |m: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>,
                     q: Expression<Fr>,
                     full: bool,
                     (a, next): ([Expression<Fr>; 3], [Expression<Fr>; 3])| {
            let s = at(m, state, 0);
            let c = consts(m);
            let x: Vec<Expression<Fr>> = (0..3).map(|j| s[j].clone() + c[j].clone()).collect();
            let boxed: Vec<bool> = (0..3).map(|j| full || j == 0).collect();
            let mut constraints: Vec<Expression<Fr>> = (0..3)
                .filter(|j| boxed[*j])
                .map(|j| q.clone() * (a[j].clone() - x[j].clone() * x[j].clone()))
                .collect();
            let after: Vec<Expression<Fr>> = (0..3)
                .map(|j| {
                    if boxed[j] {
                        x[j].clone() * a[j].clone() * a[j].clone()
                    } else {
                        x[j].clone()
                    }
                })
                .collect();
            for (i, row) in mds.iter().enumerate() {
                let mixed = (0..3)
                    .map(|j| Expression::Constant(row[j]) * after[j].clone())
                    .reduce(|p, q| p + q)
                    .expect("three terms");
                constraints.push(q.clone() * (next[i].clone() - mixed));
            }
            constraints
        };
        meta.create_gate("poseidon full round", |m| {
            let q = m.query_selector(config.full);
            let cells = match full_beside {
                Some(cols) => (at(m, cols, 0), at(m, state, 1)),
                None => (at(m, state, 1), at(m, state, 2)),
            };
            round(m, q, true, cells)
        });
        meta.create_gate("poseidon partial round", |m| {
            let q = m.query_selector(config.partial);
            let cells = (at(m, beside, 0), at(m, state, 1));
            round(m, q, false, cells)
        });
        config
    }
}

impl ModelConfig {
    /// Configures the circuit with `width` multiply-accumulates per row (and the Poseidon
    /// gates if `poseidon`).
    pub fn configure(meta: &mut ConstraintSystem<Fr>, params: CircuitParams) -> Self {
        let CircuitParams {
            width,
            poseidon,
            private_weights,
            products,
            freivalds,
            one_row_rescale,
        } = params;
        let columns = if private_weights {
            2 * width + 2
        } else {
            width + 1
        };
        let advice: Vec<_> = (0..columns).map(|_| meta.advice_column()).collect();
        let weights: Vec<_> = (0..width).map(|_| meta.fixed_column()).collect();
        let bias = meta.fixed_column();
        let tag = meta.fixed_column();
        let instance = meta.instance_column();
        for col in &advice {
            meta.enable_equality(*col);
        }
        meta.enable_equality(instance);
        let (dot_first, dot_next, rescale) = (meta.selector(), meta.selector(), meta.selector());
        let lookup = meta.complex_selector();
        let table = [
            meta.lookup_table_column(),
            meta.lookup_table_column(),
            meta.lookup_table_column(),
        ];
        let acc = advice[width];

        let weighted = |m: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>| -> Expression<Fr> {
            (0..width)
                .map(|i| {
                    m.query_advice(advice[i], Rotation::cur())
                        * m.query_fixed(weights[i], Rotation::cur())
                })
                .reduce(|a, b| a + b)
                .expect("width >= 1")
        };
        meta.create_gate("dot product (first row)", |m| {
            let s = m.query_selector(dot_first);
            let sum = weighted(m);
            let out = m.query_advice(acc, Rotation::cur());
            let b = m.query_fixed(bias, Rotation::cur());
            vec![s * (out - b - sum)]
        });
        meta.create_gate("dot product (chained row)", |m| {
            let s = m.query_selector(dot_next);
            let sum = weighted(m);
            let out = m.query_advice(acc, Rotation::cur());
            let prev = m.query_advice(acc, Rotation::prev());
            let multiplier = m.query_fixed(bias, Rotation::cur());
            vec![s * (out - prev * multiplier - sum)]
        });
        meta.create_gate("rescale", |m| {
            let s = m.query_selector(rescale);
            let a = m.query_advice(acc, Rotation::cur());
            let q = m.query_advice(advice[0], Rotation::cur());
            let r = m.query_advice(advice[0], Rotation::next());
            let divisor = m.query_fixed(weights[0], Rotation::cur());
            let half = m.query_fixed(weights[1], Rotation::cur());
            vec![s * (a + half - q * divisor - r)]
        });
        meta.lookup("activation and range table", |m| {
            let s = m.query_selector(lookup);
            let t = m.query_fixed(tag, Rotation::cur());
            let x = m.query_advice(advice[0], Rotation::cur());
            let y = m.query_advice(advice[1], Rotation::cur());
            vec![(t, table[0]), (s.clone() * x, table[1]), (s * y, table[2])]
        });
        // | q | y | r | .. | a |: a + half = q·divisor + r, (w2, r, 0) in the table.
        let rescale_one = one_row_rescale.then(|| {
            let s = meta.complex_selector();
            meta.create_gate("rescale (one row)", |m| {
                let on = m.query_selector(s);
                let a = m.query_advice(acc, Rotation::cur());
                let q = m.query_advice(advice[0], Rotation::cur());
                let r = m.query_advice(advice[2], Rotation::cur());
                let divisor = m.query_fixed(weights[0], Rotation::cur());
                let half = m.query_fixed(weights[1], Rotation::cur());
                vec![on * (a + half - q * divisor - r)]
            });
            meta.lookup("remainder range table", |m| {
                let on = m.query_selector(s);
                let t = m.query_fixed(weights[2], Rotation::cur());
                let r = m.query_advice(advice[2], Rotation::cur());
                vec![
                    (on.clone() * t, table[0]),
                    (on * r, table[1]),
                    (Expression::Constant(Fr::zero()), table[2]),
                ]
            });
            s
        });
        let param_dot = private_weights.then(|| {
            let (first, next) = (meta.selector(), meta.selector());
            let products = |m: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>| {
                (0..width)
                    .map(|i| {
                        m.query_advice(advice[i], Rotation::cur())
                            * m.query_advice(advice[width + 1 + i], Rotation::cur())
                    })
                    .reduce(|a, b| a + b)
                    .expect("width >= 1")
            };
            meta.create_gate("parameter dot (first row)", |m| {
                let s = m.query_selector(first);
                let sum = products(m);
                let out = m.query_advice(acc, Rotation::cur());
                let b = m.query_advice(advice[2 * width + 1], Rotation::cur());
                vec![s * (out - b - sum)]
            });
            meta.create_gate("parameter dot (chained row)", |m| {
                let s = m.query_selector(next);
                let sum = products(m);
                let out = m.query_advice(acc, Rotation::cur());
                let prev = m.query_advice(acc, Rotation::prev());
                vec![s * (out - prev - sum)]
            });
            (first, next)
        });
        // | a0 .. a(h-1) | b0 .. b(h-1) | acc = [acc(prev) +] Σ ai·bi |, h = ⌊width/2⌋
        let product = products.then(|| {
            let (first, next) = (meta.selector(), meta.selector());
            let h = width / 2;
            let pairs = |m: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>| {
                (0..h)
                    .map(|i| {
                        m.query_advice(advice[i], Rotation::cur())
                            * m.query_advice(advice[h + i], Rotation::cur())
                    })
                    .reduce(|a, b| a + b)
                    .expect("width >= 2")
            };
            meta.create_gate("product (first row)", |m| {
                let s = m.query_selector(first);
                let sum = pairs(m);
                let out = m.query_advice(acc, Rotation::cur());
                vec![s * (out - sum)]
            });
            meta.create_gate("product (chained row)", |m| {
                let s = m.query_selector(next);
                let sum = pairs(m);
                let out = m.query_advice(acc, Rotation::cur());
                let prev = m.query_advice(acc, Rotation::prev());
                vec![s * (out - prev - sum)]
            });
            (first, next)
        });
        let poseidon = poseidon.then(|| {
            PoseidonConfig::configure(meta, &advice, [weights[0], weights[1], weights[2]])
        });
        let freivalds = freivalds.then(|| {
            let acc = one_row_rescale.then_some(acc);
            FreivaldsConfig::configure(meta, &advice[..width], &weights, bias, acc)
        });
        Self {
            advice,
            weights,
            bias,
            tag,
            instance,
            dot_first,
            dot_next,
            rescale,
            lookup,
            table,
            poseidon,
            param_dot,
            product,
            freivalds,
            rescale_one,
        }
    }
}

/// The circuit proving `outputs = model(inputs)` for one compiled model.
#[derive(Clone, Debug)]
pub struct ModelCircuit {
    /// The planned cells.
    pub plan: Arc<Plan>,
    /// The lookup tables.
    pub tables: Arc<Tables>,
}

impl ModelCircuit {
    /// The circuit of `model` for `inputs` (quantized), or a witness-free one for keygen.
    /// Hashed inputs and outputs get salt zero.
    pub fn new(model: &CompiledModel, inputs: Option<&[Vec<i64>]>) -> crate::error::Result<Self> {
        Self::with_salts(model, inputs, &[])
    }

    /// [`ModelCircuit::new`] with the salts of the hashed inputs then outputs, in order.
    pub fn with_salts(
        model: &CompiledModel,
        inputs: Option<&[Vec<i64>]>,
        salts: &[Fr],
    ) -> crate::error::Result<Self> {
        let plan = Plan::build_salted(model, model.layout.width, inputs, salts)?;
        Ok(Self {
            plan: Arc::new(plan),
            tables: Arc::new(model.tables.clone()),
        })
    }

    /// The circuit of `model` that assigns `plan` as it is (tests tamper with plans this way;
    /// a plan from a deliberate [`crate::layout::Fault`] is a lying prover's circuit).
    pub fn with_plan(model: &CompiledModel, plan: Plan) -> Self {
        Self {
            plan: Arc::new(plan),
            tables: Arc::new(model.tables.clone()),
        }
    }

    /// The public instance column as field elements.
    pub fn instance_column(&self) -> Vec<Fr> {
        self.plan.instances.clone()
    }
}

impl Circuit<Fr> for ModelCircuit {
    type Config = ModelConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = CircuitParams;

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn params(&self) -> CircuitParams {
        CircuitParams {
            width: self.plan.width,
            poseidon: self.plan.poseidon,
            private_weights: self.plan.private_weights,
            products: self.plan.products,
            freivalds: self.plan.freivalds,
            one_row_rescale: self.plan.one_row_rescale,
        }
    }

    fn configure_with_params(
        meta: &mut ConstraintSystem<Fr>,
        params: CircuitParams,
    ) -> ModelConfig {
        ModelConfig::configure(meta, params)
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> ModelConfig {
        let params = CircuitParams::default();
        ModelConfig::configure(meta, params)
    }

    fn synthesize(
        &self,
        config: ModelConfig,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        let table = table_rows(&self.tables);
        layouter.assign_table(
            || "activation and range table",
            |mut t| {
                for (i, (tag, x, y)) in table.iter().enumerate() {
                    t.assign_cell(
                        || "tag",
                        config.table[0],
                        i,
                        || Value::known(Fr::from(*tag)),
                    )?;
                    t.assign_cell(|| "in", config.table[1], i, || Value::known(to_field(*x)))?;
                    t.assign_cell(|| "out", config.table[2], i, || Value::known(to_field(*y)))?;
                }
                Ok(())
            },
        )?;

        let plan = &self.plan;
        let outputs: Vec<(Cell, usize)> = layouter.assign_region(
            || "model",
            |mut region| {
                let mut cells: Vec<Vec<Cell>> = Vec::with_capacity(plan.width + 1);
                // Without a witness (key generation) the plan stores no advice values.
                for (col, values) in plan.advice.iter().enumerate() {
                    let column = config.advice[col];
                    let assigned = (0..plan.rows)
                        .map(|row| {
                            let value = if plan.witness {
                                Value::known(values[row])
                            } else {
                                Value::unknown()
                            };
                            region.assign_advice(column, row, value).cell()
                        })
                        .collect();
                    cells.push(assigned);
                }
                for row in 0..plan.rows {
                    for (col, w) in config.weights.iter().zip(&plan.weights) {
                        if w[row] != 0 {
                            region.assign_fixed(*col, row, to_field(i128::from(w[row])));
                        }
                    }
                    if plan.bias[row] != 0 {
                        region.assign_fixed(config.bias, row, to_field(plan.bias[row]));
                    }
                    // Assigned on every row (zeros included) so the region spans from row 0 and
                    // MockProver's region offsets are absolute rows.
                    region.assign_fixed(config.tag, row, Fr::from(plan.tag[row]));
                    for (on, sel) in [
                        (plan.dot_first[row], config.dot_first),
                        (plan.dot_next[row], config.dot_next),
                        (plan.rescale[row], config.rescale),
                        (plan.lookup[row], config.lookup),
                    ] {
                        if on {
                            sel.enable(&mut region, row)?;
                        }
                    }
                    if let Some(sel) = config.rescale_one {
                        if plan.rescale_one[row] {
                            sel.enable(&mut region, row)?;
                        }
                    }
                    for (gates, first_on, next_on) in [
                        (config.param_dot, &plan.pdot_first, &plan.pdot_next),
                        (config.product, &plan.prod_first, &plan.prod_next),
                    ] {
                        if let Some((first, next)) = gates {
                            if first_on[row] {
                                first.enable(&mut region, row)?;
                            }
                            if next_on[row] {
                                next.enable(&mut region, row)?;
                            }
                        }
                    }
                }
                if let Some(p) = &config.poseidon {
                    for pr in &plan.poseidon_rows {
                        let selector = match pr.gate {
                            PoseidonGate::Init => p.init,
                            PoseidonGate::Absorb => p.absorb,
                            PoseidonGate::Full => p.full,
                            PoseidonGate::Partial => p.partial,
                        };
                        selector.enable(&mut region, pr.row)?;
                        for (col, c) in config.weights.iter().zip(pr.constants) {
                            if c != Fr::zero() {
                                region.assign_fixed(*col, pr.row, c);
                            }
                        }
                    }
                }
                if let Some(fc) = &config.freivalds {
                    // The first phase is complete: commit it and draw r and s.
                    region.next_phase();
                    let [r, s] = fc.challenges.map(|c| region.get_challenge(c));
                    let values = r.zip(s).map(|(r, s)| {
                        if plan.witness {
                            Some(plan.phase_two(r, s))
                        } else {
                            None
                        }
                    });
                    for (k, column) in fc.columns.iter().enumerate() {
                        let assigned = (0..plan.rows)
                            .map(|row| {
                                let v = values.as_ref().and_then(|v| match v {
                                    Some(cols) => Value::known(cols[k][row]),
                                    None => Value::unknown(),
                                });
                                region.assign_advice(*column, row, v).cell()
                            })
                            .collect();
                        cells.push(assigned);
                    }
                    for row in 0..plan.rows {
                        let selector = match plan.fgate[row] {
                            FGate::None => continue,
                            FGate::Cells => fc.cells,
                            FGate::Weights => fc.weights,
                            FGate::Results => fc.results,
                            FGate::Products => fc.products,
                            FGate::Check => fc.check,
                            FGate::Accs => {
                                fc.accs.expect("accumulator chains need one-row rescales")
                            }
                        };
                        selector.enable(&mut region, row)?;
                    }
                }
                for (a, b) in &plan.copies {
                    region.constrain_equal(cells[a.col][a.row], cells[b.col][b.row]);
                }
                Ok(plan
                    .to_instance
                    .iter()
                    .map(|(c, i)| (cells[c.col][c.row], *i))
                    .collect())
            },
        )?;
        for (cell, row) in outputs {
            layouter.constrain_instance(cell, config.instance, row);
        }
        Ok(())
    }
}

impl CircuitExt<Fr> for ModelCircuit {
    fn num_instance(&self) -> Vec<usize> {
        vec![self.plan.instances.len()]
    }

    fn instances(&self) -> Vec<Vec<Fr>> {
        vec![self.instance_column()]
    }
}
