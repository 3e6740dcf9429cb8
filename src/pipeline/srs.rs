//! SRS files for the pipeline: generated for development, imported from a ceremony, trimmed
//! to a circuit's `k` (cached), and the development SRS `setup` makes once per `k`.

use crate::artifacts::BuildDir;
use crate::stored::{SrsFile, Stored};
use eyre::{eyre, Result, WrapErr};
use snarkml_circuits::quantize::CompiledModel;
use snarkml_circuits::srs::Srs;
use std::path::{Path, PathBuf};

/// Imports a Powers-of-Tau ceremony file (`.ptau`), reduced to `2^k` points (default: all
/// of them), checks it and writes it as an SRS file.
pub fn srs_import(ptau: &Path, k: Option<u32>, out: &Path) -> Result<Srs> {
    let srs = crate::stored::ptau_import(ptau, k)?;
    srs.save(out)?;
    Ok(srs)
}

/// Generates a development SRS of `2^k` points from `seed` and writes it to `out`.
pub fn srs_gen(k: u32, seed: u64, out: &Path) -> Result<Srs> {
    let srs = Srs::generate_insecure(k, seed)?;
    srs.save(out)?;
    Ok(srs)
}

/// The SRS at `path` trimmed to `2^k` points. Trimming recomputes the Lagrange basis with an
/// FFT over G1 (minutes for 2^19 points), so a trimmed copy is cached under
/// `<cache_dir>/srs/` and reused; a file of exactly `2^k` points is read as is.
pub fn srs_for_k(path: &Path, k: u32, cache_dir: &Path) -> Result<Srs> {
    if srs_file_k(path)? <= k {
        return Ok(Srs::load_trimmed(path, k)?);
    }
    // Two points suffice for the id (`[τ]G1`, `[τ]G2`) and the insecure flag.
    let head = Srs::load_trimmed(path, 1)?;
    let insecure = head.insecure;
    let cached = cache_dir
        .join("srs")
        .join(format!("{}-k{k}.bin", head.id()));
    if let Ok(srs) = Srs::load(&cached) {
        if srs.k() == k && srs.id() == head.id() && srs.insecure == insecure {
            return Ok(srs);
        }
    }
    let srs = Srs::load_trimmed(path, k)?;
    if let Some(dir) = cached.parent() {
        std::fs::create_dir_all(dir)
            .wrap_err_with(|| format!("cannot create the SRS cache {}", dir.display()))?;
    }
    // `save` writes atomically: concurrent readers never see half a file.
    srs.save(&cached)?;
    Ok(srs)
}

/// The development SRS (seed 0) of exactly the build's `k`, made once into
/// `$SNARKML_SRS_CACHE` (default `~/.cache/snarkml/srs`) and reused: what `setup` uses
/// without `--srs`. Returns its path and whether it was made now.
pub fn dev_srs_for(build: &BuildDir) -> Result<(PathBuf, bool)> {
    build.require(&build.model(), "compile")?;
    let k = CompiledModel::load(&build.model())?.layout.k;
    let dir = match std::env::var_os("SNARKML_SRS_CACHE") {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .ok_or_else(|| eyre!("no HOME: give --srs, or set SNARKML_SRS_CACHE"))?
            .join("snarkml")
            .join("srs"),
    };
    let path = dir.join(format!("dev-seed0-k{k}.bin"));
    if Srs::load(&path).is_ok_and(|s| s.k() == k && s.development_seed() == Some(0)) {
        return Ok((path, false));
    }
    std::fs::create_dir_all(&dir)
        .wrap_err_with(|| format!("cannot create the SRS cache {}", dir.display()))?;
    srs_gen(k, 0, &path)?;
    Ok((path, true))
}

/// `log2` of the points in an SRS file, from its header.
fn srs_file_k(path: &Path) -> Result<u32> {
    use std::io::Read;
    let mut header = [0u8; 14];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .wrap_err_with(|| format!("cannot read the SRS {}", path.display()))?;
    Ok(u32::from_le_bytes(
        header[10..14].try_into().expect("4 bytes"),
    ))
}
