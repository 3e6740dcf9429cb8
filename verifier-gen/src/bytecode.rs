//! Constraint bytecode: how the reusable verifier (issue 9) evaluates a circuit's constraints
//! without unrolling them into code.
//!
//! [`crate::numerator`] builds, for one verifying key, the quotient's numerator: every gate
//! polynomial (selectors as keygen compressed them into fixed columns), the permutation and
//! lookup arguments, folded with y. This module turns such an expression DAG into a
//! straight-line program over one slot space:
//!
//! ```text
//! slots: | proof evaluations | instance evaluations | derived values | challenges | constants | temporaries |
//! ops:   ADD a b | SUB a b | MUL a b | MAC a b c   (a·b + c)      → the next temporary
//! roots: the slot holding each expression's value
//! ```
//!
//! The leaf region has a fixed layout (the proof's evaluations in read order, then the
//! instance queries' evaluations, then [`Value`]s the verifier derives, then the circuit's own
//! challenges (multi-phase circuits; none in most), then the constant pool), so a verifier
//! fills it without a map. Identical subexpressions are computed once
//! (hash-consing), negations fold into subtractions and products feeding a sum into
//! multiply-adds. [`Program::eval`] is the reference interpreter the Solidity one must agree
//! with.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::plonk::Expression;
use std::collections::HashMap;

/// A value the verifier derives before running the program, in slot order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// θ, compressing lookup expressions.
    Theta,
    /// β of the permutation and lookups.
    Beta,
    /// γ of the permutation and lookups.
    Gamma,
    /// y, folding the constraints.
    Y,
    /// x, the evaluation point.
    X,
    /// The first row's Lagrange polynomial at x.
    L0,
    /// The last usable row's Lagrange polynomial at x.
    LLast,
    /// 1 − l_last − l_blind: one on the usable rows before the last.
    LActive,
    /// The quotient's evaluation h(x) = N(x) / (xⁿ − 1) (written after the program ran).
    H,
}

/// Number of [`Value`]s.
pub const VALUES: usize = 9;

/// A value the program reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Leaf {
    /// Evaluation `i` of the proof, in read order.
    Eval(u32),
    /// The computed evaluation of instance query `i`.
    Instance(u32),
    /// A derived value.
    Value(Value),
    /// The circuit's challenge `i` (squeezed after the advice of its phase).
    Challenge(u32),
    /// A constant, as its canonical little-endian bytes.
    Constant([u8; 32]),
}

/// One instruction; operands are slot indices, the result goes to the next temporary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `a + b`.
    Add(u32, u32),
    /// `a − b`.
    Sub(u32, u32),
    /// `a · b`.
    Mul(u32, u32),
    /// `a · b + c`.
    Mac(u32, u32, u32),
}

/// A compiled program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Program {
    /// Proof evaluations (slots `0..evals`).
    pub evals: u32,
    /// Instance query evaluations (the next slots).
    pub instances: u32,
    /// The circuit's challenges (after the [`VALUES`] derived values). Not in the program's
    /// bytes: the artifact carries the count.
    pub challenges: u32,
    /// The constant pool, after the challenges; starts with 0, 1 and −1.
    pub constants: Vec<Fr>,
    /// Slot `leaves() + i` is the result of `ops[i]`.
    pub ops: Vec<Op>,
    /// The slot of each root expression.
    pub roots: Vec<u32>,
}

/// Why bytes are not a program.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProgramError {
    /// The bytes end early or run on.
    #[error("constraint program: {0} bytes, not what its header counts")]
    Length(usize),
    /// A constant is not a canonical scalar.
    #[error("constraint program: constant {0} is not canonical")]
    Constant(usize),
    /// The pool does not start with 0, 1, −1.
    #[error("constraint program: the constant pool must start with 0, 1 and -1")]
    Pool,
    /// An op reads a slot not written before it.
    #[error("constraint program: op {0} reads a slot not yet written")]
    Operand(usize),
    /// A root names a slot the program never writes.
    #[error("constraint program: root {0} names no slot")]
    Root(usize),
}

/// A node of the expression DAG.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Node {
    Leaf(Leaf),
    Neg(u32),
    Add(u32, u32),
    Mul(u32, u32),
}

/// Builds a hash-consed expression DAG; node ids are what its methods return.
#[derive(Default)]
pub struct Builder {
    nodes: Vec<Node>,
    index: HashMap<Node, u32>,
}

impl Builder {
    fn intern(&mut self, node: Node) -> u32 {
        // Commutative nodes in one canonical order, so a·b and b·a are shared.
        let node = match node {
            Node::Add(a, b) if a > b => Node::Add(b, a),
            Node::Mul(a, b) if a > b => Node::Mul(b, a),
            n => n,
        };
        if let Some(i) = self.index.get(&node) {
            return *i;
        }
        let i = self.nodes.len() as u32;
        self.nodes.push(node);
        self.index.insert(node, i);
        i
    }

    /// A leaf.
    pub fn leaf(&mut self, leaf: Leaf) -> u32 {
        self.intern(Node::Leaf(leaf))
    }

    /// A constant.
    pub fn constant(&mut self, f: Fr) -> u32 {
        self.leaf(Leaf::Constant(f.to_repr()))
    }

    /// A derived value.
    pub fn value(&mut self, v: Value) -> u32 {
        self.leaf(Leaf::Value(v))
    }

    /// `a + b`.
    pub fn add(&mut self, a: u32, b: u32) -> u32 {
        self.intern(Node::Add(a, b))
    }

    /// `a − b`.
    pub fn sub(&mut self, a: u32, b: u32) -> u32 {
        let nb = self.intern(Node::Neg(b));
        self.add(a, nb)
    }

    /// `a · b`.
    pub fn mul(&mut self, a: u32, b: u32) -> u32 {
        self.intern(Node::Mul(a, b))
    }

    /// Horner's fold `((e₀·c + e₁)·c + …)`: the first element gets the highest power.
    pub fn horner(&mut self, items: &[u32], c: u32) -> u32 {
        let mut items = items.iter();
        let first = *items.next().expect("at least one item");
        items.fold(first, |acc, e| {
            let scaled = self.mul(acc, c);
            self.add(scaled, *e)
        })
    }

    /// A halo2 expression, each column query resolved to a leaf by `leaf` (kind 0 advice,
    /// 1 fixed, 2 instance; column; rotation). `None` when a query or challenge has no leaf.
    pub fn expression(
        &mut self,
        e: &Expression<Fr>,
        leaf: &impl Fn(u8, usize, i32) -> Option<Leaf>,
    ) -> Option<u32> {
        Some(match e {
            Expression::Constant(c) => self.constant(*c),
            // Keygen compresses selectors into fixed columns.
            Expression::Selector(_) => return None,
            Expression::Challenge(c) => self.leaf(Leaf::Challenge(c.index() as u32)),
            Expression::Advice(q) => self.leaf(leaf(0, q.column_index(), q.rotation().0)?),
            Expression::Fixed(q) => self.leaf(leaf(1, q.column_index(), q.rotation().0)?),
            Expression::Instance(q) => self.leaf(leaf(2, q.column_index(), q.rotation().0)?),
            Expression::Negated(a) => {
                let a = self.expression(a, leaf)?;
                self.intern(Node::Neg(a))
            }
            Expression::Sum(a, b) => {
                let (a, b) = (self.expression(a, leaf)?, self.expression(b, leaf)?);
                self.add(a, b)
            }
            Expression::Product(a, b) => {
                let (a, b) = (self.expression(a, leaf)?, self.expression(b, leaf)?);
                self.mul(a, b)
            }
            Expression::Scaled(a, k) => {
                let (a, k) = (self.expression(a, leaf)?, self.constant(*k));
                self.mul(a, k)
            }
        })
    }
}

/// Schedules a DAG into slots: ops in dependency order after the fixed leaf region.
struct Scheduler<'d> {
    nodes: &'d [Node],
    /// Uses of each node as an operand (a product used once by a sum becomes a MAC).
    uses: Vec<u32>,
    slot: HashMap<u32, u32>,
    /// Slots before the temporaries.
    leaves: u32,
    program: Program,
}

impl Scheduler<'_> {
    /// The slot of node `n`, computing it (and what it needs) first.
    fn slot(&mut self, n: u32) -> u32 {
        if let Some(s) = self.slot.get(&n) {
            return *s;
        }
        let s = match self.nodes[n as usize] {
            Node::Leaf(_) => unreachable!("leaves are placed first"),
            // −a = 0 − a (the pool's first constant is zero).
            Node::Neg(a) => {
                let zero = self.leaves - self.program.constants.len() as u32;
                let a = self.slot(a);
                self.push(Op::Sub(zero, a))
            }
            Node::Add(a, b) => self.add(a, b),
            Node::Mul(a, b) => {
                let (a, b) = (self.slot(a), self.slot(b));
                self.push(Op::Mul(a, b))
            }
        };
        self.slot.insert(n, s);
        s
    }

    /// `a + b`: a subtraction when one side is a negation, a multiply-add when one side is a
    /// product nothing else uses.
    fn add(&mut self, a: u32, b: u32) -> u32 {
        let node = |n: u32| self.nodes[n as usize];
        let single = |n: u32| self.uses[n as usize] == 1 && !self.slot.contains_key(&n);
        if let Node::Neg(nb) = node(b) {
            let (a, nb) = (self.slot(a), self.slot(nb));
            return self.push(Op::Sub(a, nb));
        }
        if let Node::Neg(na) = node(a) {
            let (b, na) = (self.slot(b), self.slot(na));
            return self.push(Op::Sub(b, na));
        }
        for (p, c) in [(a, b), (b, a)] {
            if let (Node::Mul(x, y), true) = (node(p), single(p)) {
                let (x, y, c) = (self.slot(x), self.slot(y), self.slot(c));
                return self.push(Op::Mac(x, y, c));
            }
        }
        let (a, b) = (self.slot(a), self.slot(b));
        self.push(Op::Add(a, b))
    }

    fn push(&mut self, op: Op) -> u32 {
        self.program.ops.push(op);
        self.leaves + self.program.ops.len() as u32 - 1
    }
}

impl Program {
    /// Schedules the expressions `roots` of `dag` over a leaf region of `evals` proof
    /// evaluations, `instances` instance evaluations and `challenges` challenges.
    pub fn schedule(
        dag: &Builder,
        roots: &[u32],
        evals: u32,
        instances: u32,
        challenges: u32,
    ) -> Self {
        let mut uses = vec![0u32; dag.nodes.len()];
        for node in &dag.nodes {
            match *node {
                Node::Leaf(_) => {}
                Node::Neg(a) => uses[a as usize] += 1,
                Node::Add(a, b) | Node::Mul(a, b) => {
                    uses[a as usize] += 1;
                    uses[b as usize] += 1;
                }
            }
        }
        // 0, 1 and −1 open the pool: negations use 0, and the EVM encoding writes every op as
        // a multiply-add (`a + b = a·1 + b`, `a − b = b·(−1) + a`, `a·b = a·b + 0`).
        let mut constants = vec![Fr::ZERO, Fr::ONE, -Fr::ONE];
        for n in &dag.nodes {
            if let Node::Leaf(Leaf::Constant(c)) = n {
                let c = Self::constant(c).expect("built from field elements");
                if !constants.contains(&c) {
                    constants.push(c);
                }
            }
        }
        let pool = evals + instances + VALUES as u32 + challenges;
        let mut slot = HashMap::new();
        for (i, n) in dag.nodes.iter().enumerate() {
            let s = match *n {
                Node::Leaf(Leaf::Eval(e)) => e,
                Node::Leaf(Leaf::Instance(q)) => evals + q,
                Node::Leaf(Leaf::Value(v)) => evals + instances + v as u32,
                Node::Leaf(Leaf::Challenge(c)) => evals + instances + VALUES as u32 + c,
                Node::Leaf(Leaf::Constant(c)) => {
                    let c = Self::constant(&c).expect("built from field elements");
                    pool + constants.iter().position(|x| *x == c).expect("pooled") as u32
                }
                _ => continue,
            };
            slot.insert(i as u32, s);
        }
        let mut s = Scheduler {
            nodes: &dag.nodes,
            uses,
            slot,
            leaves: pool + constants.len() as u32,
            program: Program {
                evals,
                instances,
                challenges,
                constants,
                ..Program::default()
            },
        };
        let roots = roots.iter().map(|r| s.slot(*r)).collect();
        Program { roots, ..s.program }
    }

    /// Slots before the first temporary.
    pub fn leaves(&self) -> u32 {
        self.inputs() as u32 + self.constants.len() as u32
    }

    /// Slots the verifier fills: the evaluations, the instance evaluations, the [`VALUES`]
    /// derived values and the challenges.
    pub fn inputs(&self) -> usize {
        (self.evals + self.instances + self.challenges) as usize + VALUES
    }

    /// Runs the program over `inputs` (the proof's evaluations, the instance evaluations, the
    /// [`VALUES`] derived values and the challenges); returns each root's value.
    pub fn eval(&self, inputs: &[Fr]) -> Vec<Fr> {
        assert_eq!(
            inputs.len(),
            self.inputs(),
            "inputs of the program's leaf region"
        );
        let mut m: Vec<Fr> = inputs.iter().chain(&self.constants).copied().collect();
        for op in &self.ops {
            let v = |i: u32| m[i as usize];
            let r = match *op {
                Op::Add(a, b) => v(a) + v(b),
                Op::Sub(a, b) => v(a) - v(b),
                Op::Mul(a, b) => v(a) * v(b),
                Op::Mac(a, b, c) => v(a) * v(b) + v(c),
            };
            m.push(r);
        }
        self.roots.iter().map(|r| m[*r as usize]).collect()
    }

    /// The program's bytes as the Solidity verifier reads them: a u16 header (evaluations,
    /// instances, constants, ops, roots), the constants (32 bytes, big-endian), a u16 slot per
    /// root, then every op as one multiply-add `a·b + c` of three u16 slots (ADD `a·1 + b`,
    /// SUB `b·(−1) + a`, MUL `a·b + 0`): the interpreter has no branch. `None` past 65,535
    /// slots.
    pub fn encode(&self) -> Option<Vec<u8>> {
        let u16_of = |v: usize| u16::try_from(v).ok().map(u16::to_be_bytes);
        u16_of(self.leaves() as usize + self.ops.len())?;
        let mut out = Vec::new();
        for n in [
            self.evals as usize,
            self.instances as usize,
            self.constants.len(),
            self.ops.len(),
            self.roots.len(),
        ] {
            out.extend(u16_of(n)?);
        }
        for c in &self.constants {
            out.extend(crate::encoding::scalar_to_be(c));
        }
        for r in &self.roots {
            out.extend(u16_of(*r as usize)?);
        }
        for op in &self.ops {
            for o in self.mac(op) {
                out.extend(u16_of(o as usize)?);
            }
        }
        Some(out)
    }

    /// `op` as one multiply-add `a·b + c` over slots: ADD `a·1 + b`, SUB `b·(−1) + a`, MUL
    /// `a·b + 0` (1, −1 and 0 from the constant pool).
    pub fn mac(&self, op: &Op) -> [u32; 3] {
        let zero = self.leaves() - self.constants.len() as u32;
        match *op {
            Op::Add(a, b) => [a, zero + 1, b],
            Op::Sub(a, b) => [b, zero + 2, a],
            Op::Mul(a, b) => [a, b, zero],
            Op::Mac(a, b, c) => [a, b, c],
        }
    }

    /// Parses [`Self::encode`]'s bytes (every op read back as a multiply-add) for a circuit
    /// with `challenges` challenges, checking the constants are canonical, the pool starts
    /// with 0, 1, −1, every operand names a slot written before it and every root a slot that
    /// exists.
    pub fn decode(bytes: &[u8], challenges: u32) -> Result<Self, ProgramError> {
        let length = ProgramError::Length(bytes.len());
        let u16_at = |at: usize| {
            bytes
                .get(at..at + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]) as u32)
                .ok_or(length.clone())
        };
        let [evals, instances, constants, ops, roots] = [0, 2, 4, 6, 8].map(u16_at);
        let (evals, instances, constants, ops, roots) = (
            evals?,
            instances?,
            constants? as usize,
            ops? as usize,
            roots? as usize,
        );
        let roots_at = 10 + 32 * constants;
        let ops_at = roots_at + 2 * roots;
        if bytes.len() != ops_at + 6 * ops {
            return Err(length);
        }
        let constants = (0..constants)
            .map(|i| {
                crate::encoding::scalar_from_be(&bytes[10 + 32 * i..42 + 32 * i])
                    .ok_or(ProgramError::Constant(i))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if constants.get(..3) != Some(&[Fr::ZERO, Fr::ONE, -Fr::ONE][..]) {
            return Err(ProgramError::Pool);
        }
        let mut program = Program {
            evals,
            instances,
            challenges,
            constants,
            ..Program::default()
        };
        let leaves = program.leaves();
        for i in 0..ops {
            let [a, b, c] = [0, 2, 4].map(|o| u16_at(ops_at + 6 * i + o).expect("length checked"));
            if a.max(b).max(c) >= leaves + i as u32 {
                return Err(ProgramError::Operand(i));
            }
            program.ops.push(Op::Mac(a, b, c));
        }
        for i in 0..roots {
            let r = u16_at(roots_at + 2 * i).expect("length checked");
            if r >= leaves + ops as u32 {
                return Err(ProgramError::Root(i));
            }
            program.roots.push(r);
        }
        Ok(program)
    }

    /// The value of a constant leaf.
    pub fn constant(bytes: &[u8; 32]) -> Option<Fr> {
        Option::from(Fr::from_repr(*bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerator::{layout, numerator, QueryLeaves};
    use crate::testing::{hashed, vk_of, DIGITS};
    use snarkml_circuits::quantize::CompileOptions;

    /// Deterministic pseudo-random values for `n` slots.
    fn values(n: usize, seed: u64) -> Vec<Fr> {
        (0..n as u64)
            .map(|i| Fr::from(i * 0x9e37_79b9 + seed).square() + Fr::from(seed))
            .collect()
    }

    #[test]
    fn the_gate_programs_agree_with_halo2_on_every_circuit_shape_we_make() {
        let attention = (
            "tests/fixtures/corpus/attention_head.onnx",
            "tests/fixtures/corpus/attention_head.calibration.json",
        );
        let base = CompileOptions::default();
        let wide = CompileOptions {
            width: 9,
            ..CompileOptions::default()
        };
        // Plain gates and one lookup; Poseidon and parameter-dot gates; an odd width; the
        // product gates.
        for (label, model, opts) in [
            ("digits", DIGITS, &base),
            ("digits hashed", DIGITS, &hashed()),
            ("digits width 9", DIGITS, &wide),
            ("attention", attention, &base),
        ] {
            let (vk, _, _) = vk_of(model, opts);
            let queries = QueryLeaves::new(&vk);
            let leaf = |k, c, r| queries.leaf(k, c, r);
            let mut b = Builder::default();
            let expressions: Vec<&Expression<Fr>> =
                vk.cs()
                    .gates()
                    .iter()
                    .flat_map(|g| g.polynomials())
                    .chain(
                        vk.cs().lookups().iter().flat_map(|l| {
                            l.input_expressions().iter().chain(l.table_expressions())
                        }),
                    )
                    .collect();
            let roots: Vec<u32> = expressions
                .iter()
                .map(|e| b.expression(e, &leaf).unwrap())
                .collect();
            let l = layout(&vk);
            let instances = vk.cs().instance_queries().len() as u32;
            let program = Program::schedule(&b, &roots, l.total() as u32, instances, 0);
            let slot = |leaf: Leaf| match leaf {
                Leaf::Eval(i) => i as usize,
                Leaf::Instance(q) => l.total() + q as usize,
                _ => unreachable!("gates read columns only"),
            };
            for seed in [1u64, 2, 3] {
                let inputs = values(l.total() + instances as usize + VALUES, seed);
                let ours = program.eval(&inputs);
                for (i, (e, v)) in expressions.iter().zip(&ours).enumerate() {
                    let at = |k, c: usize, r: i32| inputs[slot(leaf(k, c, r).unwrap())];
                    let theirs = e.evaluate(
                        &|c| c,
                        &|_| unreachable!("no selectors in a verifying key"),
                        &|q| at(1, q.column_index(), q.rotation().0),
                        &|q| at(0, q.column_index(), q.rotation().0),
                        &|q| at(2, q.column_index(), q.rotation().0),
                        &|_| unreachable!("no challenges"),
                        &|a| -a,
                        &|a, b| a + b,
                        &|a, b| a * b,
                        &|a, k| a * k,
                    );
                    assert_eq!(*v, theirs, "{label}: expression {i}");
                }
            }
            // Sharing pays: fewer ops than the expression trees have operators.
            let tree_ops: usize = expressions.iter().map(|e| operators(e)).sum();
            assert!(program.ops.len() < tree_ops, "{label}");
            println!(
                "{label}: {} expressions, {} ops ({tree_ops} as trees)",
                expressions.len(),
                program.ops.len(),
            );
        }
    }

    #[test]
    fn the_numerator_reads_every_evaluation_and_value_it_should() {
        // Perturbing any input of the numerator changes it, except the random polynomial's
        // evaluation and h (opened, not constrained).
        for opts in [CompileOptions::default(), hashed()] {
            let (vk, _, _) = vk_of(DIGITS, &opts);
            let program = numerator(&vk).unwrap();
            let l = layout(&vk);
            let n = (program.evals + program.instances) as usize + VALUES;
            let inputs = values(n, 7);
            let base = program.eval(&inputs);
            let h = n - VALUES + Value::H as usize;
            for i in (0..n).filter(|i| *i != l.random() as usize && *i != h) {
                let mut changed = inputs.clone();
                changed[i] += Fr::ONE;
                assert_ne!(program.eval(&changed), base, "input {i} is never read");
            }
            println!("numerator: {} ops", program.ops.len());
        }
    }

    #[test]
    fn programs_round_trip_and_malformed_ones_are_refused() {
        let (vk, _, _) = vk_of(DIGITS, &CompileOptions::default());
        let program = numerator(&vk).unwrap();
        let bytes = program.encode().unwrap();
        let decoded = Program::decode(&bytes, 0).unwrap();
        // Decoding reads every op back as a multiply-add: same values.
        let inputs = values((program.evals + program.instances) as usize + VALUES, 3);
        assert_eq!(decoded.eval(&inputs), program.eval(&inputs));
        assert_eq!(decoded.encode().unwrap(), bytes);

        let constants = program.constants.len();
        let ops_at = 10 + 32 * constants + 2;
        let mut forward = bytes.clone();
        forward[ops_at..ops_at + 2].copy_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(Program::decode(&forward, 0), Err(ProgramError::Operand(0)));
        let mut root = bytes.clone();
        root[10 + 32 * constants..ops_at].copy_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(Program::decode(&root, 0), Err(ProgramError::Root(0)));
        let mut big = bytes.clone();
        big[10 + 32 * 3] = 0xff;
        assert_eq!(Program::decode(&big, 0), Err(ProgramError::Constant(3)));
        let mut pool = bytes.clone();
        pool[10 + 31] = 1;
        assert_eq!(Program::decode(&pool, 0), Err(ProgramError::Pool));
        assert!(matches!(
            Program::decode(&bytes[..bytes.len() - 1], 0),
            Err(ProgramError::Length(_))
        ));
    }

    fn operators(e: &Expression<Fr>) -> usize {
        e.evaluate(
            &|_| 0,
            &|_| 0,
            &|_| 0,
            &|_| 0,
            &|_| 0,
            &|_| 0,
            &|a| a + 1,
            &|a, b| a + b + 1,
            &|a, b| a + b + 1,
            &|a, _| a + 1,
        )
    }
}
