//! The prompt sale, step by step: the delivery circuit's keys and verifier for a prompt
//! length (a delivery directory), the buyer's Grumpkin key, the seller's listing (an inference
//! proof whose input is hashed) and delivery (a delivery proof of the prompt behind that
//! commitment, encrypted to the order's key), and the buyer's decryption.
//!
//! A delivery directory holds `delivery.json` ([`DeliveryInfo`]), `pk.bin`, `vk.bin`,
//! `params.bin` (the SRS trimmed to the circuit) and, once generated, `verifier.json` and
//! `Halo2Verifier.sol`.

use super::{deploy_artifacts, load_proof, openings_path, Loaded};
use crate::artifacts::{read_bytes, read_json, write_bytes, write_json, BuildDir, Deployment};
use crate::chain::prompt::{self as market, DeliveryEntry, ListingEntry, OrderEntry};
use crate::chain::ChainConfig;
use crate::stored::{read_params, write_params, SrsFile};
use alloy::primitives::{Address, U256};
use eyre::{bail, eyre, Result, WrapErr};
use serde::{Deserialize, Serialize};
use snarkml_circuits::cipher::{self, Point, Scalar};
use snarkml_circuits::fixed_point::{field_from_hex, field_to_hex, from_field, to_field};
use snarkml_circuits::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use snarkml_circuits::io::{commit_quantized, parse_field, InputFile, OpeningsFile};
use snarkml_circuits::prompt::{
    self, DeliveryInstances, DeliveryKeys, DeliveryShape, DeliveryWitness,
};
use snarkml_circuits::prover::{self, Transcript};
use snarkml_circuits::quantize::Visibility;
use snarkml_circuits::srs::{srs_id, Srs};
use snarkml_circuits::Fr;
use snarkml_verifier_gen::{self as vgen, CircuitKind, VerifierArtifacts, VerifierForm};
use std::path::{Path, PathBuf};

/// `format` of `delivery.json`.
pub const DELIVERY_FORMAT: &str = "snarkml-delivery/1";
/// `format` of a buyer's key file.
pub const KEY_FORMAT: &str = "snarkml-grumpkin-key/1";

/// What `market setup` records about a delivery circuit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeliveryInfo {
    /// [`DELIVERY_FORMAT`].
    pub format: String,
    /// Values per prompt.
    pub prompt_len: usize,
    /// Public instances per delivery proof.
    pub num_instances: usize,
    /// Identifier of the SRS.
    pub srs_id: String,
    /// True when the SRS is a development one.
    pub srs_insecure: bool,
    /// SHA-256 of the verifying key.
    pub vk_hash: String,
    /// The circuit's layout.
    pub shape: DeliveryShape,
}

/// A delivery directory.
#[derive(Clone, Debug)]
pub struct DeliveryDir {
    root: PathBuf,
}

impl DeliveryDir {
    /// The directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Its root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// `delivery.json`.
    pub fn info(&self) -> PathBuf {
        self.file("delivery.json")
    }

    /// `verifier.json`.
    pub fn verifier(&self) -> PathBuf {
        self.file("verifier.json")
    }

    /// `deployment.json`.
    pub fn deployment(&self) -> PathBuf {
        self.file("deployment.json")
    }
}

/// The delivery circuit's keys and parameters, loaded.
pub struct LoadedDelivery {
    /// `delivery.json`.
    pub info: DeliveryInfo,
    /// The SRS trimmed to the circuit.
    pub params:
        snarkml_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG<snarkml_circuits::Bn256>,
    /// The keys.
    pub keys: DeliveryKeys,
}

/// Makes the delivery circuit's keys and verifier for prompts of `prompt_len` values into
/// `out`, from the SRS at `srs` (trimmed to [`prompt::delivery_k`]).
pub fn setup_delivery(prompt_len: usize, srs: &Path, out: &DeliveryDir) -> Result<DeliveryInfo> {
    if prompt_len == 0 {
        bail!("a prompt has at least one value");
    }
    let k = prompt::delivery_k(prompt_len);
    let srs = Srs::load_trimmed(srs, k)
        .wrap_err_with(|| format!("the delivery circuit for {prompt_len}-value prompts needs an SRS of at least 2^{k} points"))?;
    let keys = prompt::keygen(&srs.params, prompt_len)
        .wrap_err_with(|| format!("delivery keys for {prompt_len}-value prompts"))?;
    let vk = keys.pk.get_vk();
    let info = DeliveryInfo {
        format: DELIVERY_FORMAT.into(),
        prompt_len,
        num_instances: prompt::num_instances(prompt_len),
        srs_id: srs_id(&srs.params),
        srs_insecure: srs.insecure,
        vk_hash: prover::vk_hash(vk),
        shape: keys.shape.clone(),
    };
    std::fs::create_dir_all(out.root())
        .wrap_err_with(|| format!("cannot create {}", out.root().display()))?;
    write_params(&out.file("params.bin"), &srs.params, srs.insecure)?;
    write_bytes(&out.file("pk.bin"), &prompt::pk_to_bytes(&keys.pk))?;
    write_bytes(&out.file("vk.bin"), &prover::vk_to_bytes(vk))?;
    let solc = vgen::find_solc()?;
    let artifacts = vgen::build(
        &srs.params,
        &srs.id(),
        vk,
        info.num_instances,
        CircuitKind::Model,
        VerifierForm::SelfContained,
        &solc,
    )?;
    super::write_verifier_sources(out.root(), &artifacts)?;
    write_json(&out.verifier(), &artifacts)?;
    write_json(&out.info(), &info)?;
    Ok(info)
}

/// Loads a delivery directory made by [`setup_delivery`].
pub fn load_delivery(dir: &DeliveryDir) -> Result<LoadedDelivery> {
    if !dir.info().exists() {
        bail!(
            "{} is not a delivery directory (no delivery.json): run `snarkml market setup` first",
            dir.root().display()
        );
    }
    let info: DeliveryInfo = read_json(&dir.info())?;
    if info.format != DELIVERY_FORMAT {
        bail!("{}: unknown format `{}`", dir.info().display(), info.format);
    }
    let (params, _) = read_params(&dir.file("params.bin"))?;
    let pk = prompt::pk_from_bytes(&read_bytes(&dir.file("pk.bin"))?, &info.shape)
        .wrap_err_with(|| format!("{}", dir.file("pk.bin").display()))?;
    if prover::vk_hash(pk.get_vk()) != info.vk_hash || srs_id(&params) != info.srs_id {
        bail!(
            "{}: the keys or parameters do not match delivery.json (run `snarkml market setup` again)",
            dir.root().display()
        );
    }
    let keys = DeliveryKeys {
        pk,
        shape: info.shape.clone(),
    };
    Ok(LoadedDelivery { info, params, keys })
}

/// Deploys a delivery directory's verifier (raw verifier and `IVerifier` adapter); keys from a
/// development SRS (as recorded, or as the directory's parameters show) are refused on any
/// chain but a local anvil unless `insecure_srs` (see [`super::refuse_insecure`]).
pub async fn deploy_delivery(
    dir: &DeliveryDir,
    cfg: &ChainConfig,
    insecure_srs: bool,
) -> Result<Deployment> {
    let info: DeliveryInfo = read_json(&dir.info())?;
    let (params, flagged) = read_params(&dir.file("params.bin"))?;
    if srs_id(&params) != info.srs_id {
        bail!(
            "{} does not hold the SRS the keys were made with (run `snarkml market setup` again)",
            dir.file("params.bin").display()
        );
    }
    super::refuse_insecure(cfg, info.srs_insecure || flagged, &params, insecure_srs).await?;
    let artifacts: VerifierArtifacts = read_json(&dir.verifier())?;
    let d = deploy_artifacts(cfg, &artifacts, info.vk_hash, None).await?;
    super::write_deployment(&dir.deployment(), &d)?;
    Ok(d)
}

/// Deploys a `PromptMarketplace` on `registry` with the delivery verifier of each directory
/// (deploying those not yet deployed to this chain).
pub async fn deploy_marketplace(
    cfg: &ChainConfig,
    registry: Address,
    deliveries: &[DeliveryDir],
    insecure_srs: bool,
) -> Result<Address> {
    let chain_id = crate::chain::chain_id(&cfg.rpc_url).await?;
    let mut verifiers = Vec::new();
    for dir in deliveries {
        let info: DeliveryInfo = read_json(&dir.info())?;
        let existing: Option<Deployment> = read_json(&dir.deployment()).ok();
        let d = match existing {
            Some(d)
                if d.chain_id == chain_id
                    && d.vk_hash == info.vk_hash
                    && d.rpc_url == cfg.rpc_url =>
            {
                d
            }
            _ => deploy_delivery(dir, cfg, insecure_srs).await?,
        };
        verifiers.push((info.prompt_len, super::parse_address(&d.verifier)?));
    }
    market::deploy(cfg, registry, &verifiers).await
}

/// A buyer's Grumpkin key pair, as stored in a key file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyFile {
    /// [`KEY_FORMAT`].
    pub format: String,
    /// The secret scalar, `0x` hex (big-endian). Keep it private.
    pub secret: String,
    /// The public key `(x, y)`, `0x` hex.
    pub public: [String; 2],
}

/// A fresh buyer key pair, written to `path` owner-only (mode 0600), refusing to overwrite a
/// file or to write through a symbolic link (see [`crate::artifacts::create_secret_json`]).
pub fn keygen_buyer(path: &Path) -> Result<Point> {
    let sk = cipher::random_scalar(rand::rngs::OsRng);
    let pk = cipher::public_key(sk).expect("a non-zero scalar");
    let mut be = sk.to_repr().as_ref().to_vec();
    be.reverse();
    let file = KeyFile {
        format: KEY_FORMAT.into(),
        secret: format!("0x{}", hex::encode(be)),
        public: [field_to_hex(&pk.x), field_to_hex(&pk.y)],
    };
    crate::artifacts::create_secret_json(path, &file)?;
    Ok(pk)
}

/// Reads a buyer key file; checks that its public key is its secret's.
pub fn load_buyer_key(path: &Path) -> Result<(Scalar, Point)> {
    let file: KeyFile = read_json(path)?;
    if file.format != KEY_FORMAT {
        bail!(
            "{}: not a snarkml key file (format `{}`)",
            path.display(),
            file.format
        );
    }
    let bad = || {
        eyre!(
            "{}: the secret is not a Grumpkin scalar in 0x hex",
            path.display()
        )
    };
    let digits = file.secret.strip_prefix("0x").ok_or_else(bad)?;
    let mut bytes = hex::decode(digits).map_err(|_| bad())?;
    if bytes.len() != 32 {
        return Err(bad());
    }
    bytes.reverse();
    let mut repr = <Scalar as PrimeField>::Repr::default();
    repr.as_mut().copy_from_slice(&bytes);
    let sk: Scalar = Option::from(Scalar::from_repr(repr)).ok_or_else(bad)?;
    let pk = cipher::public_key(sk).ok_or_else(bad)?;
    let stated = (
        field_from_hex(&file.public[0]),
        field_from_hex(&file.public[1]),
    );
    if stated != (Some(pk.x), Some(pk.y)) {
        bail!("{}: the public key is not the secret's", path.display());
    }
    Ok((sk, pk))
}

/// The field form of a `uint256` (refusing values outside the field).
fn to_fr(v: U256, what: &str) -> Result<Fr> {
    let f = field_from_hex(&format!("0x{v:064x}"));
    f.ok_or_else(|| eyre!("{what} {v} is not a field element"))
}

/// The prompt behind a listing proof: the hashed input's quantized values and salt, from the
/// openings file `prove` wrote beside the proof.
pub fn listing_prompt(proof: &Path) -> Result<(Vec<Fr>, Fr, Fr)> {
    let path = openings_path(proof);
    let file: OpeningsFile = read_json(&path).wrap_err(
        "the listing proof's openings (written by `snarkml prove` for a hashed input) are needed",
    )?;
    let mut inputs = file.openings.iter().filter(|o| o.role == "input");
    let (Some(o), None) = (inputs.next(), inputs.next()) else {
        bail!(
            "{}: a prompt is the model's one hashed input; this proof has another number of hashed inputs",
            path.display()
        );
    };
    let salt = parse_field(&o.salt)
        .ok_or_else(|| eyre!("{}: the salt is not a field element", path.display()))?;
    let prompt: Vec<Fr> = o
        .quantized
        .iter()
        .map(|v| to_field(i128::from(*v)))
        .collect();
    let commitment = commit_quantized(&o.quantized, salt);
    if field_from_hex(&o.commitment) != Some(commitment) {
        bail!(
            "{}: the opening does not open its commitment",
            path.display()
        );
    }
    Ok((prompt, salt, commitment))
}

/// Lists the prompt of an inference proof for `model_id` at `price` wei: the proof must be
/// for the EVM and its first instance the hashed prompt. Returns the listing id.
pub async fn list(
    cfg: &ChainConfig,
    market_address: Address,
    model_id: u64,
    build: &BuildDir,
    proof: &Path,
    price: U256,
) -> Result<u64> {
    let Loaded { info, model, .. } = super::load(build)?;
    if model.inputs.len() != 1 || model.inputs[0].visibility != Visibility::Hashed {
        bail!("a listed prompt is the model's one input, compiled with --inputs hashed");
    }
    let (file, instances, bytes) = load_proof(&info, &model, proof)?;
    if file.transcript_kind()? != Transcript::Keccak {
        bail!(
            "{} was made for aggregation; list with a proof made without --for-aggregation",
            proof.display()
        );
    }
    let (prompt, _, commitment) = listing_prompt(proof)?;
    if instances.first() != Some(&commitment) {
        bail!(
            "{}: its first instance is not the prompt commitment of its openings",
            proof.display()
        );
    }
    let instances: Vec<U256> = instances.iter().map(super::field_to_u256).collect();
    market::list(
        cfg,
        market_address,
        model_id,
        &bytes,
        &instances,
        prompt.len(),
        price,
    )
    .await
}

/// The delivery's instances for an order, from the chain's view of the order and listing.
fn order_instances(
    order: &OrderEntry,
    listing: &ListingEntry,
    d: &DeliveryEntry,
) -> Result<DeliveryInstances> {
    let mut v = vec![
        to_fr(listing.prompt_commitment, "the prompt commitment")?,
        to_fr(order.key.0, "the key")?,
        to_fr(order.key.1, "the key")?,
        Fr::from(order.id),
        to_fr(d.ephemeral.0, "R")?,
        to_fr(d.ephemeral.1, "R")?,
    ];
    for c in &d.ciphertext {
        v.push(to_fr(*c, "a ciphertext element")?);
    }
    Ok(DeliveryInstances::from_fields(listing.prompt_len, &v)?)
}

/// Delivers order `order_id`: proves, with the delivery directory's keys, that the prompt behind
/// the listing proof `proof` is encrypted to the order's key, and sends it. The seller is paid
/// in the same transaction. Returns what was published and the seconds proving took.
pub async fn deliver(
    cfg: &ChainConfig,
    market_address: Address,
    order_id: u64,
    delivery: &DeliveryDir,
    proof: &Path,
) -> Result<(DeliveryEntry, f64)> {
    let order = market::order(cfg, market_address, order_id).await?;
    if order.status != "open" {
        bail!("order {order_id} is already {}", order.status);
    }
    let listing = market::listing(cfg, market_address, order.listing_id).await?;
    let (prompt, salt, commitment) = listing_prompt(proof)?;
    if super::field_to_u256(&commitment) != listing.prompt_commitment {
        bail!(
            "the prompt behind {} does not open listing {}'s commitment",
            proof.display(),
            listing.id
        );
    }
    let loaded = load_delivery(delivery)?;
    if loaded.info.prompt_len != listing.prompt_len {
        bail!(
            "{} is for {}-value prompts, listing {} has {} values",
            delivery.root().display(),
            loaded.info.prompt_len,
            listing.id,
            listing.prompt_len
        );
    }
    let buyer = Point::new(
        to_fr(order.key.0, "the key")?,
        to_fr(order.key.1, "the key")?,
    )
    .ok_or_else(|| eyre!("order {order_id}'s key is not a Grumpkin point"))?;
    let witness = DeliveryWitness {
        prompt,
        salt,
        ephemeral: Fr::random(rand::rngs::OsRng),
    };
    let start = std::time::Instant::now();
    let (bytes, instances) = prompt::prove(
        &loaded.params,
        &loaded.keys,
        &witness,
        buyer,
        Fr::from(order_id),
    )?;
    let instances: Vec<U256> = instances
        .to_fields()
        .iter()
        .map(super::field_to_u256)
        .collect();
    let secs = start.elapsed().as_secs_f64();
    let entry = market::deliver(cfg, market_address, order_id, &bytes, &instances).await?;
    Ok((entry, secs))
}

/// A decrypted prompt.
#[derive(Clone, Debug)]
pub struct Decrypted {
    /// The quantized values.
    pub quantized: Vec<i64>,
    /// The commitment's salt.
    pub salt: Fr,
    /// The prompt as an input file of the listing's model (values dequantized, salt kept), so
    /// `snarkml prove` on it reproduces the listed commitment and output.
    pub input: InputFile,
}

/// Decrypts order `order_id`'s delivery with the buyer key in `key`; `build` is the listing's
/// model (public), for the prompt's scale. Checks the prompt opens the listed commitment.
pub async fn decrypt(
    cfg: &ChainConfig,
    market_address: Address,
    order_id: u64,
    key: &Path,
    build: &BuildDir,
) -> Result<Decrypted> {
    let (sk, pk) = load_buyer_key(key)?;
    let order = market::order(cfg, market_address, order_id).await?;
    if (super::field_to_u256(&pk.x), super::field_to_u256(&pk.y)) != order.key {
        bail!("{} is not order {order_id}'s buyer key", key.display());
    }
    let listing = market::listing(cfg, market_address, order.listing_id).await?;
    let Some(d) = market::delivery(cfg, market_address, order_id).await? else {
        bail!(
            "order {order_id} has not been delivered (it is {})",
            order.status
        );
    };
    let instances = order_instances(&order, &listing, &d)?;
    let (prompt, salt) = prompt::open(&instances, listing.prompt_len, sk)?;
    let quantized = prompt
        .iter()
        .map(|f| {
            from_field(f)
                .and_then(|v| i64::try_from(v).ok())
                .ok_or_else(|| eyre!("a decrypted value is out of range"))
        })
        .collect::<Result<Vec<i64>>>()?;
    let model = super::compiled_model(build)?;
    let spec = model
        .inputs
        .first()
        .filter(|s| s.visibility == Visibility::Hashed)
        .ok_or_else(|| {
            eyre!(
                "{} is not a model with a hashed input",
                build.root().display()
            )
        })?;
    let tensor = &model.tensors[spec.tensor];
    if tensor.shape.iter().product::<usize>() != quantized.len() {
        bail!(
            "{} is not listing {}'s model: its input has another size",
            build.root().display(),
            listing.id
        );
    }
    let input = InputFile {
        input_data: vec![spec
            .dequantize(tensor, &quantized)
            .into_iter()
            .map(|v| v as f32)
            .collect()],
        salts: [(tensor.name.clone(), field_to_hex(&salt))]
            .into_iter()
            .collect(),
    };
    Ok(Decrypted {
        quantized,
        salt,
        input,
    })
}

/// What a buyer checks against its own builds before paying for a listing.
#[derive(Clone, Copy, Debug)]
pub struct BuyChecks<'a> {
    /// The listed model's build (the model is public): the registered model's verifier must be
    /// exactly the one it generates.
    pub build: &'a BuildDir,
    /// The delivery directory for the listing's prompt length (`market setup` is
    /// deterministic given the SRS): the marketplace's delivery verifier must be exactly its
    /// verifier.
    pub delivery: &'a DeliveryDir,
}

/// Buys listing `listing_id` for the public key in the key file `key`, paying the listed
/// price, to be delivered within `ttl` seconds, after checking that the listed model's
/// registered verifier and the marketplace's delivery verifier are exactly the ones `checks`
/// generate (a fake verifier would let a seller be paid for a ciphertext of nothing). Returns
/// the order.
pub async fn buy(
    cfg: &ChainConfig,
    market_address: Address,
    listing_id: u64,
    key: &Path,
    ttl: u64,
    checks: BuyChecks<'_>,
) -> Result<OrderEntry> {
    let (_, pk) = load_buyer_key(key)?;
    let listing = market::listing(cfg, market_address, listing_id).await?;
    let (registry, delivery) =
        market::registry_and_delivery(cfg, market_address, listing.prompt_len).await?;
    let model = super::load(checks.build)?.model;
    let weights = model
        .weights_commitment()?
        .map_or(U256::ZERO, |c| super::field_to_u256(&c));
    let entry = crate::chain::escrow::model(cfg, registry, listing.model_id).await?;
    super::binding::check_registered(cfg, checks.build, &entry, weights).await?;
    let info: DeliveryInfo = read_json(&checks.delivery.info())?;
    if info.prompt_len != listing.prompt_len {
        bail!(
            "{} is for {}-value prompts, listing {listing_id}'s prompt has {} values",
            checks.delivery.root().display(),
            info.prompt_len,
            listing.prompt_len
        );
    }
    let artifacts: VerifierArtifacts = read_json(&checks.delivery.verifier())?;
    super::binding::check_verifier(cfg, &artifacts, delivery)
        .await
        .map_err(|e| eyre!("the marketplace's delivery verifier: {e}"))?;
    let deadline = crate::chain::escrow::now(cfg).await? + ttl;
    let key = (super::field_to_u256(&pk.x), super::field_to_u256(&pk.y));
    let id = market::buy(
        cfg,
        market_address,
        listing_id,
        key,
        listing.price,
        deadline,
    )
    .await?;
    market::order(cfg, market_address, id).await
}
