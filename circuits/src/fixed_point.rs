//! Fixed-point arithmetic shared by the reference execution and the circuit layout, so the
//! two can never disagree on rounding.

use crate::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;

/// Quantizes a float at `scale_bits` fractional bits, rounding to nearest.
pub fn quantize(x: f32, scale_bits: u32) -> i64 {
    (f64::from(x) * (1u64 << scale_bits) as f64).round() as i64
}

/// Dequantizes an integer at `scale_bits` fractional bits.
pub fn dequantize(q: i64, scale_bits: u32) -> f64 {
    q as f64 / (1u64 << scale_bits) as f64
}

/// Divides `acc` by `2^shift`, rounding half up: returns `(q, r)` with
/// `acc + 2^(shift-1) = q·2^shift + r` and `0 ≤ r < 2^shift`.
pub fn rescale(acc: i128, shift: u32) -> (i128, i128) {
    let half = if shift == 0 { 0 } else { 1i128 << (shift - 1) };
    let shifted = acc + half;
    let div = 1i128 << shift;
    (shifted.div_euclid(div), shifted.rem_euclid(div))
}

/// The field element of a signed integer (negatives wrap to `p - |v|`).
pub fn to_field(v: i128) -> Fr {
    let mag = Fr::from_u128(v.unsigned_abs());
    if v < 0 {
        -mag
    } else {
        mag
    }
}

/// The signed integer of a field element in `(-2^127, 2^127)`, or `None` when it is not one.
pub fn from_field(f: &Fr) -> Option<i128> {
    let small = |x: &Fr| -> Option<u128> {
        let repr = x.to_repr();
        let bytes = repr.as_ref();
        if bytes[16..].iter().any(|b| *b != 0) {
            return None;
        }
        let mut le = [0u8; 16];
        le.copy_from_slice(&bytes[..16]);
        let v = u128::from_le_bytes(le);
        (v < (1u128 << 127)).then_some(v)
    };
    if let Some(v) = small(f) {
        return Some(v as i128);
    }
    small(&-*f).map(|v| -(v as i128))
}

/// A field element as 32 big-endian bytes, hex with `0x` (the EVM's `uint256` layout).
pub fn field_to_hex(f: &Fr) -> String {
    let mut bytes = f.to_repr().as_ref().to_vec();
    bytes.reverse();
    format!("0x{}", hex::encode(bytes))
}

/// Parses a field element from `0x`-prefixed big-endian hex of at most 32 bytes.
pub fn field_from_hex(s: &str) -> Option<Fr> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    if digits.len() > 64 {
        return None;
    }
    let padded = format!("{digits:0>64}");
    let mut bytes = hex::decode(padded).ok()?;
    bytes.reverse();
    let mut repr = <Fr as PrimeField>::Repr::default();
    repr.as_mut().copy_from_slice(&bytes);
    Option::from(Fr::from_repr(repr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescale_rounds_half_up_for_both_signs() {
        assert_eq!(rescale(5, 1), (3, 0)); // 2.5 -> 3
        assert_eq!(rescale(-5, 1), (-2, 0)); // -2.5 -> -2
        assert_eq!(rescale(-6, 2), (-1, 0)); // -1.5 -> -1: -6 + 2 = -1·4 + 0
        assert_eq!(rescale(-7, 2), (-2, 3)); // -1.75 -> -2: -7 + 2 = -2·4 + 3
        for acc in -300i128..300 {
            let (q, r) = rescale(acc, 4);
            assert!((0..16).contains(&r));
            assert_eq!(q * 16 + r, acc + 8);
        }
    }

    #[test]
    fn field_round_trips_signed_values_and_hex() {
        for v in [
            0i128,
            1,
            -1,
            12345,
            -98765,
            i64::MAX as i128,
            -(1i128 << 100),
        ] {
            let f = to_field(v);
            assert_eq!(from_field(&f), Some(v));
            assert_eq!(field_from_hex(&field_to_hex(&f)), Some(f));
        }
        assert_eq!(field_from_hex("0xzz"), None);
    }
}
