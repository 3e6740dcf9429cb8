//! Fixed-point arithmetic shared by the reference execution and the circuit layout, so the
//! two can never disagree on rounding.

use crate::Fr;
use halo2_proofs::halo2curves::ff::{Field, PrimeField};

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

/// Divides two values at `scale` fractional bits, rounding half up: for `b > 0` returns
/// `(q, r)` with `2^(scale+1)·a + b = 2·q·b + r` and `0 ≤ r < 2b`, so `q = round(a·2^scale / b)`
/// is the quotient at the same scale.
pub fn divide(a: i128, b: i128, scale: u32) -> (i128, i128) {
    let num = (a << (scale + 1)) + b;
    let den = 2 * b;
    (num.div_euclid(den), num.rem_euclid(den))
}

/// The field element of a signed integer (negatives wrap to `p - |v|`).
pub fn to_field(v: i128) -> Fr {
    // One Montgomery multiplication (`from_u128` doubles 64 times: it was most of the
    // compile time of a large model, which converts every weight of every row).
    let m = v.unsigned_abs();
    let mag = Fr::from_raw([m as u64, (m >> 64) as u64, 0, 0]);
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

/// Whether `v` is a signed value of `bits` bits: `−2^(bits−1) ≤ v < 2^(bits−1)`.
pub fn fits_signed(v: i128, bits: u32) -> bool {
    let half = 1i128 << bits.saturating_sub(1);
    bits > 0 && (-half..half).contains(&v)
}

/// Signed values of `bits` bits each that fit one instance: `bits · n ≤ 252`, so the packed
/// integer stays below `p / 2` and packing is injective.
pub fn values_per_instance(bits: u32) -> usize {
    (252 / bits.max(1)) as usize
}

/// Packs signed values, each in `[-2^(bits-1), 2^(bits-1))`, into field elements:
/// `values_per_instance(bits)` per element, Horner in base `2^bits` (first value most
/// significant). The circuit computes the same with chained dot-product rows.
pub fn pack(values: &[i64], bits: u32) -> Vec<Fr> {
    let base = Fr::from_u128(1u128 << bits);
    values
        .chunks(values_per_instance(bits))
        .map(|chunk| {
            chunk
                .iter()
                .fold(Fr::ZERO, |acc, v| acc * base + to_field(i128::from(*v)))
        })
        .collect()
}

/// The inverse of [`pack`]: the `count` signed values of `bits` bits packed into `fields`, or
/// `None` when the fields are not exactly such a packing (another count of fields, a field
/// out of range). Offsetting every value by `2^(bits-1)` makes the packed integer the
/// non-negative `Σ (v + 2^(bits-1))·2^(bits·j)`, below `2^(bits·n) ≤ 2^252`, whose base-`2^bits`
/// digits are read off its bytes.
pub fn unpack(fields: &[Fr], bits: u32, count: usize) -> Option<Vec<i64>> {
    if !(1..=64).contains(&bits) {
        return None;
    }
    let per = values_per_instance(bits);
    if fields.len() != count.div_ceil(per) {
        return None;
    }
    let half = 1u128 << (bits - 1);
    let base = Fr::from_u128(1u128 << bits);
    let mut out = Vec::with_capacity(count);
    for (i, f) in fields.iter().enumerate() {
        let n = per.min(count - i * per);
        let offset = (0..n).fold(Fr::ZERO, |acc, _| acc * base + Fr::from_u128(half));
        let repr = (*f + offset).to_repr();
        let bytes = repr.as_ref();
        let bit = |b: usize| (bytes[b / 8] >> (b % 8)) & 1 == 1;
        let used = bits as usize * n;
        if (used..256).any(bit) {
            return None;
        }
        // Digit `j` (least significant first) is value `n - 1 - j` of the chunk.
        let mut chunk: Vec<i64> = (0..n)
            .map(|j| {
                let start = j * bits as usize;
                let digit = (0..bits as usize)
                    .filter(|k| bit(start + k))
                    .fold(0u128, |acc, k| acc | (1u128 << k));
                (digit as i128 - half as i128) as i64
            })
            .collect();
        chunk.reverse();
        out.extend(chunk);
    }
    Some(out)
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
            i128::MAX,
            i128::MIN + 1,
        ] {
            let f = to_field(v);
            // The field's own conversion, by definition.
            let mag = Fr::from_u128(v.unsigned_abs());
            assert_eq!(f, if v < 0 { -mag } else { mag });
            assert_eq!(from_field(&f), Some(v));
            assert_eq!(field_from_hex(&field_to_hex(&f)), Some(f));
        }
        assert_eq!(field_from_hex("0xzz"), None);
    }

    #[test]
    fn packing_is_injective_in_range_and_chunks_by_capacity() {
        let bits = 9;
        let n = values_per_instance(bits); // 28
        let values: Vec<i64> = (0..(n as i64 + 3)).map(|i| (i * 37 % 511) - 255).collect();
        let packed = pack(&values, bits);
        assert_eq!(packed.len(), 2);
        // Changing any one value changes its packed element.
        for i in 0..values.len() {
            let mut v = values.clone();
            v[i] += 1;
            assert_ne!(pack(&v, bits), packed, "value {i}");
        }
        // Exhaustively injective on the whole signed range for a small width.
        let mut seen = std::collections::HashSet::new();
        for a in -4i64..4 {
            for b in -4i64..4 {
                for c in -4i64..4 {
                    assert!(
                        seen.insert(field_to_hex(&pack(&[a, b, c], 3)[0])),
                        "({a}, {b}, {c})"
                    );
                }
            }
        }
    }

    #[test]
    fn unpacking_inverts_packing_and_refuses_what_is_no_packing() {
        for bits in [1u32, 3, 9, 17, 63, 64] {
            let lo = -(1i128 << (bits - 1));
            let hi = (1i128 << (bits - 1)) - 1;
            let n = values_per_instance(bits) * 2 + 1;
            let values: Vec<i64> = (0..n as i128)
                .map(|i| [lo, hi, 0, -1, 1][i as usize % 5].clamp(lo, hi) as i64)
                .collect();
            let packed = pack(&values, bits);
            assert_eq!(
                unpack(&packed, bits, n),
                Some(values.clone()),
                "{bits} bits"
            );
            // Another count, or a field past the chunk's capacity, is no packing.
            assert_eq!(unpack(&packed, bits, n + values_per_instance(bits)), None);
            let mut over = packed.clone();
            over[0] += Fr::from_u128(1u128 << 126).square(); // 2^252: past any chunk
            assert_eq!(unpack(&over, bits, n), None, "{bits} bits");
        }
        assert_eq!(unpack(&[-Fr::ONE], 8, 1), Some(vec![-1]));
        assert_eq!(unpack(&[Fr::from(128)], 8, 1), None, "128 needs 9 bits");
        assert_eq!(unpack(&[], 0, 0), None);
    }
}
