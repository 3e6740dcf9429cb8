//! Grumpkin arithmetic in-circuit, on halo2-base's gate. A point's coordinates are native field
//! elements, so every formula is a handful of multiplications.
//!
//! Additions are *incomplete* (affine, for points with distinct `x`), and the circuit enforces
//! that the `x` differ: a prover can never slip through an exceptional case, and an honest one
//! never meets one, because every accumulator starts from the offset point
//! [`crate::cipher::offset_point`], whose discrete logarithm nobody knows, and the offset is
//! taken off at the end.

use crate::cipher::{offset_point, Point};
use crate::Fr;
use halo2_proofs::halo2curves::ff::Field;
use snark_verifier_sdk::snark_verifier::halo2_base::gates::{GateChip, GateInstructions};
use snark_verifier_sdk::snark_verifier::halo2_base::QuantumCell::Constant;
use snark_verifier_sdk::snark_verifier::halo2_base::{AssignedValue, Context};

/// Bits of a scalar: enough for any native field element.
pub const SCALAR_BITS: usize = 254;

/// A Grumpkin point in-circuit (affine; never the identity).
#[derive(Clone, Copy, Debug)]
pub struct AssignedPoint {
    /// `x`.
    pub x: AssignedValue<Fr>,
    /// `y`.
    pub y: AssignedValue<Fr>,
}

impl AssignedPoint {
    /// The point's value.
    pub fn value(&self) -> (Fr, Fr) {
        (*self.x.value(), *self.y.value())
    }
}

/// Grumpkin operations over a gate chip.
#[derive(Clone, Copy, Debug)]
pub struct GrumpkinChip<'a> {
    gate: &'a GateChip<Fr>,
}

/// `1 / v`, or zero for zero (a witness whose constraint then fails).
fn invert(v: Fr) -> Fr {
    v.invert().unwrap_or(Fr::ZERO)
}

impl<'a> GrumpkinChip<'a> {
    /// A chip over `gate`.
    pub fn new(gate: &'a GateChip<Fr>) -> Self {
        Self { gate }
    }

    /// Witnesses `(x, y)` and constrains it to be on the curve.
    pub fn load(&self, ctx: &mut Context<Fr>, x: Fr, y: Fr) -> AssignedPoint {
        let p = AssignedPoint {
            x: ctx.load_witness(x),
            y: ctx.load_witness(y),
        };
        self.assert_on_curve(ctx, &p);
        p
    }

    /// A constant point.
    pub fn constant(&self, ctx: &mut Context<Fr>, p: Point) -> AssignedPoint {
        AssignedPoint {
            x: ctx.load_constant(p.x),
            y: ctx.load_constant(p.y),
        }
    }

    /// Constrains `y² = x³ − 17`.
    pub fn assert_on_curve(&self, ctx: &mut Context<Fr>, p: &AssignedPoint) {
        let g = self.gate;
        let y2 = g.mul(ctx, p.y, p.y);
        let x2 = g.mul(ctx, p.x, p.x);
        let x3 = g.mul(ctx, x2, p.x);
        let rhs = g.sub(ctx, x3, Constant(Fr::from(17)));
        ctx.constrain_equal(&y2, &rhs);
    }

    /// `a + b`, constraining `a.x ≠ b.x`.
    pub fn add(
        &self,
        ctx: &mut Context<Fr>,
        a: &AssignedPoint,
        b: &AssignedPoint,
    ) -> AssignedPoint {
        let g = self.gate;
        let dx = g.sub(ctx, b.x, a.x);
        let dy = g.sub(ctx, b.y, a.y);
        let inv = invert(*dx.value());
        // dx · (1/dx) = 1: the x differ.
        let inv = ctx.load_witness(inv);
        let one = g.mul(ctx, dx, inv);
        g.assert_is_const(ctx, &one, &Fr::ONE);
        // λ · dx = dy.
        let lambda = ctx.load_witness(*dy.value() * *inv.value());
        let slope = g.mul(ctx, lambda, dx);
        ctx.constrain_equal(&slope, &dy);
        self.finish(ctx, lambda, a, b.x)
    }

    /// `2a`. No exceptional case: `y = 0` would force `x = 0`, which is not on the curve.
    pub fn double(&self, ctx: &mut Context<Fr>, a: &AssignedPoint) -> AssignedPoint {
        let g = self.gate;
        let (x, y) = a.value();
        let lambda = ctx.load_witness(x.square() * Fr::from(3) * invert(y.double()));
        // λ · 2y = 3x².
        let ly = g.mul(ctx, lambda, a.y);
        let lhs = g.add(ctx, ly, ly);
        let x2 = g.mul(ctx, a.x, a.x);
        let rhs = g.mul(ctx, x2, Constant(Fr::from(3)));
        ctx.constrain_equal(&lhs, &rhs);
        self.finish(ctx, lambda, a, a.x)
    }

    /// The sum from the slope `λ` through `a` and a point with `x = other_x`:
    /// `x₃ = λ² − a.x − other_x`, `y₃ = λ(a.x − x₃) − a.y`.
    fn finish(
        &self,
        ctx: &mut Context<Fr>,
        lambda: AssignedValue<Fr>,
        a: &AssignedPoint,
        other_x: AssignedValue<Fr>,
    ) -> AssignedPoint {
        let g = self.gate;
        let l2 = g.mul(ctx, lambda, lambda);
        let t = g.sub(ctx, l2, a.x);
        let x = g.sub(ctx, t, other_x);
        let d = g.sub(ctx, a.x, x);
        let ld = g.mul(ctx, lambda, d);
        let y = g.sub(ctx, ld, a.y);
        AssignedPoint { x, y }
    }

    /// `bit ? a : b`, for a constrained bit.
    pub fn select(
        &self,
        ctx: &mut Context<Fr>,
        a: &AssignedPoint,
        b: &AssignedPoint,
        bit: AssignedValue<Fr>,
    ) -> AssignedPoint {
        AssignedPoint {
            x: self.gate.select(ctx, a.x, b.x, bit),
            y: self.gate.select(ctx, a.y, b.y, bit),
        }
    }

    /// `k · p` for a point known only in-circuit, with `k` given by its constrained bits
    /// (little-endian): double-and-add from the most significant bit, from the offset.
    pub fn mul(
        &self,
        ctx: &mut Context<Fr>,
        p: &AssignedPoint,
        bits: &[AssignedValue<Fr>],
    ) -> AssignedPoint {
        let h = offset_point();
        let mut acc = self.constant(ctx, h);
        for bit in bits.iter().rev() {
            acc = self.double(ctx, &acc);
            let sum = self.add(ctx, &acc, p);
            acc = self.select(ctx, &sum, &acc, *bit);
        }
        // acc = 2^n·H + k·p.
        let offset = h
            .scale(power_of_two(bits.len()))
            .expect("H has prime order");
        let minus = self.constant(ctx, -offset);
        self.add(ctx, &acc, &minus)
    }

    /// `k · base` for a point fixed when the circuit is built: for each bit one selection between
    /// two constants (`2ⁱ·H` or `2ⁱ·(base + H)`) and one addition, no doubling.
    pub fn mul_fixed(
        &self,
        ctx: &mut Context<Fr>,
        base: Point,
        bits: &[AssignedValue<Fr>],
    ) -> AssignedPoint {
        let g = self.gate;
        let mut off = offset_point();
        let mut on = base.checked_add(off).expect("H is not −base");
        let mut acc: Option<AssignedPoint> = None;
        for bit in bits {
            // bit · (on − off) + off, per coordinate.
            let pick = |ctx: &mut Context<Fr>, a: Fr, b: Fr| {
                g.mul_add(ctx, *bit, Constant(a - b), Constant(b))
            };
            let term = AssignedPoint {
                x: pick(ctx, on.x, off.x),
                y: pick(ctx, on.y, off.y),
            };
            acc = Some(match acc {
                None => term,
                Some(acc) => self.add(ctx, &acc, &term),
            });
            off = off.checked_add(off).expect("H has odd order");
            on = on.checked_add(on).expect("base + H has odd order");
        }
        let acc = acc.expect("at least one bit");
        // acc = k·base + (2^n − 1)·H; off = 2^n·H.
        let offset = off
            .checked_add(-offset_point())
            .expect("2^n ≠ 1 modulo the order");
        let minus = self.constant(ctx, -offset);
        self.add(ctx, &acc, &minus)
    }
}

/// `2^n` as a Grumpkin scalar.
fn power_of_two(n: usize) -> crate::cipher::Scalar {
    crate::cipher::Scalar::from(2).pow_vartime([n as u64])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cipher::{generator, random_scalar, scalar_from_field};
    use halo2_proofs::dev::MockProver;
    use rand::SeedableRng;
    use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::builder::BaseCircuitBuilder;
    use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;

    /// Proves `k·G` (fixed base) and `k·P` (variable base) and checks both against native
    /// values given as the expected results.
    fn run(k: Fr, p: Point, want_fixed: Point, want_var: Point) -> bool {
        let mut b = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock)
            .use_k(12)
            .use_lookup_bits(8);
        let gate = GateChip::default();
        let chip = GrumpkinChip::new(&gate);
        let ctx = b.main(0);
        let kc = ctx.load_witness(k);
        let bits = gate.num_to_bits(ctx, kc, SCALAR_BITS);
        let pc = chip.load(ctx, p.x, p.y);
        let fixed = chip.mul_fixed(ctx, generator(), &bits);
        let var = chip.mul(ctx, &pc, &bits);
        for (got, want) in [(fixed, want_fixed), (var, want_var)] {
            let w = chip.constant(ctx, want);
            ctx.constrain_equal(&got.x, &w.x);
            ctx.constrain_equal(&got.y, &w.y);
        }
        b.calculate_params(Some(20));
        MockProver::run(12, &b, vec![]).unwrap().verify().is_ok()
    }

    #[test]
    fn fixed_and_variable_base_multiplication_match_native_and_reject_wrong_results() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let k = Fr::random(&mut rng);
        let p = generator().scale(random_scalar(&mut rng)).unwrap();
        let s = scalar_from_field(k);
        let kg = generator().scale(s).unwrap();
        let kp = p.scale(s).unwrap();
        assert!(run(k, p, kg, kp));
        // Small and top-heavy scalars too.
        for k in [Fr::ONE, Fr::from(2), -Fr::ONE] {
            let s = scalar_from_field(k);
            assert!(run(
                k,
                p,
                generator().scale(s).unwrap(),
                p.scale(s).unwrap()
            ));
        }
        // A wrong result of either kind is refused.
        assert!(!run(k, p, kg.checked_add(generator()).unwrap(), kp));
        assert!(!run(k, p, kg, -kp));
        // A point off the curve is refused.
        let off = Point {
            x: p.x,
            y: p.y + Fr::ONE,
        };
        assert!(!run(k, off, kg, kp));
    }
}
