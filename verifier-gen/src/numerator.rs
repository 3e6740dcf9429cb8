//! The quotient's numerator N(x) of a verifying key as one constraint program
//! ([`crate::bytecode`]): every gate polynomial, then the permutation argument, then each
//! lookup, folded with y in halo2's order (`docs/verifier-gen/halo2-arguments.md` §1–3). The
//! verifier checks `N(x) = h(x)·(xⁿ − 1)` inside the multi-opening, with `h(x)` the opening of
//! the quotient pieces at x.

use crate::bytecode::{Builder, Leaf, Program, Value};
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::plonk::{Any, VerifyingKey};

/// Where each evaluation sits in a proof (halo2's read order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvalLayout {
    /// Advice queries.
    pub advice: usize,
    /// Fixed queries.
    pub fixed: usize,
    /// Columns in the permutation (one σ each).
    pub sigmas: usize,
    /// The permutation's z polynomials (chunks).
    pub sets: usize,
    /// Lookups.
    pub lookups: usize,
}

impl EvalLayout {
    /// Advice query `q`.
    pub fn advice(&self, q: usize) -> u32 {
        q as u32
    }

    /// Fixed query `q`.
    pub fn fixed(&self, q: usize) -> u32 {
        (self.advice + q) as u32
    }

    /// The vanishing argument's random polynomial.
    pub fn random(&self) -> u32 {
        (self.advice + self.fixed) as u32
    }

    /// σ of permutation column `j`.
    pub fn sigma(&self, j: usize) -> u32 {
        self.random() + 1 + j as u32
    }

    /// Permutation set `s`: z at x, at ωx, and (all but the last set) at the last row.
    pub fn set(&self, s: usize) -> [u32; 3] {
        let base = self.sigma(self.sigmas) + 3 * s as u32;
        [base, base + 1, base + 2]
    }

    /// Lookup `l`: Z at x and ωx, the permuted input at x and ω⁻¹x, the permuted table at x.
    pub fn lookup(&self, l: usize) -> [u32; 5] {
        let base = self.sigma(self.sigmas) + (3 * self.sets).saturating_sub(1) as u32;
        let b = base + 5 * l as u32;
        [b, b + 1, b + 2, b + 3, b + 4]
    }

    /// Evaluations in a proof.
    pub fn total(&self) -> usize {
        self.lookup(self.lookups)[0] as usize
    }
}

/// The permutation's chunk size for a constraint system of `degree`.
pub fn chunk(degree: usize) -> usize {
    degree.saturating_sub(2).max(1)
}

/// The evaluation layout of `vk`'s proofs.
pub fn layout(vk: &VerifyingKey<G1Affine>) -> EvalLayout {
    let cs = vk.cs();
    let sigmas = cs.permutation().get_columns().len();
    EvalLayout {
        advice: cs.advice_queries().len(),
        fixed: cs.fixed_queries().len(),
        sigmas,
        sets: sigmas.div_ceil(chunk(cs.degree())),
        lookups: cs.lookups().len(),
    }
}

/// The leaves of a key's column queries: where each (column, rotation) of each kind sits.
pub struct QueryLeaves {
    layout: EvalLayout,
    /// Advice, fixed and instance queries, as (column, rotation), in halo2's order.
    queries: [Vec<(usize, i32)>; 3],
}

impl QueryLeaves {
    /// The query lists of `vk`.
    pub fn new(vk: &VerifyingKey<G1Affine>) -> Self {
        let cs = vk.cs();
        Self {
            layout: layout(vk),
            queries: [
                cs.advice_queries()
                    .iter()
                    .map(|(c, r)| (c.index(), r.0))
                    .collect(),
                cs.fixed_queries()
                    .iter()
                    .map(|(c, r)| (c.index(), r.0))
                    .collect(),
                cs.instance_queries()
                    .iter()
                    .map(|(c, r)| (c.index(), r.0))
                    .collect(),
            ],
        }
    }

    /// The leaf of `column` at `rotation` (kind 0 advice, 1 fixed, 2 instance), if queried.
    pub fn leaf(&self, kind: u8, column: usize, rotation: i32) -> Option<Leaf> {
        let kind = usize::from(kind.min(2));
        let q = self.queries[kind]
            .iter()
            .position(|q| *q == (column, rotation))?;
        Some(match kind {
            0 => Leaf::Eval(self.layout.advice(q)),
            1 => Leaf::Eval(self.layout.fixed(q)),
            _ => Leaf::Instance(q as u32),
        })
    }
}

/// N(x) of `vk` as a program with one root. `None` for a key with user challenges (more than
/// one advice phase) or a query no list holds.
pub fn numerator(vk: &VerifyingKey<G1Affine>) -> Option<Program> {
    let cs = vk.cs();
    let layout = layout(vk);
    let queries = QueryLeaves::new(vk);
    let leaf = |kind, column, rotation| queries.leaf(kind, column, rotation);
    let mut b = Builder::default();
    let mut constraints = Vec::new();
    for gate in cs.gates() {
        for p in gate.polynomials() {
            constraints.push(b.expression(p, &leaf)?);
        }
    }
    let [theta, beta, gamma, y, x, l0, l_last, active] = [
        Value::Theta,
        Value::Beta,
        Value::Gamma,
        Value::Y,
        Value::X,
        Value::L0,
        Value::LLast,
        Value::LActive,
    ]
    .map(|v| b.value(v));
    let one = b.constant(Fr::ONE);
    let eval = |b: &mut Builder, i: u32| b.leaf(Leaf::Eval(i));

    // The permutation: z₀ starts at one, the last z ends at zero or one, each chunk's z
    // starts where the previous one ended, and each chunk's products step z.
    let columns = cs.permutation().get_columns();
    if layout.sets > 0 {
        let first = eval(&mut b, layout.set(0)[0]);
        let d = b.sub(one, first);
        constraints.push(b.mul(l0, d));
        let last = eval(&mut b, layout.set(layout.sets - 1)[0]);
        let sq = b.mul(last, last);
        let d = b.sub(sq, last);
        constraints.push(b.mul(l_last, d));
        for s in 1..layout.sets {
            let (z, prev) = (
                eval(&mut b, layout.set(s)[0]),
                eval(&mut b, layout.set(s - 1)[2]),
            );
            let d = b.sub(z, prev);
            constraints.push(b.mul(l0, d));
        }
        let beta_x = b.mul(beta, x);
        let size = chunk(cs.degree());
        for (s, chunk) in columns.chunks(size).enumerate() {
            let [z, z_next, _] = layout.set(s).map(|i| eval(&mut b, i));
            let (mut left, mut right) = (z_next, z);
            for (t, column) in chunk.iter().enumerate() {
                let g = s * size + t;
                let kind = match column.column_type() {
                    Any::Advice(_) => 0,
                    Any::Fixed => 1,
                    Any::Instance => 2,
                };
                let v = b.leaf(leaf(kind, column.index(), 0)?);
                let v_gamma = b.add(v, gamma);
                let sigma = eval(&mut b, layout.sigma(g));
                let beta_sigma = b.mul(beta, sigma);
                let term = b.add(v_gamma, beta_sigma);
                left = b.mul(left, term);
                let delta = b.constant(Fr::DELTA.pow_vartime([g as u64]));
                let identity = b.mul(beta_x, delta);
                let term = b.add(v_gamma, identity);
                right = b.mul(right, term);
            }
            let d = b.sub(left, right);
            constraints.push(b.mul(active, d));
        }
    }

    // Each lookup: Z starts at one and ends at zero or one, steps by the ratio of the
    // compressed and the permuted rows, and the permuted input starts like the permuted table
    // and repeats its previous row or equals the table.
    for (l, lookup) in cs.lookups().iter().enumerate() {
        let inputs = lookup
            .input_expressions()
            .iter()
            .map(|e| b.expression(e, &leaf))
            .collect::<Option<Vec<_>>>()?;
        let tables = lookup
            .table_expressions()
            .iter()
            .map(|e| b.expression(e, &leaf))
            .collect::<Option<Vec<_>>>()?;
        let (input, table) = (b.horner(&inputs, theta), b.horner(&tables, theta));
        let [z, z_next, a, a_prev, s] = layout.lookup(l).map(|i| eval(&mut b, i));
        let d = b.sub(one, z);
        constraints.push(b.mul(l0, d));
        let sq = b.mul(z, z);
        let d = b.sub(sq, z);
        constraints.push(b.mul(l_last, d));
        let (a_beta, s_gamma) = (b.add(a, beta), b.add(s, gamma));
        let left = b.mul(a_beta, s_gamma);
        let left = b.mul(z_next, left);
        let (in_beta, tab_gamma) = (b.add(input, beta), b.add(table, gamma));
        let right = b.mul(in_beta, tab_gamma);
        let right = b.mul(z, right);
        let d = b.sub(left, right);
        constraints.push(b.mul(active, d));
        let a_s = b.sub(a, s);
        constraints.push(b.mul(l0, a_s));
        let a_a = b.sub(a, a_prev);
        let p = b.mul(a_s, a_a);
        constraints.push(b.mul(active, p));
    }
    if constraints.is_empty() {
        constraints.push(b.constant(Fr::ZERO));
    }
    let n = b.horner(&constraints, y);
    Some(Program::schedule(
        &b,
        &[n],
        layout.total() as u32,
        cs.instance_queries().len() as u32,
        cs.num_challenges() as u32,
    ))
}
