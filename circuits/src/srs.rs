//! Structured reference strings: our file format (a header naming the SRS as development-only
//! or not, then halo2's KZG parameters), generation for development, loading and trimming.

use crate::error::{CircuitError, Result};
use crate::{Bn256, G1Affine};
use halo2_proofs::halo2curves::group::GroupEncoding;
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use rand::SeedableRng;
use sha2::{Digest, Sha256};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"SNKMLSRS";
const VERSION: u8 = 1;
const FLAG_INSECURE: u8 = 1;
/// The largest `k` we accept (BN254's two-adicity is 28; beyond 26 nothing fits in memory here).
pub const MAX_K: u32 = 26;

/// A loaded SRS.
#[derive(Clone, Debug)]
pub struct Srs {
    /// halo2's KZG parameters.
    pub params: ParamsKZG<Bn256>,
    /// True for a development SRS whose secret is known (generated from a seed).
    pub insecure: bool,
}

impl Srs {
    /// Generates a development SRS of `2^k` points from `seed`. Anyone who knows the seed can
    /// forge proofs: for tests and demos only.
    pub fn generate_insecure(k: u32, seed: u64) -> Result<Self> {
        if !(1..=MAX_K).contains(&k) {
            return Err(CircuitError::Srs {
                path: "<generated>".into(),
                reason: format!("k={k} is out of range 1..={MAX_K}"),
            });
        }
        let rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        Ok(Self {
            params: ParamsKZG::<Bn256>::setup(k, rng),
            insecure: true,
        })
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
            return Err(CircuitError::Srs {
                path: "<loaded>".into(),
                reason: format!("the circuit needs k={k} but the SRS only has k={}; generate or import a larger one", self.k()),
            });
        }
        let mut params = self.params.clone();
        if k < self.k() {
            params.downsize(k);
        }
        Ok(params)
    }

    /// Writes the SRS file.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_params(path, &self.params, self.insecure)
    }

    /// Reads an SRS file written by [`Srs::save`] (or by `write_params`).
    pub fn load(path: &Path) -> Result<Self> {
        let (params, insecure) = read_params(path)?;
        Ok(Self { params, insecure })
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

/// Writes KZG parameters with our header.
pub fn write_params(path: &Path, params: &ParamsKZG<Bn256>, insecure: bool) -> Result<()> {
    let io = |e| CircuitError::io(path, e);
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = BufWriter::new(file);
    w.write_all(MAGIC).map_err(io)?;
    w.write_all(&[VERSION, if insecure { FLAG_INSECURE } else { 0 }])
        .map_err(io)?;
    params
        .write_custom(&mut w, SerdeFormat::RawBytes)
        .map_err(io)?;
    w.flush().map_err(io)
}

/// Reads KZG parameters with our header; returns them and the insecure flag.
pub fn read_params(path: &Path) -> Result<(ParamsKZG<Bn256>, bool)> {
    let bad = |reason: String| CircuitError::Srs {
        path: path.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| CircuitError::io(path, e))?;
    let len = file
        .metadata()
        .map_err(|e| CircuitError::io(path, e))?
        .len();
    let mut r = BufReader::new(file);
    let mut header = [0u8; 14];
    r.read_exact(&mut header)
        .map_err(|_| bad("file too short to be an SRS".into()))?;
    if &header[..8] != MAGIC {
        return Err(bad(
            "not a snarkml SRS file (bad magic); import ceremony files with `snarkml srs import`"
                .into(),
        ));
    }
    if header[8] != VERSION {
        return Err(bad(format!("unsupported SRS format version {}", header[8])));
    }
    let insecure = header[9] & FLAG_INSECURE != 0;
    let k = u32::from_le_bytes(header[10..14].try_into().expect("4 bytes"));
    if !(1..=MAX_K).contains(&k) {
        return Err(bad(format!("k={k} is out of range 1..={MAX_K}")));
    }
    // RawBytes: 2·2^k uncompressed G1 points (64 bytes each) and 2 G2 points (128 bytes each).
    let expected = 14 + 2 * (1u64 << k) * 64 + 2 * 128;
    if len != expected {
        return Err(bad(format!(
            "file is {len} bytes, a k={k} SRS is {expected} bytes (truncated or corrupted)"
        )));
    }
    let rest = k.to_le_bytes().into_iter().map(Ok);
    let mut chained = std::io::Cursor::new(
        rest.collect::<std::io::Result<Vec<u8>>>()
            .expect("in memory"),
    )
    .chain(r);
    let params = ParamsKZG::<Bn256>::read_custom(&mut chained, SerdeFormat::RawBytes)
        .map_err(|e| bad(format!("corrupted SRS: {e}")))?;
    Ok((params, insecure))
}
