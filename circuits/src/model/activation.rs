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
}

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
        }
    }

    /// The function on a quantized value at `scale` fractional bits (input and output alike).
    pub fn apply(self, x: i128, scale: u32) -> i128 {
        match self {
            Self::Identity => x,
            Self::Relu => x.max(0),
            Self::Abs => x.abs(),
            Self::Neg => -x,
            _ => {
                let unit = (1u64 << scale) as f64;
                (self.eval(x as f64 / unit) * unit).round() as i128
            }
        }
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
        let json = serde_json::to_string(&clip).unwrap();
        assert_eq!(json, r#"{"fn":"clip","min":-1.0,"max":1.5}"#);
        assert_eq!(serde_json::from_str::<Activation>(&json).unwrap(), clip);
    }
}
