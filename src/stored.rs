//! The files of the circuits library's formats. `snarkml_circuits` touches no disk: its types
//! parse from bytes and render to bytes. This module reads and writes them as files, naming
//! the file in every error ([`CircuitError::InFile`], or [`CircuitError::Io`] when the file
//! itself cannot be read or written), and writes atomically: a concurrent reader or a crash
//! never sees half a file.
//!
//! [`Stored`] gives each format `load(path)` and `save(path)`; import it and
//! `CompiledModel::load(&build.model())` reads `model.json`.

use snarkml_circuits::audit::chunk::ChunkProofFile;
use snarkml_circuits::audit::Dataset;
use snarkml_circuits::error::{CircuitError, Result};
use snarkml_circuits::io::{AggregatedProofFile, InputFile, OpeningsFile, ProofFile};
use snarkml_circuits::model::onnx::{self, OnnxBytes};
use snarkml_circuits::quantize::CompiledModel;
use snarkml_circuits::srs::Srs;
use snarkml_circuits::{ptau, Bn256};
use std::io::{BufWriter, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A value of the circuits library kept in a file.
pub trait Stored: Sized {
    /// Parses (and checks) the file's bytes.
    fn from_bytes(bytes: &[u8]) -> Result<Self>;

    /// Writes the file's bytes.
    fn write_to(&self, w: &mut dyn Write) -> Result<()>;

    /// Reads and checks the file at `path`.
    fn load(path: &Path) -> Result<Self> {
        Self::from_bytes(&read(path)?).map_err(|e| e.in_file(path))
    }

    /// Writes the file at `path`, atomically.
    fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, |w| self.write_to(w))
    }
}

macro_rules! json_file {
    ($($t:ty),*) => {$(
        impl Stored for $t {
            fn from_bytes(bytes: &[u8]) -> Result<Self> {
                <$t>::from_json(bytes)
            }

            fn write_to(&self, w: &mut dyn Write) -> Result<()> {
                w.write_all(&self.to_json()?).map_err(write_error)
            }
        }
    )*};
}

json_file!(
    CompiledModel,
    ProofFile,
    AggregatedProofFile,
    OpeningsFile,
    ChunkProofFile,
    Dataset,
    InputFile
);

impl Stored for Srs {
    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Srs::from_bytes(bytes)
    }

    fn write_to(&self, w: &mut dyn Write) -> Result<()> {
        self.write(&mut BufWriter::new(w)).map_err(write_error)
    }
}

/// An I/O error of a writer, before [`write_atomic`] names the file.
fn write_error(e: std::io::Error) -> CircuitError {
    CircuitError::io("", e)
}

/// An SRS file read in part: only its first `2^k` points are parsed and checked.
pub trait SrsFile {
    /// The SRS at `path` trimmed to `2^k` points.
    fn load_trimmed(path: &Path, k: u32) -> Result<Srs>;
}

impl SrsFile for Srs {
    fn load_trimmed(path: &Path, k: u32) -> Result<Srs> {
        Srs::from_bytes_trimmed(&read(path)?, k).map_err(|e| e.in_file(path))
    }
}

/// Reads KZG parameters in our SRS format (`params.bin`); returns them and whether they are a
/// development SRS.
pub fn read_params(
    path: &Path,
) -> Result<(
    snarkml_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG<Bn256>,
    bool,
)> {
    snarkml_circuits::srs::read_params(&read(path)?).map_err(|e| e.in_file(path))
}

/// Writes KZG parameters in our SRS format, atomically.
pub fn write_params(
    path: &Path,
    params: &snarkml_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG<Bn256>,
    insecure: bool,
) -> Result<()> {
    write_atomic(path, |w| {
        snarkml_circuits::srs::write_params(&mut BufWriter::new(w), params, insecure)
            .map_err(write_error)
    })
}

/// Reads a proof file, checking only its format, proof bytes and transcript name
/// ([`ProofFile::parse`]); [`Stored::load`] also checks that it is self-consistent.
pub fn parse_proof(path: &Path) -> Result<ProofFile> {
    ProofFile::parse(&read(path)?).map_err(|e| e.in_file(path))
}

/// Reads calibration samples, each one vector per model input.
pub fn load_calibration(path: &Path) -> Result<Vec<Vec<Vec<f32>>>> {
    snarkml_circuits::io::parse_calibration(&read(path)?).map_err(|e| e.in_file(path))
}

/// An `.onnx` file read whole, named by its stem when its graph has no name.
#[derive(Clone, Debug)]
pub struct OnnxFile {
    /// The file.
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
    name: String,
}

impl OnnxFile {
    /// Reads the file, with the values of tensors kept in external data files (`location`s
    /// relative to its folder, as ONNX defines them, and inside it) read into it.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = read(path)?;
        let folder = path.parent().unwrap_or(Path::new(""));
        let inlined =
            onnx::inline_external_data(&bytes, &mut |location| read_external(folder, location))
                .map_err(|e| e.in_file(path))?;
        Ok(Self {
            path: path.to_owned(),
            bytes: inlined.unwrap_or(bytes),
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        })
    }

    /// The model as the compiler takes it.
    pub fn onnx(&self) -> OnnxBytes<'_> {
        OnnxBytes {
            bytes: &self.bytes,
            name: &self.name,
        }
    }

    /// Names the file in an error about its content (the bytes are not ONNX); other errors
    /// of a compile (a missed accuracy target, a bad option) are returned as they are.
    pub fn name_in(&self, e: CircuitError) -> CircuitError {
        match e {
            CircuitError::NotOnnx { .. } => e.in_file(&self.path),
            e => e,
        }
    }

    /// Parses the model into a float graph.
    pub fn graph(&self) -> Result<snarkml_circuits::model::FloatGraph> {
        snarkml_circuits::model::onnx::parse(self.onnx()).map_err(|e| self.name_in(e))
    }
}

/// The bytes of the external data file `location` of a model in `folder`: a relative path that
/// stays inside the folder (no `..`, no absolute path, no link out of it), as tract and
/// onnxruntime require too.
fn read_external(folder: &Path, location: &str) -> std::result::Result<Vec<u8>, String> {
    let relative = Path::new(location);
    if location.is_empty()
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err("not a relative path inside the model's folder".into());
    }
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    let inside = folder
        .canonicalize()
        .map_err(|e| format!("{}: {e}", folder.display()))?;
    let file = inside
        .join(relative)
        .canonicalize()
        .map_err(|e| format!("{}: {e}", folder.join(relative).display()))?;
    if !file.starts_with(&inside) {
        return Err(format!(
            "it links out of the model's folder (to {})",
            file.display()
        ));
    }
    // Not a pipe or a device that would never end.
    if !file.is_file() {
        return Err(format!("{} is not a file", file.display()));
    }
    std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))
}

/// Reads the header of a `.ptau` ceremony file.
pub fn ptau_info(path: &Path) -> Result<ptau::PtauInfo> {
    ptau::info(&mut open(path)?).map_err(|e| e.in_file(path))
}

/// Imports `2^k` powers (default: all) from a `.ptau` ceremony file, checked.
pub fn ptau_import(path: &Path, k: Option<u32>) -> Result<Srs> {
    ptau::import(&mut open(path)?, k).map_err(|e| e.in_file(path))
}

fn open(path: &Path) -> Result<std::io::BufReader<std::fs::File>> {
    std::fs::File::open(path)
        .map(std::io::BufReader::new)
        .map_err(|e| CircuitError::io(path, e))
}

/// The bytes of the file at `path`.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| CircuitError::io(path, e))
}

/// Writes the file at `path` through `write` under a temporary name beside it and renames it
/// into place; the temporary file is removed on failure.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let tmp = temp_path_beside(path);
    let io = |e| CircuitError::io(path, e);
    let done = std::fs::File::create(&tmp)
        .map_err(io)
        .and_then(|mut file| {
            write(&mut file).map_err(|e| match e {
                CircuitError::Io { source, .. } => io(source),
                e => e,
            })?;
            file.flush().map_err(io)?;
            std::fs::rename(&tmp, path).map_err(io)
        });
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

/// A fresh temporary name beside `path`, unique across processes and threads, for writing a
/// file that is then renamed onto `path` (so readers never see half a file).
pub fn temp_path_beside(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.{n}.tmp", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_round_trips_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.json");
        let file = InputFile {
            input_data: vec![vec![0.5, -1.0]],
            salts: Default::default(),
        };
        file.save(&path).unwrap();
        assert_eq!(InputFile::load(&path).unwrap(), file);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the file itself: {names:?}");
    }

    #[test]
    fn errors_name_the_file_and_keep_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.json");
        let err = CompiledModel::load(&missing).unwrap_err();
        assert!(
            matches!(err, CircuitError::Io { ref path, .. } if path == &missing),
            "{err}"
        );

        let bad = dir.path().join("model.json");
        std::fs::write(&bad, b"{\"format\": 1}").unwrap();
        let err = CompiledModel::load(&bad).unwrap_err();
        assert!(
            matches!(
                err.content(),
                CircuitError::Json {
                    what: "compiled model",
                    ..
                }
            ),
            "{err}"
        );
        let line = err.to_string();
        assert!(
            line.starts_with(&format!("{}: invalid compiled model: ", bad.display())),
            "{line}"
        );

        std::fs::write(&bad, b"not an SRS").unwrap();
        let err = Srs::load_trimmed(&bad, 2).unwrap_err();
        assert!(matches!(err.content(), CircuitError::Srs { .. }), "{err}");
        assert!(
            err.to_string().starts_with(&bad.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn an_onnx_file_is_named_only_in_errors_about_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.onnx");
        std::fs::write(&path, b"\x00\x01 not protobuf").unwrap();
        let onnx = OnnxFile::read(&path).unwrap();
        let err = onnx.graph().unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("{}: not a valid ONNX model", path.display())),
            "{err}"
        );
        let other = CircuitError::bad_option("width", "width 2 is out of range 3..=64");
        assert_eq!(
            onnx.name_in(other).to_string(),
            "width 2 is out of range 3..=64"
        );
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    /// `external/cnn_digits.onnx` (and its data file, unless `data` is None) copied into `dir`.
    fn external_model(dir: &Path, data: Option<&[u8]>) -> PathBuf {
        let model = dir.join("cnn_digits.onnx");
        std::fs::copy(fixture("external/cnn_digits.onnx"), &model).unwrap();
        if let Some(data) = data {
            std::fs::write(dir.join("cnn_digits.onnx.data"), data).unwrap();
        }
        model
    }

    #[test]
    fn weights_in_an_external_data_file_are_read_into_the_model() {
        // The model as `onnx.save(..., save_as_external_data=True)` writes it: every weight in
        // cnn_digits.onnx.data beside it. Read in, it compiles to exactly the build of the
        // model with its weights inline.
        let inline = OnnxFile::read(&fixture("corpus/cnn_digits.onnx")).unwrap();
        let samples = load_calibration(&fixture("corpus/cnn_digits.calibration.json")).unwrap();
        let opts = snarkml_circuits::quantize::CompileOptions::default();
        let external = OnnxFile::read(&fixture("external/cnn_digits.onnx")).unwrap();
        assert_ne!(external.bytes.len(), inline.bytes.len());
        // The same model but for the hash of its source (the inline file's bytes; for the
        // other, the model with its data read in).
        let compile = |f: &OnnxFile| {
            let mut model = snarkml_circuits::quantize::compile(f.onnx(), &samples, &opts).unwrap();
            let source = std::mem::take(&mut model.source_sha256);
            (model, source)
        };
        let ((a, a_source), (b, b_source)) = (compile(&external), compile(&inline));
        assert!(a == b, "the external-data model compiles to another build");
        assert_ne!(a_source, b_source);
        // A model with no external data is taken as it is.
        assert_eq!(
            inline.bytes,
            read(&fixture("corpus/cnn_digits.onnx")).unwrap()
        );
    }

    #[test]
    fn a_missing_short_or_outside_external_data_file_is_refused_naming_it() {
        let data = read(&fixture("external/cnn_digits.onnx.data")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let error = |model: &Path| OnnxFile::read(model).unwrap_err().to_string();

        let missing = dir.path().join("missing");
        std::fs::create_dir(&missing).unwrap();
        let model = external_model(&missing, None);
        let line = error(&model);
        assert!(
            line.starts_with(&format!("{}: invalid model at node `", model.display()))
                && line
                    .contains("its values are in the external data file `cnn_digits.onnx.data`: ")
                && line.contains("No such file or directory"),
            "{line}"
        );

        // One byte short: the last tensor's bytes run past the end of the file.
        let short = dir.path().join("short");
        std::fs::create_dir(&short).unwrap();
        let line = error(&external_model(&short, Some(&data[..data.len() - 1])));
        assert!(
            line.contains(&format!("are past its end ({} bytes)", data.len() - 1)),
            "{line}"
        );

        // The data file a link to one outside the model's folder.
        let linked = dir.path().join("linked");
        std::fs::create_dir(&linked).unwrap();
        let model = external_model(&linked, None);
        std::fs::write(dir.path().join("elsewhere.data"), &data).unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("elsewhere.data"),
            linked.join("cnn_digits.onnx.data"),
        )
        .unwrap();
        let line = error(&model);
        assert!(
            line.contains("it links out of the model's folder"),
            "{line}"
        );

        // Locations that leave the folder by their own path are refused before any read.
        for location in ["../elsewhere.data", "/etc/passwd", ""] {
            assert_eq!(
                read_external(&linked, location).unwrap_err(),
                "not a relative path inside the model's folder",
                "{location}"
            );
        }
        assert_eq!(read_external(dir.path(), "./elsewhere.data").unwrap(), data);
        let line = read_external(dir.path(), "linked").unwrap_err();
        assert!(line.ends_with("linked is not a file"), "{line}");
    }
}
