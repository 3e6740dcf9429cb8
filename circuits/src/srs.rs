//! Structured reference strings: our file format (a header naming the SRS as development-only
//! or not, then halo2's KZG parameters), generation for development, loading and trimming.
//!
//! A development SRS is recognised by its points as well as by its header's flag: loading
//! compares `[τ]G1` with that of every development seed below [`DEV_SEEDS`] (see
//! [`development_seed`]), so clearing the flag byte does not make our own development SRS
//! pass for a ceremony one.

use crate::error::{CircuitError, Result};
use crate::{Bn256, Fr, G1Affine};
use halo2_proofs::arithmetic::parallelize;
use halo2_proofs::halo2curves::bn256::{pairing, G2Affine, G1, G2};
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::halo2curves::group::cofactor::CofactorGroup;
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::{Curve, Group, GroupEncoding};
use halo2_proofs::halo2curves::serde::SerdeObject;
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use rand::SeedableRng;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::OnceLock;

const MAGIC: &[u8; 8] = b"SNKMLSRS";
const VERSION: u8 = 1;
const FLAG_INSECURE: u8 = 1;
pub use crate::model::MAX_K;
/// The development seeds: `snarkml srs gen --seed` takes one below this, and an SRS made from
/// one of them is recognised by its points (see [`development_seed`]).
pub const DEV_SEEDS: u64 = 256;

/// A loaded SRS.
#[derive(Clone, Debug)]
pub struct Srs {
    /// halo2's KZG parameters.
    pub params: ParamsKZG<Bn256>,
    /// True for a development SRS whose secret is known: its file's flag says so, or its points
    /// are those of a development seed whatever the flag says (see [`development_seed`]).
    pub insecure: bool,
}

impl Srs {
    /// Generates a development SRS of `2^k` points from `seed`. Anyone who knows the seed can
    /// forge proofs: for tests and demos only. Only an SRS of a seed below [`DEV_SEEDS`] (all
    /// the CLI makes) is recognised by its points when its flag is cleared.
    pub fn generate_insecure(k: u32, seed: u64) -> Result<Self> {
        if !(1..=MAX_K).contains(&k) {
            return Err(CircuitError::Srs {
                reason: format!("k={k} is out of range 1..={MAX_K}"),
            });
        }
        Ok(Self {
            params: params_from_tau(k, dev_tau(seed)),
            insecure: true,
        })
    }

    /// The development seed these points were generated from, if it is below [`DEV_SEEDS`]
    /// (see [`development_seed`]).
    pub fn development_seed(&self) -> Option<u64> {
        development_seed(&self.params)
    }

    /// `log2` of the number of points.
    pub fn k(&self) -> u32 {
        self.params.k()
    }

    /// An identifier of the SRS that does not change when it is trimmed: the SHA-256 of
    /// `[τ]G1` and `[τ]G2`.
    pub fn id(&self) -> String {
        srs_id(&self.params)
    }

    /// A copy trimmed to `2^k` points.
    pub fn trimmed(&self, k: u32) -> Result<ParamsKZG<Bn256>> {
        if k > self.k() {
            return Err(CircuitError::SrsTooSmall {
                need: k,
                have: self.k(),
            });
        }
        let mut params = self.params.clone();
        if k < self.k() {
            params.downsize(k);
        }
        Ok(params)
    }

    /// Writes the SRS in our file format.
    pub fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
        write_params(w, &self.params, self.insecure)
    }

    /// Parses an SRS file's bytes written by [`Srs::write`] (or by [`write_params`]).
    pub fn from_bytes(data: &[u8]) -> Result<Self> {
        let (params, insecure) = read_params(data)?;
        Ok(Self { params, insecure })
    }

    /// Parses only the first `2^k` points of an SRS file's bytes (fast when the SRS is much
    /// larger).
    pub fn from_bytes_trimmed(data: &[u8], k: u32) -> Result<Self> {
        let (params, insecure) = read_params_trimmed(data, Some(k))?;
        Ok(Self { params, insecure })
    }
}

/// The secret τ of the development SRS of `seed`. It is drawn exactly as halo2's
/// `ParamsKZG::setup` draws it, so [`Srs::generate_insecure`] gives the same SRS as halo2,
/// computed with fixed-base tables instead of one full scalar multiplication per point.
fn dev_tau(seed: u64) -> Fr {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    Fr::random(&mut rng)
}

/// `[τ]G1` of the development SRS of each seed below [`DEV_SEEDS`], in seed order (computed
/// once per process: 256 scalar multiplications).
fn dev_tau_g1() -> &'static [G1Affine] {
    static POINTS: OnceLock<Vec<G1Affine>> = OnceLock::new();
    POINTS.get_or_init(|| {
        let g1 = G1::generator();
        let projective: Vec<G1> = (0..DEV_SEEDS).map(|seed| g1 * dev_tau(seed)).collect();
        let mut affine = vec![G1Affine::identity(); projective.len()];
        G1::batch_normalize(&projective, &mut affine);
        affine
    })
}

/// The development seed whose `[τ]G1` is `tau_g1`, if one below [`DEV_SEEDS`] is.
fn dev_seed_of(tau_g1: &G1Affine) -> Option<u64> {
    dev_tau_g1()
        .iter()
        .position(|p| p == tau_g1)
        .map(|i| i as u64)
}

/// The development seed of `params`: `Some(seed)` when their `[τ]G1` is that of
/// [`Srs::generate_insecure`]`(_, seed)` for a seed below [`DEV_SEEDS`], so the secret is
/// known whatever a file's flag says.
///
/// This catches our own development SRS (every seed `snarkml srs gen` accepts, the default
/// 0 included) whatever its flag byte, not arbitrary insecure SRS files: an SRS made from
/// another seed, or from any τ someone kept, looks like a ceremony one and is only as good
/// as where it came from.
pub fn development_seed(params: &ParamsKZG<Bn256>) -> Option<u64> {
    params.get_g().get(1).and_then(dev_seed_of)
}

/// KZG parameters of `2^k` points for the secret `tau`: `[τ^i]G1`, the Lagrange basis
/// `[L_i(τ)]G1`, `G2` and `[τ]G2`.
pub fn params_from_tau(k: u32, tau: Fr) -> ParamsKZG<Bn256> {
    let n = 1usize << k;
    let g1 = G1Affine::generator();
    let table = FixedBase::new(g1.to_curve());

    let mut powers = vec![Fr::ONE; n];
    for i in 1..n {
        powers[i] = powers[i - 1] * tau;
    }
    let g = table.mul_all(&powers);

    // L_i(τ) = (τ^n - 1)/n · ω^i / (τ - ω^i), with one batch inversion.
    let mut omega = Fr::ROOT_OF_UNITY;
    for _ in k..Fr::S {
        omega = omega.square();
    }
    let mut omega_i = vec![Fr::ONE; n];
    for i in 1..n {
        omega_i[i] = omega_i[i - 1] * omega;
    }
    let mut denominators: Vec<Fr> = omega_i.iter().map(|w| tau - w).collect();
    batch_invert(&mut denominators);
    let factor = (tau.pow_vartime([n as u64]) - Fr::ONE)
        * Fr::from(n as u64).invert().expect("n is invertible");
    let lagrange: Vec<Fr> = omega_i
        .iter()
        .zip(&denominators)
        .map(|(w, d)| factor * w * d)
        .collect();
    let g_lagrange = table.mul_all(&lagrange);

    let g2 = G2Affine::generator();
    let s_g2: G2Affine = (g2 * tau).into();
    assemble(k, g, Some(g_lagrange), g2, s_g2)
}

/// Whether a G2 point lies in the prime-order subgroup (a point of the twist outside it
/// would make pairing checks meaningless).
pub fn in_g2_subgroup(p: &G2Affine) -> bool {
    bool::from(G2::from(*p).is_torsion_free())
}

/// KZG parameters from their parts (the Lagrange basis is computed when not given).
pub fn assemble(
    k: u32,
    g: Vec<G1Affine>,
    g_lagrange: Option<Vec<G1Affine>>,
    g2: G2Affine,
    s_g2: G2Affine,
) -> ParamsKZG<Bn256> {
    // halo2's `from_parts` is a method for no reason; any instance will do as its receiver.
    let template = ParamsKZG::<Bn256>::setup(1, rand_chacha::ChaCha20Rng::seed_from_u64(0));
    template.from_parts(k, g, g_lagrange, g2, s_g2)
}

/// Inverts every (non-zero) element in place with Montgomery's trick: one inversion in all.
fn batch_invert(values: &mut [Fr]) {
    let mut prefix = Vec::with_capacity(values.len());
    let mut acc = Fr::ONE;
    for v in values.iter() {
        prefix.push(acc);
        acc *= v;
    }
    let mut inv = acc.invert().expect("non-zero values");
    for (v, p) in values.iter_mut().zip(prefix).rev() {
        let next = inv * *v;
        *v = inv * p;
        inv = next;
    }
}

/// A fixed-base multiplication table: `table[w][d] = d · 2^(16w) · B` for each 16-bit window
/// `w`, so `s·B` is 16 additions of table points (the table is 1M points, 64 MiB).
struct FixedBase {
    windows: Vec<Vec<G1Affine>>,
}

const WINDOW_BITS: usize = 16;

impl FixedBase {
    fn new(base: G1) -> Self {
        let mut bases = Vec::with_capacity(256 / WINDOW_BITS);
        let mut window_base = base;
        for _ in 0..256 / WINDOW_BITS {
            bases.push(window_base);
            for _ in 0..WINDOW_BITS {
                window_base = window_base.double();
            }
        }
        let mut windows = vec![Vec::new(); bases.len()];
        parallelize(&mut windows, |chunk, start| {
            for (i, window) in chunk.iter_mut().enumerate() {
                let mut row = vec![G1::identity(); 1 << WINDOW_BITS];
                for d in 1..row.len() {
                    row[d] = row[d - 1] + bases[start + i];
                }
                let mut affine = vec![G1Affine::identity(); row.len()];
                G1::batch_normalize(&row, &mut affine);
                *window = affine;
            }
        });
        Self { windows }
    }

    fn mul(&self, scalar: &Fr) -> G1 {
        let repr = scalar.to_repr();
        repr.as_ref()
            .chunks(WINDOW_BITS / 8)
            .zip(&self.windows)
            .fold(G1::identity(), |acc, (digit, row)| {
                acc + row[usize::from(u16::from_le_bytes([digit[0], digit[1]]))]
            })
    }

    /// `[s]B` for every scalar, in affine form, on all cores.
    fn mul_all(&self, scalars: &[Fr]) -> Vec<G1Affine> {
        let mut projective = vec![G1::identity(); scalars.len()];
        parallelize(&mut projective, |chunk, start| {
            for (i, p) in chunk.iter_mut().enumerate() {
                *p = self.mul(&scalars[start + i]);
            }
        });
        let mut affine = vec![G1Affine::identity(); scalars.len()];
        parallelize(&mut affine, |chunk, start| {
            G1::batch_normalize(&projective[start..start + chunk.len()], chunk);
        });
        affine
    }
}

/// The SRS identifier of parameters (see [`Srs::id`]).
pub fn srs_id(params: &ParamsKZG<Bn256>) -> String {
    let g: &[G1Affine] = params.get_g();
    let mut h = Sha256::new();
    h.update(g.get(1).unwrap_or(&g[0]).to_bytes());
    h.update(params.s_g2().to_bytes());
    hex::encode(h.finalize())
}

/// Writes KZG parameters with our header (buffer a file writer: this writes point by point).
pub fn write_params(
    w: &mut impl Write,
    params: &ParamsKZG<Bn256>,
    insecure: bool,
) -> std::io::Result<()> {
    w.write_all(MAGIC)?;
    w.write_all(&[VERSION, if insecure { FLAG_INSECURE } else { 0 }])?;
    params.write_custom(w, SerdeFormat::RawBytes)?;
    w.flush()
}

/// Reads KZG parameters with our header; returns them and whether they are a development SRS:
/// the header's flag is set, or `[τ]G1` is a development seed's (see [`development_seed`]).
/// Every point is checked to be a valid curve point, and `[τ]G1` against `[τ]G2` by a pairing.
pub fn read_params(data: &[u8]) -> Result<(ParamsKZG<Bn256>, bool)> {
    read_params_trimmed(data, None)
}

/// Like [`read_params`], keeping only `2^keep` points: only those are read and checked, and
/// the Lagrange basis of the smaller domain is computed from them.
pub fn read_params_trimmed(data: &[u8], keep: Option<u32>) -> Result<(ParamsKZG<Bn256>, bool)> {
    let bad = |reason: String| CircuitError::Srs { reason };
    if data.len() < 14 {
        return Err(bad("file too short to be an SRS".into()));
    }
    if &data[..8] != MAGIC {
        return Err(bad(
            "not a snarkml SRS file (bad magic); import ceremony files with `snarkml srs import`"
                .into(),
        ));
    }
    if data[8] != VERSION {
        return Err(bad(format!("unsupported SRS format version {}", data[8])));
    }
    let flagged = data[9] & FLAG_INSECURE != 0;
    let k = u32::from_le_bytes(data[10..14].try_into().expect("4 bytes"));
    if !(1..=MAX_K).contains(&k) {
        return Err(bad(format!("k={k} is out of range 1..={MAX_K}")));
    }
    // RawBytes: 2·2^k uncompressed G1 points (64 bytes each) and 2 G2 points (128 bytes each).
    let n = 1usize << k;
    let expected = 14 + 2 * n * 64 + 2 * 128;
    if data.len() != expected {
        return Err(bad(format!(
            "file is {} bytes, a k={k} SRS is {expected} bytes (truncated or corrupted)",
            data.len()
        )));
    }
    let keep = keep.unwrap_or(k);
    if keep > k {
        return Err(CircuitError::SrsTooSmall {
            need: keep,
            have: k,
        });
    }
    // The monomial basis is the first n points, the Lagrange basis the next n. When trimming,
    // only the first 2^keep monomial points are read (the Lagrange basis is recomputed).
    let trim = keep < k;
    let g1_at = |i: usize| &data[14 + i * 64..14 + (i + 1) * 64];
    let count = if trim { 1usize << keep } else { 2 * n };
    let mut points: Vec<Option<G1Affine>> = vec![None; count];
    parallelize(&mut points, |chunk, start| {
        for (j, p) in chunk.iter_mut().enumerate() {
            *p = G1Affine::from_raw_bytes(g1_at(start + j));
        }
    });
    if let Some(i) = points.iter().position(Option::is_none) {
        return Err(bad(format!(
            "G1 point {i} is not a valid BN254 point (corrupted file)"
        )));
    }
    let mut points: Vec<G1Affine> = points.into_iter().map(|p| p.expect("checked")).collect();
    let g_lagrange = (!trim).then(|| points.split_off(n));
    let g2_at = |i: usize| &data[14 + 2 * n * 64 + i * 128..14 + 2 * n * 64 + (i + 1) * 128];
    let g2 = G2Affine::from_raw_bytes(g2_at(0))
        .ok_or_else(|| bad("G2 generator is corrupted".into()))?;
    let s_g2 =
        G2Affine::from_raw_bytes(g2_at(1)).ok_or_else(|| bad("[τ]G2 is corrupted".into()))?;
    if !in_g2_subgroup(&s_g2) {
        return Err(bad(
            "[τ]G2 is not in the prime-order subgroup (corrupted or forged file)".into(),
        ));
    }
    if points[0] != G1Affine::generator() || g2 != G2Affine::generator() {
        return Err(bad(
            "the SRS does not start with the standard BN254 generators".into(),
        ));
    }
    if n > 1 && pairing(&points[1], &g2) != pairing(&points[0], &s_g2) {
        return Err(bad(
            "pairing check failed: [τ]G1 and [τ]G2 disagree (corrupted file)".into(),
        ));
    }
    // Our own development SRS is recognised by its points whatever the flag says.
    let insecure = flagged || points.get(1).and_then(dev_seed_of).is_some();
    Ok((assemble(keep, points, g_lagrange, g2, s_g2), insecure))
}
