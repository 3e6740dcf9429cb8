//! Powers-of-Tau ceremony files (`.ptau`, the format of snarkjs and of the Hermez / Perpetual
//! Powers of Tau ceremonies): import into KZG parameters, checked on load, and a writer used to
//! produce small files from a known secret for tests.
//!
//! Layout (all integers little-endian): `"ptau"`, version `u32` (1), section count `u32`,
//! then sections `(type u32, size u64, data)`. Section 1 is the header: `n8 u32` (32), the
//! base-field prime `q` (`n8` bytes), `power u32`, `ceremonyPower u32`. Section 2 holds
//! `2·2^power − 1` points `[τ^i]G1`, section 3 `2^power` points `[τ^i]G2`, sections 4–6
//! `[ατ^i]G1`, `[βτ^i]G1`, `[β]G2`, section 7 the contributions. Coordinates are in
//! Montgomery form (`R = 2^256`), as halo2curves keeps them in memory, G2 coordinates `c0`
//! before `c1`.

use crate::error::{CircuitError, Result};
use crate::srs::Srs;
use crate::{Fr, G1Affine};
use halo2_proofs::arithmetic::{best_multiexp, parallelize};
use halo2_proofs::halo2curves::bn256::{pairing, Fq, G2Affine, G1};
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::Curve;
use halo2_proofs::halo2curves::serde::SerdeObject;
use rand::rngs::OsRng;
use std::io::{Read, Seek, SeekFrom, Write};

const MAGIC: &[u8; 4] = b"ptau";
const G1_BYTES: u64 = 64;
const G2_BYTES: u64 = 128;

/// What a `.ptau` header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PtauInfo {
    /// The file holds `2^power` powers (in G2; twice as many in G1).
    pub power: u32,
    /// The ceremony's full power.
    pub ceremony_power: u32,
}

fn bad(reason: impl Into<String>) -> CircuitError {
    CircuitError::Srs {
        reason: reason.into(),
    }
}

/// A reader's failure, as a refusal of the file.
fn unreadable(e: std::io::Error) -> CircuitError {
    bad(format!("cannot read the .ptau file: {e}"))
}

/// What `import` and `info` read from: a `.ptau` file, or its bytes in memory.
pub trait PtauSource: Read + Seek {}
impl<T: Read + Seek> PtauSource for T {}

/// A section: its type, where its data starts, and its size.
type Section = (u32, u64, u64);

/// Section offsets and sizes, by section type.
fn sections(file: &mut impl PtauSource) -> Result<Vec<Section>> {
    let len = file.seek(SeekFrom::End(0)).map_err(unreadable)?;
    file.rewind().map_err(unreadable)?;
    let mut head = [0u8; 12];
    file.read_exact(&mut head)
        .map_err(|_| bad("file too short to be a .ptau file"))?;
    if &head[..4] != MAGIC {
        return Err(bad("not a .ptau file (bad magic)"));
    }
    let version = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
    if version != 1 {
        return Err(bad(format!("unsupported .ptau version {version}")));
    }
    let count = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
    let mut out = Vec::new();
    let mut at = 12u64;
    for _ in 0..count {
        let mut sh = [0u8; 12];
        file.seek(SeekFrom::Start(at))
            .and_then(|_| file.read_exact(&mut sh))
            .map_err(|_| bad("truncated section table"))?;
        let kind = u32::from_le_bytes(sh[..4].try_into().expect("4 bytes"));
        let size = u64::from_le_bytes(sh[4..12].try_into().expect("8 bytes"));
        let start = at + 12;
        if start.checked_add(size).is_none_or(|end| end > len) {
            return Err(bad(format!(
                "section {kind} runs past the end of the file (truncated?)"
            )));
        }
        out.push((kind, start, size));
        at = start + size;
    }
    Ok(out)
}

fn section(all: &[Section], kind: u32) -> Result<(u64, u64)> {
    all.iter()
        .find(|s| s.0 == kind)
        .map(|s| (s.1, s.2))
        .ok_or_else(|| bad(format!("section {kind} is missing")))
}

/// Reads the header of a `.ptau` file, checking it is for BN254.
pub fn info(file: &mut impl PtauSource) -> Result<PtauInfo> {
    read_header(file).map(|(info, _)| info)
}

fn read_header(file: &mut impl PtauSource) -> Result<(PtauInfo, Vec<Section>)> {
    let all = sections(file)?;
    let (start, size) = section(&all, 1)?;
    let mut header = vec![0u8; size as usize];
    file.seek(SeekFrom::Start(start))
        .and_then(|_| file.read_exact(&mut header))
        .map_err(unreadable)?;
    if header.len() < 4 + 32 + 8 {
        return Err(bad("header section too short"));
    }
    let n8 = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
    if n8 != 32 {
        return Err(bad(format!(
            "field elements of {n8} bytes: not a BN254 ceremony (wrong curve)"
        )));
    }
    let q = &header[4..36];
    if q != modulus_le().as_slice() {
        return Err(bad("the base field is not BN254's: wrong curve"));
    }
    let power = u32::from_le_bytes(header[36..40].try_into().expect("4 bytes"));
    let ceremony_power = u32::from_le_bytes(header[40..44].try_into().expect("4 bytes"));
    if power == 0 || power > 28 {
        return Err(bad(format!("power {power} is out of range 1..=28")));
    }
    Ok((
        PtauInfo {
            power,
            ceremony_power,
        },
        all,
    ))
}

/// BN254's base-field prime, little-endian.
fn modulus_le() -> Vec<u8> {
    // q = p - 1 + 1: the canonical representation of -1, plus one, carried byte by byte.
    let minus_one = (-Fq::ONE).to_repr();
    let mut bytes = minus_one.as_ref().to_vec();
    let mut carry = 1u16;
    for b in bytes.iter_mut() {
        let v = u16::from(*b) + carry;
        *b = v as u8;
        carry = v >> 8;
    }
    bytes
}

/// Imports `2^k` powers from a `.ptau` file (`k` defaults to the file's power) and checks
/// them: coordinates in range and on the curve, the standard generators first, and a pairing
/// check over a random combination that every G1 power is `τ` times the previous one for the
/// `τ` of the G2 element: `e(Σ rᵢ[τ^i]G1, [τ]G2) = e(Σ rᵢ[τ^(i+1)]G1, G2)`.
pub fn import(file: &mut impl PtauSource, k: Option<u32>) -> Result<Srs> {
    let (info, all) = read_header(file)?;
    let k = k.unwrap_or(info.power);
    if k > info.power {
        return Err(bad(format!(
            "the file holds 2^{} powers, 2^{k} are needed",
            info.power
        )));
    }
    let n = 1usize << k;
    let (g1_start, g1_size) = section(&all, 2)?;
    if g1_size < (2 * (1u64 << info.power) - 1) * G1_BYTES {
        return Err(bad(
            "the tau·G1 section is shorter than its header says (truncated?)",
        ));
    }
    let (g2_start, g2_size) = section(&all, 3)?;
    if g2_size < (1u64 << info.power) * G2_BYTES {
        return Err(bad(
            "the tau·G2 section is shorter than its header says (truncated?)",
        ));
    }
    // n + 1 G1 points: the last one only takes part in the consistency check.
    let mut raw = vec![0u8; (n + 1) * G1_BYTES as usize];
    file.seek(SeekFrom::Start(g1_start))
        .and_then(|_| file.read_exact(&mut raw))
        .map_err(unreadable)?;
    let mut parsed: Vec<Option<G1Affine>> = vec![None; n + 1];
    parallelize(&mut parsed, |chunk, start| {
        for (i, p) in chunk.iter_mut().enumerate() {
            let at = (start + i) * G1_BYTES as usize;
            *p = G1Affine::from_raw_bytes(&raw[at..at + G1_BYTES as usize]);
        }
    });
    if let Some(i) = parsed.iter().position(Option::is_none) {
        return Err(bad(format!(
            "tau·G1 point {i} is not a valid BN254 point (corrupted file)"
        )));
    }
    let mut points: Vec<G1Affine> = parsed.into_iter().map(|p| p.expect("checked")).collect();
    let mut raw2 = vec![0u8; 2 * G2_BYTES as usize];
    file.seek(SeekFrom::Start(g2_start))
        .and_then(|_| file.read_exact(&mut raw2))
        .map_err(unreadable)?;
    let g2 = G2Affine::from_raw_bytes(&raw2[..G2_BYTES as usize])
        .ok_or_else(|| bad("G2 point 0 is invalid"))?;
    let s_g2 = G2Affine::from_raw_bytes(&raw2[G2_BYTES as usize..])
        .ok_or_else(|| bad("tau·G2 is invalid (corrupted file)"))?;
    if !crate::srs::in_g2_subgroup(&s_g2) {
        return Err(bad(
            "tau·G2 is not in the prime-order subgroup (corrupted or forged file)",
        ));
    }
    if points[0] != G1Affine::generator() || g2 != G2Affine::generator() {
        return Err(bad(
            "the first powers are not the standard BN254 generators",
        ));
    }
    let r: Vec<Fr> = (0..n).map(|_| Fr::random(OsRng)).collect();
    let lhs = best_multiexp(&r, &points[..n]).to_affine();
    let rhs = best_multiexp(&r, &points[1..]).to_affine();
    if pairing(&lhs, &s_g2) != pairing(&rhs, &g2) {
        return Err(bad("pairing check failed: the G1 powers do not match the tau·G2 element (corrupted or forged file)"));
    }
    points.truncate(n);
    let params = crate::srs::assemble(k, points, None, g2, s_g2);
    Ok(Srs {
        params,
        insecure: false,
    })
}

/// Writes a `.ptau` file of `2^power` powers of `tau` in the ceremony format (with `α = β = 1`
/// and no contribution records). Whoever knows `tau` can forge proofs: for tests only.
pub fn write_insecure(w: &mut impl Write, tau: Fr, power: u32) -> std::io::Result<()> {
    let n = 1usize << power;
    let mut powers = vec![Fr::ONE; 2 * n - 1];
    for i in 1..powers.len() {
        powers[i] = powers[i - 1] * tau;
    }
    let g1: Vec<G1Affine> = {
        let proj: Vec<G1> = powers.iter().map(|p| G1Affine::generator() * p).collect();
        let mut affine = vec![G1Affine::identity(); proj.len()];
        G1::batch_normalize(&proj, &mut affine);
        affine
    };
    let g2: Vec<G2Affine> = powers[..n]
        .iter()
        .map(|p| (G2Affine::generator() * p).to_affine())
        .collect();
    let raw_g1 = |pts: &[G1Affine]| {
        pts.iter()
            .flat_map(|p| p.to_raw_bytes())
            .collect::<Vec<u8>>()
    };
    let raw_g2 = |pts: &[G2Affine]| {
        pts.iter()
            .flat_map(|p| p.to_raw_bytes())
            .collect::<Vec<u8>>()
    };
    let mut header = Vec::new();
    header.extend_from_slice(&32u32.to_le_bytes());
    header.extend_from_slice(&modulus_le());
    header.extend_from_slice(&power.to_le_bytes());
    header.extend_from_slice(&power.to_le_bytes());
    let sections: Vec<(u32, Vec<u8>)> = vec![
        (1, header),
        (2, raw_g1(&g1)),
        (3, raw_g2(&g2)),
        (4, raw_g1(&g1[..n])),
        (5, raw_g1(&g1[..n])),
        (6, raw_g2(&g2[..1])),
        (7, 0u32.to_le_bytes().to_vec()),
    ];
    w.write_all(MAGIC)?;
    w.write_all(&1u32.to_le_bytes())?;
    w.write_all(&(sections.len() as u32).to_le_bytes())?;
    for (kind, data) in sections {
        w.write_all(&kind.to_le_bytes())?;
        w.write_all(&(data.len() as u64).to_le_bytes())?;
        w.write_all(&data)?;
    }
    w.flush()
}
