//! Encryption to a buyer's key for the prompt marketplace, natively: Diffie–Hellman on Grumpkin
//! and a Poseidon duplex cipher keyed by the shared point.
//!
//! Grumpkin (`y² = x³ − 17`) is the curve whose base field is BN254's scalar field, so its points
//! are pairs of our circuit's native field elements and its arithmetic costs no emulation
//! in-circuit. A buyer's secret key is a scalar `sk`, the public key `PK = sk·G`. The seller picks
//! an ephemeral scalar `r`, publishes `R = r·G`, and both sides derive the shared point
//! `S = r·PK = sk·R`.
//!
//! The cipher is the Poseidon duplex construction of Khovratovich's "Encryption with Poseidon",
//! over snarkml's one Poseidon permutation (width 3, rate 2):
//!
//! ```text
//! state = [len · 2^128 + nonce, S.x, S.y]
//! for each pair (m₁, m₂) of the message (the last padded with 0):
//!     state = P(state); state[1] += m₁; state[2] += m₂; emit state[1], state[2]
//! state = P(state); emit state[1]                         (the authentication tag)
//! ```
//!
//! Decryption replays the duplex, subtracting the keystream and overwriting the state with the
//! ciphertext; it fails unless the tag matches and the padding is zero, so a ciphertext for
//! another key, another length or another nonce is detected.

use crate::poseidon::{permute, T};
use crate::Fr;
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::Curve;
use halo2_proofs::halo2curves::grumpkin::{self, G1Affine as GrumpkinAffine, G1 as Grumpkin};
use halo2_proofs::halo2curves::{Coordinates, CurveAffine};

/// A Grumpkin scalar (the curve's scalar field, BN254's base field).
pub type Scalar = grumpkin::Fr;

/// A Grumpkin point in affine coordinates, both native field elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    /// `x`.
    pub x: Fr,
    /// `y`.
    pub y: Fr,
}

impl Point {
    /// The point, unless it is not on the curve (or is the identity, which has no affine form).
    pub fn new(x: Fr, y: Fr) -> Option<Self> {
        let p: Option<GrumpkinAffine> = GrumpkinAffine::from_xy(x, y).into();
        p.and_then(Self::from_affine)
    }

    fn affine(self) -> GrumpkinAffine {
        GrumpkinAffine::from_xy(self.x, self.y).expect("checked on construction")
    }

    fn from_affine(p: GrumpkinAffine) -> Option<Self> {
        if bool::from(p.is_identity()) {
            return None;
        }
        let c: Option<Coordinates<GrumpkinAffine>> = p.coordinates().into();
        c.map(|c| Self {
            x: *c.x(),
            y: *c.y(),
        })
    }

    /// `self + other`; `None` when the sum is the identity (`other = −self`).
    pub fn checked_add(self, other: Self) -> Option<Self> {
        Self::from_affine((Grumpkin::from(self.affine()) + other.affine()).to_affine())
    }

    /// `k · self`; `None` when the result is the identity (`k = 0`).
    pub fn scale(self, k: Scalar) -> Option<Self> {
        Self::from_affine((Grumpkin::from(self.affine()) * k).to_affine())
    }
}

impl std::ops::Neg for Point {
    type Output = Self;

    /// `−self`.
    fn neg(self) -> Self {
        Self {
            x: self.x,
            y: -self.y,
        }
    }
}

/// The generator `G = (1, √−16)`.
pub fn generator() -> Point {
    Point::from_affine(GrumpkinAffine::generator()).expect("the generator is not the identity")
}

/// `k·G`; `None` when `k = 0`.
pub fn public_key(k: Scalar) -> Option<Point> {
    generator().scale(k)
}

/// The offset point `H` of in-circuit scalar multiplication: the first point whose `x` is
/// `Poseidon("snarkml offset H") + i` for `i = 0, 1, …`, with the even `y`. Nobody knows its
/// discrete logarithm to `G`, so honest scalar multiplications never meet the exceptional
/// cases of incomplete addition.
pub fn offset_point() -> Point {
    static H: std::sync::OnceLock<Point> = std::sync::OnceLock::new();
    *H.get_or_init(|| {
        let label = Fr::from_u128(u128::from_be_bytes(*b"snarkml offset H"));
        let mut x = crate::poseidon::hash(&[label]);
        loop {
            let y: Option<Fr> = (x.cube() - Fr::from(17)).sqrt().into();
            if let Some(y) = y {
                let y = if y.is_odd().into() { -y } else { y };
                if let Some(p) = Point::new(x, y) {
                    return p;
                }
            }
            x += Fr::ONE;
        }
    })
}

/// A random non-zero scalar.
pub fn random_scalar(rng: impl rand::RngCore) -> Scalar {
    let mut rng = rng;
    loop {
        let k = Scalar::random(&mut rng);
        if !bool::from(k.is_zero()) {
            return k;
        }
    }
}

/// A scalar from the bits of a native field element: every `Fr` value is below BN254's base
/// modulus, so the map is injective (the scalars the circuit takes from 254 witnessed bits).
pub fn scalar_from_field(f: Fr) -> Scalar {
    let mut repr = <Scalar as PrimeField>::Repr::default();
    repr.as_mut().copy_from_slice(f.to_repr().as_ref());
    Option::from(Scalar::from_repr(repr)).expect("Fr values are below the Grumpkin scalar modulus")
}

fn initial_state(len: usize, nonce: Fr, key: Point) -> [Fr; T] {
    let domain = Fr::from(len as u64) * Fr::from_u128(1u128 << 64).square() + nonce;
    [domain, key.x, key.y]
}

/// Encrypts `message` under the shared point `key` with `nonce`: `2·⌈len/2⌉` blocks, then the tag.
pub fn encrypt(message: &[Fr], key: Point, nonce: Fr) -> Vec<Fr> {
    let state = initial_state(message.len(), nonce, key);
    crate::poseidon::encrypt_with(&mut crate::poseidon::Native, state, message)
}

/// Decrypts a ciphertext of a `len`-element message; `None` unless it was made under `key`
/// and `nonce` for that length.
pub fn decrypt(ciphertext: &[Fr], len: usize, key: Point, nonce: Fr) -> Option<Vec<Fr>> {
    let blocks = len.div_ceil(2) * 2;
    if ciphertext.len() != blocks + 1 {
        return None;
    }
    let mut state = initial_state(len, nonce, key);
    let mut message = Vec::with_capacity(blocks);
    for pair in ciphertext[..blocks].chunks(2) {
        permute(&mut state);
        message.extend([pair[0] - state[1], pair[1] - state[2]]);
        state[1] = pair[0];
        state[2] = pair[1];
    }
    permute(&mut state);
    if state[1] != ciphertext[blocks] || message[len..].iter().any(|m| *m != Fr::ZERO) {
        return None;
    }
    message.truncate(len);
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(5)
    }

    #[test]
    fn diffie_hellman_agrees_and_points_are_checked() {
        let mut rng = rng();
        let (sk, r) = (random_scalar(&mut rng), random_scalar(&mut rng));
        let pk = public_key(sk).unwrap();
        let big_r = public_key(r).unwrap();
        assert_eq!(pk.scale(r), big_r.scale(sk));
        let g = generator();
        assert_eq!(g.x, Fr::ONE);
        // y² = x³ − 17 holds for the generator; a point off the curve is refused.
        assert_eq!(g.y.square(), g.x.cube() - Fr::from(17));
        assert!(Point::new(g.x, g.y + Fr::ONE).is_none());
        assert!(public_key(Scalar::ZERO).is_none());
        assert!(
            Point::new(Fr::ZERO, Fr::ZERO).is_none(),
            "the identity has no affine form"
        );
        assert_eq!(Point::new(g.x, g.y), Some(g));
    }

    #[test]
    fn encryption_round_trips_and_detects_another_key_length_or_nonce() {
        let mut rng = rng();
        let key = public_key(random_scalar(&mut rng)).unwrap();
        let other = public_key(random_scalar(&mut rng)).unwrap();
        for len in [0usize, 1, 2, 5] {
            let message: Vec<Fr> = (0..len as u64).map(|i| Fr::from(100 + i)).collect();
            let c = encrypt(&message, key, Fr::from(9));
            assert_eq!(c.len(), len.div_ceil(2) * 2 + 1);
            assert_eq!(decrypt(&c, len, key, Fr::from(9)), Some(message.clone()));
            assert_eq!(decrypt(&c, len, other, Fr::from(9)), None);
            assert_eq!(decrypt(&c, len, key, Fr::from(10)), None);
            let mut tampered = c.clone();
            tampered[0] += Fr::ONE;
            assert_eq!(decrypt(&tampered, len, key, Fr::from(9)), None);
        }
        // An odd-length message cannot be read back as the next even length.
        let c = encrypt(&[Fr::from(1), Fr::from(2), Fr::from(3)], key, Fr::ZERO);
        assert_eq!(decrypt(&c, 4, key, Fr::ZERO), None);
    }

    #[test]
    fn points_add_and_negate_like_scalars() {
        let g = generator();
        let h = offset_point();
        assert!(bool::from(h.y.is_even()));
        assert_eq!(Point::new(h.x, h.y), Some(h));
        assert_eq!(g.checked_add(g), g.scale(Scalar::from(2)));
        assert_eq!(g.checked_add(-g), None);
        assert_eq!(
            g.scale(Scalar::from(5)).unwrap().checked_add(-g),
            g.scale(Scalar::from(4))
        );
    }

    #[test]
    fn field_elements_map_to_distinct_scalars() {
        let f = -Fr::ONE;
        let s = scalar_from_field(f);
        assert_ne!(s, Scalar::ZERO);
        assert_eq!(scalar_from_field(Fr::from(7)), Scalar::from(7));
    }
}
