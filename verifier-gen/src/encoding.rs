//! Field elements and G1 points as the EVM reads them: 32 bytes per scalar or coordinate,
//! big-endian, points as `x ‖ y` (what proofs, artifacts and calldata all use).

use halo2_proofs::halo2curves::bn256::{Fq, Fq2, G2Affine};
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::halo2curves::{Coordinates, CurveAffine};

/// A scalar's 32 big-endian bytes.
pub(crate) fn scalar_to_be(f: &Fr) -> [u8; 32] {
    let mut b = f.to_repr();
    b.reverse();
    b
}

/// The scalar of 32 big-endian bytes, if below the modulus.
pub(crate) fn scalar_from_be(bytes: &[u8]) -> Option<Fr> {
    let mut b: [u8; 32] = bytes.try_into().ok()?;
    b.reverse();
    Fr::from_repr(b).into()
}

/// A point's 64 bytes `x ‖ y`; the identity (no affine coordinates) as `(0, 0)`, as the EVM's
/// precompiles encode it.
pub(crate) fn point_to_be(p: &G1Affine) -> [u8; 64] {
    let c: Option<Coordinates<G1Affine>> = p.coordinates().into();
    let (x, y) = c.map_or_else(Default::default, |c| (c.x().to_repr(), c.y().to_repr()));
    let mut out = [0u8; 64];
    for (half, mut coordinate) in out.chunks_mut(32).zip([x, y]) {
        coordinate.reverse();
        half.copy_from_slice(&coordinate);
    }
    out
}

/// The base-field element of 32 big-endian bytes, if below the modulus.
pub(crate) fn coordinate_from_be(bytes: &[u8]) -> Option<Fq> {
    let mut le: [u8; 32] = bytes.try_into().ok()?;
    le.reverse();
    Fq::from_repr(le).into()
}

/// The affine point of 64 bytes `x ‖ y`, if both coordinates are canonical and the point is
/// on the curve (`(0, 0)`, the identity's encoding, is not).
pub(crate) fn point_from_be(bytes: &[u8]) -> Option<G1Affine> {
    let x = coordinate_from_be(bytes.get(..32)?)?;
    let y = coordinate_from_be(bytes.get(32..64)?)?;
    G1Affine::from_xy(x, y).into()
}

/// A G2 point's 128 bytes as the pairing precompile reads them (EIP-197): `x.c1 ‖ x.c0 ‖
/// y.c1 ‖ y.c0`.
pub(crate) fn g2_to_be(p: &G2Affine) -> [u8; 128] {
    let mut out = [0u8; 128];
    for (word, c) in out.chunks_mut(32).zip([p.x.c1, p.x.c0, p.y.c1, p.y.c0]) {
        let mut b = c.to_repr();
        b.reverse();
        word.copy_from_slice(&b);
    }
    out
}

/// The G2 point of [`g2_to_be`]'s bytes, if canonical and on the curve.
pub(crate) fn g2_from_be(bytes: &[u8]) -> Option<G2Affine> {
    let c = |i: usize| coordinate_from_be(bytes.get(32 * i..32 * i + 32)?);
    let x = Fq2 {
        c0: c(1)?,
        c1: c(0)?,
    };
    let y = Fq2 {
        c0: c(3)?,
        c1: c(2)?,
    };
    G2Affine::from_xy(x, y).into()
}
