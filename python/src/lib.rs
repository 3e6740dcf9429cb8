//! `snarkml._snarkml`: the pipeline as a Python extension module. A thin layer: each function
//! calls the `snarkml` library's step of the same name with the GIL released, and returns
//! JSON text that the Python package (`python/snarkml/__init__.py`) turns into objects and
//! numpy arrays. An error becomes the exception of its kind ([`raise`]) carrying the CLI's
//! one-line message; a panic in a step becomes an `InternalError`, never a crash.

use eyre::Result;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use snarkml::artifacts::BuildDir;
use snarkml::chain::ChainConfig;

use snarkml::circuits::CircuitError;
use snarkml::pipeline;
use std::path::PathBuf;

create_exception!(_snarkml, SnarkmlError, PyException, "Any error of snarkml.");
create_exception!(_snarkml, InvalidModel, SnarkmlError, "A model the compiler refuses: not ONNX, an unsupported op, a bad shape, a missed accuracy target.");
create_exception!(
    _snarkml,
    UnsupportedOp,
    InvalidModel,
    "The model uses an ONNX op the compiler does not support."
);
create_exception!(
    _snarkml,
    InvalidInput,
    SnarkmlError,
    "Inputs that do not fit the model: their count, shape, type or range."
);
create_exception!(
    _snarkml,
    InvalidProof,
    SnarkmlError,
    "A proof that does not verify, or a proof file that shows what its proof does not prove."
);
create_exception!(_snarkml, InvalidFile, SnarkmlError, "A file that cannot be read or is not what it should be (a build step not run yet, an edited file).");
create_exception!(
    _snarkml,
    ChainError,
    SnarkmlError,
    "A chain call failed: the endpoint, a transaction, a contract."
);
create_exception!(
    _snarkml,
    InternalError,
    SnarkmlError,
    "A bug of snarkml (a panic in a step): please report it."
);

/// The exception of `e`'s kind, with the CLI's one-line message.
fn raise(e: eyre::Report, chain: bool) -> PyErr {
    let line = snarkml::cli::one_line(&e);
    let circuit = e
        .chain()
        .find_map(|c| c.downcast_ref::<CircuitError>())
        .map(CircuitError::content);
    match circuit {
        Some(CircuitError::UnsupportedOp { .. }) => UnsupportedOp::new_err(line),
        Some(
            CircuitError::NotOnnx { .. }
            | CircuitError::InvalidModel { .. }
            | CircuitError::BadShape { .. }
            | CircuitError::AccuracyMissed { .. }
            | CircuitError::WorstSampleMissed { .. }
            | CircuitError::CircuitTooLarge { .. },
        ) => InvalidModel::new_err(line),
        Some(
            CircuitError::InputShape { .. }
            | CircuitError::InputCount { .. }
            | CircuitError::Overflow { .. }
            | CircuitError::BadValue { .. },
        ) => InvalidInput::new_err(line),
        Some(
            CircuitError::ProofRejected(_)
            | CircuitError::TrailingProofBytes { .. }
            | CircuitError::UnprovenField { .. },
        ) => InvalidProof::new_err(line),
        Some(
            CircuitError::Io { .. }
            | CircuitError::Json { .. }
            | CircuitError::UnsupportedFormat { .. }
            | CircuitError::Malformed(_)
            | CircuitError::CorruptKey { .. },
        ) => InvalidFile::new_err(line),
        // A build step not run yet ("… is missing: run `snarkml setup` first").
        _ if e.chain().any(|c| c.is::<snarkml::artifacts::MissingStep>()) => {
            InvalidFile::new_err(line)
        }
        _ if chain => ChainError::new_err(line),
        _ => SnarkmlError::new_err(line),
    }
}

/// Runs a step without the GIL; its error or panic becomes a Python exception.
fn step<T: Send>(py: Python<'_>, chain: bool, f: impl FnOnce() -> Result<T> + Send) -> PyResult<T> {
    py.detach(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)))
        .map_err(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            InternalError::new_err(format!("internal error: {what}"))
        })?
        .map_err(|e| raise(e, chain))
}

fn json(value: impl serde::Serialize) -> Result<String> {
    Ok(serde_json::to_string(&value)?)
}

/// Generates the keys of `build` from the SRS at `srs` (default: the cached development SRS
/// of exactly its k); returns what setup recorded.
#[pyfunction]
#[pyo3(signature = (build, srs=None))]
fn setup(py: Python<'_>, build: PathBuf, srs: Option<PathBuf>) -> PyResult<String> {
    step(py, false, || {
        let build = BuildDir::new(build);
        let srs = match srs {
            Some(s) => s,
            None => pipeline::dev_srs_for(&build)?.0,
        };
        json(pipeline::setup(&build, &srs)?)
    })
}

/// Runs the model of `build` on the input file `input` with the circuit's arithmetic; returns
/// the outputs.
#[pyfunction]
fn run(py: Python<'_>, build: PathBuf, input: PathBuf) -> PyResult<String> {
    step(py, false, || {
        json(pipeline::run(&BuildDir::new(build), &input)?)
    })
}

/// Checks every constraint of the circuit of `build` on `input` (MockProver).
#[pyfunction]
fn mock(py: Python<'_>, build: PathBuf, input: PathBuf) -> PyResult<()> {
    step(py, false, || {
        pipeline::mock(&BuildDir::new(build), &input)?;
        Ok(())
    })
}

/// Proves `build`'s model on `input`, writing the proof file `out`; returns it.
#[pyfunction]
#[pyo3(signature = (build, input, out, for_aggregation=false))]
fn prove(
    py: Python<'_>,
    build: PathBuf,
    input: PathBuf,
    out: PathBuf,
    for_aggregation: bool,
) -> PyResult<String> {
    step(py, false, || {
        let transcript = if for_aggregation {
            snarkml::circuits::prover::Transcript::Poseidon
        } else {
            snarkml::circuits::prover::Transcript::Keccak
        };
        json(pipeline::prove(
            &BuildDir::new(build),
            &input,
            &out,
            transcript,
        )?)
    })
}

/// Verifies the proof file `proof` against `build`'s keys; returns what it proves.
#[pyfunction]
fn verify(py: Python<'_>, build: PathBuf, proof: PathBuf) -> PyResult<String> {
    step(py, false, || {
        json(pipeline::verify(&BuildDir::new(build), &proof)?)
    })
}

/// Rows, k and predicted proving time of `build`, layer by layer.
#[pyfunction]
fn profile(py: Python<'_>, build: PathBuf) -> PyResult<String> {
    step(py, false, || {
        json(pipeline::profile(&BuildDir::new(build))?)
    })
}

/// The proving time the cost model predicts for `build`'s circuit (keygen takes about as
/// long), from `model.json` alone: what the progress bar of a long step runs against.
#[pyfunction]
fn predicted_prove_s(py: Python<'_>, build: PathBuf) -> PyResult<f64> {
    step(py, false, || {
        let model = pipeline::compiled_model(&BuildDir::new(build))?;
        Ok(pipeline::predicted_prove_seconds(&model))
    })
}

/// Generates `build`'s Solidity verifier into `out_dir`: the self-contained form (the CLI's
/// and the library's default), or with `reusable` the shared `Halo2Verifier` plus this
/// circuit's verifying-key contract. Returns its form and sizes.
#[pyfunction]
#[pyo3(signature = (build, out_dir, reusable=false))]
fn gen_verifier(
    py: Python<'_>,
    build: PathBuf,
    out_dir: PathBuf,
    reusable: bool,
) -> PyResult<String> {
    step(py, false, || {
        let form = if reusable {
            snarkml::verifier_gen::VerifierForm::Reusable
        } else {
            snarkml::verifier_gen::VerifierForm::default()
        };
        let a = pipeline::gen_verifier(&BuildDir::new(build), &out_dir, form)?;
        json(serde_json::json!({
            "form": a.form,
            "verifier_runtime_size": a.verifier_runtime_size,
            "adapter_runtime_size": a.adapter_runtime_size,
            "vk_artifact_hash": a.vk_artifact_hash,
        }))
    })
}

/// The chain and signer as the CLI resolves them: anvil's first account only on a local
/// chain, else the key must be given.
fn chain_config(rpc_url: String, private_key: Option<String>) -> Result<ChainConfig> {
    snarkml::cli::RpcOpts {
        rpc_url: Some(rpc_url),
        private_key,
    }
    .config()
}

/// Deploys `build`'s verifier (after `gen_verifier`) to the chain at `rpc_url`, signing with
/// `private_key` (default: anvil's first account); returns the deployment record.
#[pyfunction]
#[pyo3(signature = (build, rpc_url, private_key=None, insecure_srs=false))]
fn deploy(
    py: Python<'_>,
    build: PathBuf,
    rpc_url: String,
    private_key: Option<String>,
    insecure_srs: bool,
) -> PyResult<String> {
    step(py, true, || {
        let cfg = chain_config(rpc_url, private_key)?;
        json(snarkml::cli::block_on(pipeline::deploy(
            &BuildDir::new(build),
            &cfg,
            insecure_srs,
            None,
        ))?)
    })
}

/// Sends `proof` to the deployed verifier of `build` (its `deployment.json`, or `address`);
/// returns the gas used. A proof the contract rejects raises `InvalidProof`.
#[pyfunction]
#[pyo3(signature = (build, proof, rpc_url, address=None, private_key=None))]
fn verify_onchain(
    py: Python<'_>,
    build: PathBuf,
    proof: PathBuf,
    rpc_url: String,
    address: Option<String>,
    private_key: Option<String>,
) -> PyResult<Option<u64>> {
    let verdict = step(py, true, || {
        let build = BuildDir::new(build);
        let address = pipeline::verifier_address(&build, address.as_deref())?;
        let cfg = chain_config(rpc_url, private_key)?;
        let verdict =
            snarkml::cli::block_on(pipeline::verify_onchain(&build, &proof, address, &cfg))?;
        Ok((verdict, address))
    })?;
    match verdict {
        (v, _) if v.valid => Ok(v.gas_used),
        (_, address) => Err(InvalidProof::new_err(format!(
            "the on-chain verifier at {address} rejected the proof"
        ))),
    }
}

/// Runs any command line (`args`, without the program name) in this process as `snarkml ARGS
/// --json` would and returns its JSON: the commands the package has no call of its own for
/// (the escrow, bounty and marketplace among them). `chain` says an error is the chain's.
#[pyfunction]
#[pyo3(signature = (args, chain=false))]
fn cli(py: Python<'_>, args: Vec<String>, chain: bool) -> PyResult<String> {
    step(py, chain, || json(snarkml::cli::run_json(args)?))
}

/// Generates a development SRS of `2^k` points from `seed` into `out` (INSECURE: anyone who
/// knows the seed can forge proofs).
#[pyfunction]
#[pyo3(signature = (k, out, seed=0))]
fn srs_gen(py: Python<'_>, k: u32, out: PathBuf, seed: u64) -> PyResult<()> {
    step(py, false, || {
        pipeline::srs_gen(k, seed, &out)?;
        Ok(())
    })
}

/// The extension module.
#[pymodule]
fn _snarkml(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    for (name, class) in [
        ("SnarkmlError", py.get_type::<SnarkmlError>()),
        ("InvalidModel", py.get_type::<InvalidModel>()),
        ("UnsupportedOp", py.get_type::<UnsupportedOp>()),
        ("InvalidInput", py.get_type::<InvalidInput>()),
        ("InvalidProof", py.get_type::<InvalidProof>()),
        ("InvalidFile", py.get_type::<InvalidFile>()),
        ("ChainError", py.get_type::<ChainError>()),
        ("InternalError", py.get_type::<InternalError>()),
    ] {
        m.add(name, class)?;
    }
    m.add_function(wrap_pyfunction!(setup, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(mock, m)?)?;
    m.add_function(wrap_pyfunction!(prove, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(profile, m)?)?;
    m.add_function(wrap_pyfunction!(predicted_prove_s, m)?)?;
    m.add_function(wrap_pyfunction!(gen_verifier, m)?)?;
    m.add_function(wrap_pyfunction!(deploy, m)?)?;
    m.add_function(wrap_pyfunction!(verify_onchain, m)?)?;
    m.add_function(wrap_pyfunction!(srs_gen, m)?)?;
    m.add_function(wrap_pyfunction!(cli, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
