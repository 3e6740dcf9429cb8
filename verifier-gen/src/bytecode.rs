//! Constraint bytecode: the first piece of our own, data-driven verifier (issue 9).
//!
//! A reusable verifier cannot unroll a circuit's custom gates into code; it interprets them.
//! [`Program::from_vk`] reads the constraint system of a verifying key (as keygen left it:
//! selectors already compressed into fixed columns) and compiles every gate polynomial and
//! every lookup input and table expression into a straight-line program over one slot space:
//!
//! ```text
//! slots: | leaves (column queries, challenges, constants) | temporaries, one per op |
//! ops:   ADD a b | SUB a b | MUL a b | MAC a b c   (a·b + c)      → the next temporary
//! roots: the slot holding each expression's value, gates first, then per lookup its inputs
//!        and tables
//! ```
//!
//! Identical subexpressions are computed once (hash-consing), negations fold into
//! subtractions and products feeding a sum into multiply-adds. The permutation and lookup
//! arguments themselves have a fixed shape and are left to native loops
//! (`docs/verifier-gen/halo2-arguments.md` §4.3). [`Program::eval`] is the reference
//! interpreter the Solidity one must agree with; the tests check it against halo2's own
//! evaluation of the same expressions.

use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::plonk::{Expression, VerifyingKey};
use snarkml_circuits::{Fr, G1Affine};
use std::collections::HashMap;

/// A value the program reads: a column evaluated at a rotation, a challenge, or a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Leaf {
    /// Fixed column `column` at rotation `rotation`.
    Fixed {
        /// Column index.
        column: usize,
        /// Rotation.
        rotation: i32,
    },
    /// Advice column `column` at rotation `rotation`.
    Advice {
        /// Column index.
        column: usize,
        /// Rotation.
        rotation: i32,
    },
    /// Instance column `column` at rotation `rotation`.
    Instance {
        /// Column index.
        column: usize,
        /// Rotation.
        rotation: i32,
    },
    /// Challenge `index` (a user challenge of a multi-phase circuit).
    Challenge(usize),
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

/// The compiled constraints of one verifying key.
#[derive(Clone, Debug, Default)]
pub struct Program {
    /// Slots `0..leaves.len()`.
    pub leaves: Vec<Leaf>,
    /// Slot `leaves.len() + i` is the result of `ops[i]`.
    pub ops: Vec<Op>,
    /// The slot of each compiled expression, in input order.
    pub roots: Vec<u32>,
}

/// A node of the expression DAG before scheduling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Node {
    Leaf(Leaf),
    Neg(u32),
    Add(u32, u32),
    Mul(u32, u32),
}

/// Hash-consed DAG builder.
#[derive(Default)]
struct Dag {
    nodes: Vec<Node>,
    index: HashMap<Node, u32>,
}

impl Dag {
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

    fn constant(&mut self, f: Fr) -> u32 {
        self.intern(Node::Leaf(Leaf::Constant(f.to_repr())))
    }

    fn expression(&mut self, e: &Expression<Fr>) -> u32 {
        match e {
            Expression::Constant(c) => self.constant(*c),
            // Keygen compresses selectors into fixed columns: a verifying key has none left.
            Expression::Selector(_) => unreachable!("selectors are compressed by keygen"),
            Expression::Fixed(q) => self.intern(Node::Leaf(Leaf::Fixed {
                column: q.column_index(),
                rotation: q.rotation().0,
            })),
            Expression::Advice(q) => self.intern(Node::Leaf(Leaf::Advice {
                column: q.column_index(),
                rotation: q.rotation().0,
            })),
            Expression::Instance(q) => self.intern(Node::Leaf(Leaf::Instance {
                column: q.column_index(),
                rotation: q.rotation().0,
            })),
            Expression::Challenge(c) => self.intern(Node::Leaf(Leaf::Challenge(c.index()))),
            Expression::Negated(a) => {
                let a = self.expression(a);
                self.intern(Node::Neg(a))
            }
            Expression::Sum(a, b) => {
                let (a, b) = (self.expression(a), self.expression(b));
                self.intern(Node::Add(a, b))
            }
            Expression::Product(a, b) => {
                let (a, b) = (self.expression(a), self.expression(b));
                self.intern(Node::Mul(a, b))
            }
            Expression::Scaled(a, k) => {
                let (a, k) = (self.expression(a), self.constant(*k));
                self.intern(Node::Mul(a, k))
            }
        }
    }
}

/// Schedules a DAG into slots: leaves first, then ops in dependency order.
struct Scheduler<'d> {
    dag: &'d Dag,
    /// Uses of each node as an operand (a product used once by a sum becomes a MAC).
    uses: Vec<u32>,
    slot: HashMap<u32, u32>,
    /// The slot of the constant zero (placed with the leaves when a negation needs it).
    zero: Option<u32>,
    program: Program,
}

impl Scheduler<'_> {
    /// The slot of node `n`, computing it (and what it needs) first.
    fn slot(&mut self, n: u32) -> u32 {
        if let Some(s) = self.slot.get(&n) {
            return *s;
        }
        let s = match self.dag.nodes[n as usize] {
            Node::Leaf(_) => unreachable!("leaves are placed first"),
            Node::Neg(a) => {
                // −a = 0 − a.
                let zero = self.zero.expect("placed with the leaves");
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
        let node = |n: u32| self.dag.nodes[n as usize];
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
        (self.program.leaves.len() + self.program.ops.len() - 1) as u32
    }
}

impl Program {
    /// Compiles `expressions` (any halo2 expressions without selectors).
    pub fn compile(expressions: &[&Expression<Fr>]) -> Self {
        let mut dag = Dag::default();
        let roots: Vec<u32> = expressions.iter().map(|e| dag.expression(e)).collect();
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
        let mut leaves: Vec<Leaf> = dag
            .nodes
            .iter()
            .filter_map(|n| match n {
                Node::Leaf(l) => Some(*l),
                _ => None,
            })
            .collect();
        // 0, 1 and −1 are always leaves: negations use 0, and the EVM encoding writes every
        // op as a multiply-add (`a + b = a·1 + b`, `a − b = b·(−1) + a`, `a·b = a·b + 0`).
        let zero = Leaf::Constant(Fr::ZERO.to_repr());
        for c in [Fr::ZERO, Fr::ONE, -Fr::ONE] {
            let leaf = Leaf::Constant(c.to_repr());
            if !leaves.contains(&leaf) {
                leaves.push(leaf);
            }
        }
        let mut slot = HashMap::new();
        for (i, n) in dag.nodes.iter().enumerate() {
            if let Node::Leaf(l) = n {
                let s = leaves.iter().position(|x| x == l).expect("listed above");
                slot.insert(i as u32, s as u32);
            }
        }
        let zero = leaves.iter().position(|l| *l == zero).map(|i| i as u32);
        let mut s = Scheduler {
            dag: &dag,
            uses,
            slot,
            zero,
            program: Program {
                leaves,
                ..Program::default()
            },
        };
        let roots = roots.iter().map(|r| s.slot(*r)).collect();
        Program { roots, ..s.program }
    }

    /// Every gate polynomial of `vk`, then for each lookup its input expressions and its
    /// table expressions, in the order halo2's verifier uses them.
    pub fn from_vk(vk: &VerifyingKey<G1Affine>) -> Self {
        Self::compile(&Self::expressions(vk))
    }

    /// The expressions [`Self::from_vk`] compiles, in that order.
    pub fn expressions(vk: &VerifyingKey<G1Affine>) -> Vec<&Expression<Fr>> {
        let cs = vk.cs();
        let mut out: Vec<&Expression<Fr>> =
            cs.gates().iter().flat_map(|g| g.polynomials()).collect();
        for lookup in cs.lookups() {
            out.extend(lookup.input_expressions());
            out.extend(lookup.table_expressions());
        }
        out
    }

    /// Runs the program: `leaf` gives each leaf's value; returns each root's value.
    pub fn eval(&self, leaf: impl Fn(&Leaf) -> Fr) -> Vec<Fr> {
        let mut m: Vec<Fr> = self.leaves.iter().map(&leaf).collect();
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

    /// The program's bytes as `contracts/src/ConstraintVM.sol` reads them: a u16 header
    /// (leaves, ops, roots), a u16 slot per root, then every op as one multiply-add
    /// `a·b + c`, three u16 slots (ADD `a·1 + b`, SUB `b·(−1) + a`, MUL `a·b + 0`): the
    /// interpreter has no branch. `None` past 65,535 slots.
    pub fn encode(&self) -> Option<Vec<u8>> {
        let u16_of = |v: usize| u16::try_from(v).ok().map(u16::to_be_bytes);
        u16_of(self.leaves.len() + self.ops.len())?;
        let constant = |c: Fr| {
            let leaf = Leaf::Constant(c.to_repr());
            self.leaves
                .iter()
                .position(|l| *l == leaf)
                .map(|i| i as u32)
        };
        let (zero, one, minus_one) = (constant(Fr::ZERO)?, constant(Fr::ONE)?, constant(-Fr::ONE)?);
        let mut out = Vec::new();
        for n in [self.leaves.len(), self.ops.len(), self.roots.len()] {
            out.extend(u16_of(n)?);
        }
        for r in &self.roots {
            out.extend(u16_of(*r as usize)?);
        }
        for op in &self.ops {
            let mac = match *op {
                Op::Add(a, b) => [a, one, b],
                Op::Sub(a, b) => [b, minus_one, a],
                Op::Mul(a, b) => [a, b, zero],
                Op::Mac(a, b, c) => [a, b, c],
            };
            for o in mac {
                out.extend(u16_of(o as usize)?);
            }
        }
        Some(out)
    }

    /// The value of a constant leaf.
    pub fn constant(bytes: &[u8; 32]) -> Option<Fr> {
        Option::from(Fr::from_repr(*bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::scalar_to_be;
    use crate::testing::{contract, hashed, selector, vk_of, DIGITS};
    use snarkml_circuits::quantize::CompileOptions;

    /// A deterministic pseudo-random value per leaf (a hash of its description).
    fn leaf_value(leaf: &Leaf, seed: u64) -> Fr {
        use std::hash::{Hash, Hasher};
        match leaf {
            Leaf::Constant(bytes) => Program::constant(bytes).expect("canonical"),
            other => {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                (other, seed).hash(&mut h);
                Fr::from(h.finish()) * Fr::from(0x9e37_79b9_7f4a_7c15u64) + Fr::from(seed)
            }
        }
    }

    /// halo2's own evaluation of `e` with the same leaf values.
    fn reference(e: &Expression<Fr>, seed: u64) -> Fr {
        e.evaluate(
            &|c| c,
            &|_| unreachable!("no selectors in a verifying key"),
            &|q| {
                leaf_value(
                    &Leaf::Fixed {
                        column: q.column_index(),
                        rotation: q.rotation().0,
                    },
                    seed,
                )
            },
            &|q| {
                leaf_value(
                    &Leaf::Advice {
                        column: q.column_index(),
                        rotation: q.rotation().0,
                    },
                    seed,
                )
            },
            &|q| {
                leaf_value(
                    &Leaf::Instance {
                        column: q.column_index(),
                        rotation: q.rotation().0,
                    },
                    seed,
                )
            },
            &|c| leaf_value(&Leaf::Challenge(c.index()), seed),
            &|a| -a,
            &|a, b| a + b,
            &|a, b| a * b,
            &|a, k| a * k,
        )
    }

    #[test]
    fn the_program_agrees_with_halo2_on_every_circuit_shape_we_make() {
        let digits = DIGITS;
        let attention = (
            "tests/fixtures/corpus/attention_head.onnx",
            "tests/fixtures/corpus/attention_head.calibration.json",
        );
        let base = CompileOptions::default();
        let hashed = hashed();
        let wide = CompileOptions {
            width: 9,
            ..CompileOptions::default()
        };
        // Plain gates and one lookup; Poseidon and parameter-dot gates; an odd width; the
        // product gates.
        for (label, model, opts) in [
            ("digits", digits, &base),
            ("digits hashed", digits, &hashed),
            ("digits width 9", digits, &wide),
            ("attention", attention, &base),
        ] {
            let vk = vk_of(model, opts);
            let program = Program::from_vk(&vk);
            let expressions = Program::expressions(&vk);
            assert_eq!(program.roots.len(), expressions.len(), "{label}");
            for seed in [1u64, 2, 3] {
                let ours = program.eval(|l| leaf_value(l, seed));
                for (i, (e, v)) in expressions.iter().zip(&ours).enumerate() {
                    assert_eq!(*v, reference(e, seed), "{label}: expression {i}");
                }
            }
            // Sharing pays: fewer ops than the expression trees have operators.
            let tree_ops: usize = expressions.iter().map(|e| operators(e)).sum();
            assert!(
                program.ops.len() < tree_ops,
                "{label}: {} ops for {tree_ops} tree operators",
                program.ops.len()
            );
            println!(
                "{label}: {} expressions, {} leaves, {} ops ({} as trees)",
                expressions.len(),
                program.leaves.len(),
                program.ops.len(),
                tree_ops
            );
        }
    }

    #[test]
    fn a_changed_operand_changes_the_result() {
        // The interpreter really reads its operands: perturbing any one leaf a root depends
        // on changes that root (tested for every leaf of the digits program).
        let vk = vk_of(DIGITS, &CompileOptions::default());
        let program = Program::from_vk(&vk);
        let base = program.eval(|l| leaf_value(l, 7));
        for (i, leaf) in program.leaves.iter().enumerate() {
            if matches!(leaf, Leaf::Constant(_)) {
                continue;
            }
            let changed = program.eval(|l| {
                let v = leaf_value(l, 7);
                if l == leaf {
                    v + Fr::ONE
                } else {
                    v
                }
            });
            assert_ne!(changed, base, "leaf {i} ({leaf:?}) is never read");
        }
    }

    #[test]
    fn the_solidity_interpreter_computes_what_the_rust_one_does() {
        let vm = contract("ConstraintVM", false);
        let call = |calldata: Vec<u8>| {
            snark_verifier_sdk::snark_verifier::loader::evm::deploy_and_call(
                vm.initcode.clone(),
                calldata,
            )
        };
        for (label, opts) in [
            ("digits", CompileOptions::default()),
            ("digits hashed", hashed()),
        ] {
            let program = Program::from_vk(&vk_of(DIGITS, &opts));
            let leaves: Vec<Fr> = program.leaves.iter().map(|l| leaf_value(l, 5)).collect();
            let roots = program.eval(|l| leaf_value(l, 5));
            let calldata = |code: &[u8], roots: &[Fr]| {
                let mut c = code.to_vec();
                c.extend(leaves.iter().flat_map(scalar_to_be));
                c.extend(roots.iter().flat_map(scalar_to_be));
                c
            };
            let code = program.encode().unwrap();
            let gas = call(calldata(&code, &roots)).unwrap_or_else(|e| panic!("{label}: {e}"));
            println!(
                "{label}: {} ops, {} bytes of program, {gas} gas for the whole call",
                program.ops.len(),
                code.len()
            );
            // A wrong expected root, a changed leaf, an operand redirected to another slot and
            // a forward operand are all refused.
            // Each refusal by its custom error: RootMismatch(i) or BadOperand(op).
            let refused = |r: Result<u64, String>, error: &str| {
                let e = r.expect_err("refused");
                assert!(e.contains(&format!("output 0x{error}")), "{label}: {e}");
            };
            let root_mismatch = &selector("RootMismatch(uint256)");
            let mut wrong = roots.clone();
            wrong[0] += Fr::ONE;
            refused(
                call(calldata(&code, &wrong)),
                &format!("{root_mismatch}{:064x}", 0),
            );
            let mut bad_leaf = calldata(&code, &roots);
            let first_leaf = code.len() + 31;
            bad_leaf[first_leaf] ^= 1;
            refused(call(bad_leaf), root_mismatch);
            // The first op's `c` operand, after the header and the roots.
            let c_of_first = 6 + 2 * program.roots.len() + 4;
            let mut redirected = code.clone();
            let c = u16::from_be_bytes([code[c_of_first], code[c_of_first + 1]]);
            // Another leaf (written, so only the root comparison can catch it).
            let other = (c + 1) % program.leaves.len() as u16;
            redirected[c_of_first..c_of_first + 2].copy_from_slice(&other.to_be_bytes());
            refused(call(calldata(&redirected, &roots)), root_mismatch);
            let mut forward = code.clone();
            forward[c_of_first..c_of_first + 2].copy_from_slice(&u16::MAX.to_be_bytes());
            refused(
                call(calldata(&forward, &roots)),
                &format!("{}{:064x}", selector("BadOperand(uint256)"), 0),
            );
        }
    }

    #[test]
    fn constraint_vm_gas_per_op() {
        // Two chains of multiply-adds, 100 and 1,100 ops: the gas difference over 1,000 is
        // the interpreter's cost per op (printed; BENCHMARKS.md records it).
        for optimize in [false, true] {
            let vm = contract("ConstraintVM", optimize);
            let gas = |n: u32| {
                let program = Program {
                    leaves: vec![
                        Leaf::Challenge(0),
                        Leaf::Challenge(1),
                        Leaf::Constant(Fr::ZERO.to_repr()),
                        Leaf::Constant(Fr::ONE.to_repr()),
                        Leaf::Constant((-Fr::ONE).to_repr()),
                    ],
                    // op i writes slot 5 + i from the previous one.
                    ops: (0..n)
                        .map(|i| Op::Mac(if i == 0 { 1 } else { i + 4 }, 0, 1))
                        .collect(),
                    roots: vec![n + 4],
                };
                let value = |l: &Leaf| match l {
                    Leaf::Challenge(i) => Fr::from(3 + 2 * *i as u64),
                    Leaf::Constant(bytes) => Program::constant(bytes).unwrap(),
                    _ => unreachable!(),
                };
                let leaves: Vec<Fr> = program.leaves.iter().map(value).collect();
                let root = program.eval(value);
                let mut calldata = program.encode().unwrap();
                calldata.extend(leaves.iter().flat_map(scalar_to_be));
                calldata.extend(root.iter().flat_map(scalar_to_be));
                snark_verifier_sdk::snark_verifier::loader::evm::deploy_and_call(
                    vm.initcode.clone(),
                    calldata,
                )
                .unwrap()
            };
            let (short, long) = (gas(100), gas(1100));
            let per_op = (long - short) as f64 / 1000.0;
            println!("ConstraintVM, optimizer {optimize}: {per_op:.0} gas per op (calldata included: 6 bytes each)");
            assert!(per_op > 0.0);
        }
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
