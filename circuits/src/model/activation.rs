//! Element-wise non-linear functions. In the circuit each is one lookup table of
//! `(x, f(x))` over the quantized inputs calibration can produce; the table entries are
//! `round(f(x / 2^s) · 2^s)` at the activation scale `s` (exact integer forms for the
//! piecewise-linear functions that commute with scaling).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A float parameter of an activation (stored as its bits so that activations can be table
/// keys: ordered, hashable, exactly comparable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Param(u32);

impl Param {
    /// The parameter `v`.
    pub fn new(v: f32) -> Self {
        Self(v.to_bits())
    }

    /// Its value.
    pub fn get(self) -> f64 {
        f64::from(f32::from_bits(self.0))
    }
}

impl Serialize for Param {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        f32::from_bits(self.0).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Param {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f32::deserialize(d).map(Self::new)
    }
}

/// An element-wise function, computed in-circuit by a lookup table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "fn", rename_all = "snake_case")]
pub enum Activation {
    /// `x`: the lookup only range-checks the value.
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh x`.
    Tanh,
    /// `x` for `x ≥ 0`, else `alpha·x`.
    LeakyRelu {
        /// Negative slope.
        alpha: Param,
    },
    /// `x` for `x > 0`, else `alpha·(e^x − 1)`.
    Elu {
        /// Scale of the negative part.
        alpha: Param,
    },
    /// `gamma·x` for `x > 0`, else `gamma·alpha·(e^x − 1)`.
    Selu {
        /// Scale of the negative part.
        alpha: Param,
        /// Overall scale.
        gamma: Param,
    },
    /// `max(0, x) + min(0, alpha·(e^(x/alpha) − 1))`.
    Celu {
        /// Scale.
        alpha: Param,
    },
    /// `max(0, min(1, alpha·x + beta))`.
    HardSigmoid {
        /// Slope.
        alpha: Param,
        /// Offset.
        beta: Param,
    },
    /// `x · max(0, min(1, x/6 + 1/2))`.
    HardSwish,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `min(max(x, min), max)`.
    Clip {
        /// Lower bound.
        min: Param,
        /// Upper bound.
        max: Param,
    },
    /// `|x|`.
    Abs,
    /// `−x`.
    Neg,
    /// The error function.
    Erf,
    /// `e^x` (saturating at [`SATURATION`]).
    Exp,
    /// `ln x`; inputs below the smallest positive value read as that value.
    Log,
    /// `√x`; negative inputs read as zero.
    Sqrt,
    /// `1 / √x` (layer normalization); inputs below the smallest positive value read as it.
    Rsqrt,
    /// `1 / x` (saturating at [`SATURATION`]; zero reads as the smallest positive value).
    Reciprocal,
    /// `−1`, `0` or `1`.
    Sign,
    /// `⌊x⌋`.
    Floor,
    /// `⌈x⌉`.
    Ceil,
    /// `x` rounded to the nearest integer, ties to even (ONNX `Round`).
    Round,
    /// `x·Φ(x) = x/2·(1 + erf(x/√2))`: GELU, exact form.
    Gelu,
    /// `x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`: GELU, tanh form.
    GeluTanh,
    /// `x·tanh(softplus(x))`.
    Mish,
    /// `x^p` for a constant exponent `p` (non-real results read as zero; saturating).
    Pow {
        /// The exponent.
        exponent: Param,
    },
    /// `x` for `x > alpha`, else 0.
    ThresholdedRelu {
        /// The threshold.
        alpha: Param,
    },
    /// `sin x`.
    Sin,
    /// `cos x`.
    Cos,
    /// `1` for `x > 0`, else `0` (Greater, Less).
    Step,
    /// `1` for `x ≥ 0`, else `0` (GreaterOrEqual, LessOrEqual).
    StepInclusive,
    /// `1` for `x = 0`, else `0` (Equal, ArgMax).
    IsZero,
    /// `x` rounded toward zero (a Cast to an integer type). Variants are appended: their
    /// order is the order of a model's tables.
    Trunc,
    /// `tan x` (saturating at [`SATURATION`] near its poles).
    Tan,
    /// `asin x`; inputs outside `[−1, 1]` read as zero (no real result).
    Asin,
    /// `acos x`; inputs outside `[−1, 1]` read as zero.
    Acos,
    /// `atan x`.
    Atan,
    /// `sinh x` (saturating).
    Sinh,
    /// `cosh x` (saturating).
    Cosh,
    /// `asinh x`.
    Asinh,
    /// `acosh x`; inputs below 1 read as zero.
    Acosh,
    /// `atanh x`; saturating toward `±1`, zero outside `(−1, 1)`.
    Atanh,
    /// `x − bias` above `lambd`, `x + bias` below `−lambd`, zero between (Shrink: soft and
    /// hard shrinkage).
    Shrink {
        /// The half-width of the zero band.
        lambd: Param,
        /// What is taken off the magnitude outside it.
        bias: Param,
    },
    /// `step · clamp(round(n), lo, hi)` of a value `n` counted in quantization steps (ties to
    /// even, as ONNX rounds): a QuantizeLinear and the DequantizeLinear that reads it (fake
    /// quantization, the QDQ form of int8 models), `lo` and `hi` the integer type's range less
    /// the zero point. Unlike every other function, its table reads `n` at `fraction`
    /// fractional bits, whatever the activation scale: the rescale before it divides by the
    /// step (see `ops::lower`), so the table spans the type's few hundred levels, not the
    /// values at the activation scale; its outputs are at the activation scale. `fraction` is
    /// 0 in the float graph; lowering sets it where `n` is exact at a few more bits, so that
    /// an exact tie rounds to even.
    Dequantize {
        /// The quantization step (the scale of QuantizeLinear and DequantizeLinear).
        step: Param,
        /// The lowest level.
        lo: Param,
        /// The highest level.
        hi: Param,
        /// Fractional bits of the count the table reads.
        #[serde(default, skip_serializing_if = "is_zero")]
        fraction: u32,
    },
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// The largest magnitude an unbounded function (exp, reciprocal, pow) returns: its table
/// saturates here rather than overflowing the packed outputs.
pub const SATURATION: f64 = 1.0e6;

impl Activation {
    /// The function on reals.
    pub fn eval(self, x: f64) -> f64 {
        match self {
            Self::Identity => x,
            Self::Relu => x.max(0.0),
            Self::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Self::Tanh => x.tanh(),
            Self::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha.get() * x
                }
            }
            Self::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha.get() * x.exp_m1()
                }
            }
            Self::Selu { alpha, gamma } => {
                gamma.get() * if x > 0.0 { x } else { alpha.get() * x.exp_m1() }
            }
            Self::Celu { alpha } => {
                let a = alpha.get();
                x.max(0.0) + (a * (x / a).exp_m1()).min(0.0)
            }
            Self::HardSigmoid { alpha, beta } => (alpha.get() * x + beta.get()).clamp(0.0, 1.0),
            Self::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            Self::Softplus => {
                // ln(1 + e^x) without overflow for large x.
                x.max(0.0) + (-x.abs()).exp().ln_1p()
            }
            Self::Softsign => x / (1.0 + x.abs()),
            Self::Clip { min, max } => x.max(min.get()).min(max.get()),
            Self::Abs => x.abs(),
            Self::Neg => -x,
            Self::Erf => erf(x),
            Self::Exp => x.exp(),
            Self::Log => x.ln(),
            Self::Sqrt => x.max(0.0).sqrt(),
            Self::Rsqrt => 1.0 / x.sqrt(),
            Self::Reciprocal => 1.0 / x,
            Self::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Self::Floor => x.floor(),
            Self::Ceil => x.ceil(),
            Self::Round => x.round_ties_even(),
            Self::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
            Self::GeluTanh => {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * x * (1.0 + (c * (x + 0.044_715 * x * x * x)).tanh())
            }
            Self::Mish => x * (x.max(0.0) + (-x.abs()).exp().ln_1p()).tanh(),
            Self::Pow { exponent } => x.powf(exponent.get()),
            Self::ThresholdedRelu { alpha } => {
                if x > alpha.get() {
                    x
                } else {
                    0.0
                }
            }
            Self::Sin => x.sin(),
            Self::Cos => x.cos(),
            Self::Step => f64::from(u8::from(x > 0.0)),
            Self::StepInclusive => f64::from(u8::from(x >= 0.0)),
            Self::IsZero => f64::from(u8::from(x == 0.0)),
            Self::Trunc => x.trunc(),
            Self::Tan => x.tan(),
            Self::Asin => x.asin(),
            Self::Acos => x.acos(),
            Self::Atan => x.atan(),
            Self::Sinh => x.sinh(),
            Self::Cosh => x.cosh(),
            Self::Asinh => x.asinh(),
            Self::Acosh => x.acosh(),
            Self::Atanh => x.atanh(),
            Self::Dequantize { step, lo, hi, .. } => {
                step.get() * x.round_ties_even().clamp(lo.get(), hi.get())
            }
            Self::Shrink { lambd, bias } => {
                if x > lambd.get() {
                    x - bias.get()
                } else if x < -lambd.get() {
                    x + bias.get()
                } else {
                    0.0
                }
            }
        }
    }

    /// The function at a quantized point: inputs outside a function's domain near zero (log,
    /// rsqrt, reciprocal) read as the smallest positive value `2^-scale`, and results are
    /// clamped to `±SATURATION` (a non-real result reads as zero).
    fn eval_quantized(self, x: f64, scale: u32) -> f64 {
        let tiny = 1.0 / (1u64 << scale) as f64;
        let x = match self {
            Self::Log | Self::Rsqrt if x < tiny => tiny,
            Self::Reciprocal if x.abs() < tiny => tiny,
            _ => x,
        };
        let y = self.eval(x);
        if y.is_nan() {
            0.0
        } else {
            y.clamp(-SATURATION, SATURATION)
        }
    }

    /// The function on a quantized value at `scale` fractional bits (input and output alike).
    pub fn apply(self, x: i128, scale: u32) -> i128 {
        match self {
            Self::Identity => x,
            Self::Relu => x.max(0),
            Self::Abs => x.abs(),
            Self::Neg => -x,
            Self::Sign => x.signum() << scale,
            Self::Step => i128::from(x > 0) << scale,
            Self::StepInclusive => i128::from(x >= 0) << scale,
            Self::IsZero => i128::from(x == 0) << scale,
            Self::Trunc => ((x.abs() >> scale) << scale) * x.signum(),
            Self::Floor => x.div_euclid(1 << scale) << scale,
            Self::Ceil => -((-x).div_euclid(1 << scale) << scale),
            // `x` is a count of steps at `fraction` bits, the result at `scale`.
            Self::Dequantize {
                step,
                lo,
                hi,
                fraction,
            } => {
                let n = (x as f64 / (1u64 << fraction) as f64).round_ties_even();
                (step.get() * n.clamp(lo.get(), hi.get()) * (1u64 << scale) as f64).round() as i128
            }
            _ => {
                let unit = (1u64 << scale) as f64;
                (self.eval_quantized(x as f64 / unit, scale) * unit).round() as i128
            }
        }
    }

    /// The function on a value at `scale` fractional bits, its result at `scale + gain` (a
    /// finer output scale for functions that compress their range: sigmoid, tanh, exp of
    /// non-positive values, …). `gain` 0 is [`Self::apply`].
    pub fn apply_gain(self, x: i128, scale: u32, gain: u32) -> i128 {
        if gain == 0 || self.is_exact() {
            return self.apply(x, scale) << gain;
        }
        let unit = (1u64 << scale) as f64;
        let out = (1u64 << (scale + gain)) as f64;
        (self.eval_quantized(x as f64 / unit, scale) * out).round() as i128
    }

    /// Whether [`Self::apply`] is an exact integer form (piecewise linear, commuting with
    /// scaling): a finer output scale gains such a function nothing.
    pub fn is_exact(self) -> bool {
        matches!(
            self,
            Self::Identity
                | Self::Relu
                | Self::Abs
                | Self::Neg
                | Self::Sign
                | Self::Step
                | Self::StepInclusive
                | Self::IsZero
                | Self::Floor
                | Self::Ceil
                | Self::Trunc
        )
    }

    /// Whether a finer output scale gains `self` nothing at `scale` fractional bits: an exact
    /// form, or a clip whose bounds are whole multiples of `2^−scale` (its outputs are then
    /// its inputs, clamped: ReLU6 at any scale).
    pub fn exact_at(self, scale: u32) -> bool {
        match self {
            Self::Clip { min, max } => [min.get(), max.get()].iter().all(|b| {
                let v = b * (1u64 << scale.min(62)) as f64;
                v.is_finite() && v == v.round()
            }),
            // Its input is a count of steps, whatever the scale: a gain would misread it.
            Self::Dequantize { .. } => true,
            _ => self.is_exact(),
        }
    }

    /// Whether the function is the same on raw values at every scale (its table can take
    /// inputs at any scale, its outputs are at the inputs' scale).
    pub fn is_scale_free(self) -> bool {
        matches!(self, Self::Identity | Self::Relu | Self::Abs | Self::Neg)
    }

    /// Whether the function reads only its input's sign or whether it is zero (its output
    /// at the table's scale whatever the input's: a table can take inputs at any scale).
    pub fn reads_sign_only(self) -> bool {
        matches!(
            self,
            Self::Sign | Self::Step | Self::StepInclusive | Self::IsZero
        )
    }

    /// The function on a float.
    pub fn apply_f32(self, x: f32) -> f32 {
        self.eval(f64::from(x)) as f32
    }
}

/// The error function (Abramowitz and Stegun 7.1.26 refined by one Newton step on the
/// complementary series is not needed: absolute error below 1.5e-7, far under any scale used).
pub fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let y = 1.0 - poly * (-x * x).exp();
    if x >= 0.0 {
        y
    } else {
        -y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dequantize_reads_counts_at_its_fraction_rounds_ties_to_even_and_clamps() {
        let act = |fraction| Activation::Dequantize {
            step: Param::new(0.25),
            lo: Param::new(-2.0),
            hi: Param::new(3.0),
            fraction,
        };
        // Counts at 1 fractional bit: 5 is 2.5 (ties to 2), 7 is 3.5 (to 4, clamped to 3),
        // −3 is −1.5 (to −2); results at 4 bits (0.25 = 4/16).
        assert_eq!(act(1).apply(5, 4), 8);
        assert_eq!(act(1).apply(7, 4), 12);
        assert_eq!(act(1).apply(-3, 4), -8);
        assert_eq!(act(1).apply(-9, 4), -8);
        // At 0 bits a count is whole; the float form reads steps.
        assert_eq!(act(0).apply(1, 4), 4);
        assert_eq!(act(0).eval(2.5), 0.5);
        assert_eq!(act(0).eval(-7.0), -0.5);
        // A gain would misread the counts: none is given.
        assert!(act(0).exact_at(8));
    }

    #[test]
    fn erf_is_accurate() {
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.520_499_877_8),
            (1.0, 0.842_700_792_9),
            (-2.0, -0.995_322_265_0),
        ] {
            assert!((erf(x) - want).abs() < 2e-7, "erf({x}) = {}", erf(x));
        }
    }

    #[test]
    fn quantized_forms_round_the_real_function() {
        let s = 6;
        assert_eq!(Activation::Sigmoid.apply(0, s), 32);
        assert_eq!(Activation::Neg.apply(-5, s), 5);
        assert_eq!(
            Activation::LeakyRelu {
                alpha: Param::new(0.1)
            }
            .apply(-64, s),
            -6
        );
        let clip = Activation::Clip {
            min: Param::new(-1.0),
            max: Param::new(1.5),
        };
        assert_eq!((clip.apply(-200, s), clip.apply(200, s)), (-64, 96));
        assert_eq!(Activation::Floor.apply(-65, s), -128);
        assert_eq!(Activation::Ceil.apply(-65, s), -64);
        assert_eq!(Activation::Ceil.apply(65, s), 128);
        assert_eq!(Activation::Trunc.apply(-65, s), -64);
        assert_eq!(Activation::Trunc.apply(-63, s), 0);
        assert_eq!(Activation::Trunc.apply(130, s), 128);
        assert_eq!(Activation::Round.apply(96, s), 128); // 1.5 -> 2
        assert_eq!(Activation::Round.apply(160, s), 128); // 2.5 -> 2 (ties to even)
        assert_eq!(Activation::Sign.apply(-3, s), -64);
        assert_eq!(Activation::Exp.apply(0, s), 64);
        assert_eq!(Activation::Log.apply(64, s), 0);
        // Outside the domain near zero: the smallest positive value, not infinity.
        assert_eq!(Activation::Log.apply(0, s), Activation::Log.apply(1, s));
        assert_eq!(Activation::Reciprocal.apply(0, s), 64 * 64);
        assert_eq!(Activation::Rsqrt.apply(256, s), 32);
        assert_eq!(Activation::Sqrt.apply(-5, s), 0);
        let pow = Activation::Pow {
            exponent: Param::new(0.5),
        };
        assert_eq!(pow.apply(-64, s), 0); // not real: zero
        assert_eq!(
            Activation::Exp.apply(64 * 100, s),
            (SATURATION * 64.0) as i128
        );
        let json = serde_json::to_string(&clip).unwrap();
        assert_eq!(json, r#"{"fn":"clip","min":-1.0,"max":1.5}"#);
        assert_eq!(serde_json::from_str::<Activation>(&json).unwrap(), clip);
    }
}
