//! The prompt sale's delivery circuit: a seller proves that a ciphertext published on-chain
//! encrypts, to the buyer's Grumpkin key, exactly the prompt behind the listed commitment.
//!
//! Public instances, in order (see [`DeliveryInstances`]):
//! ```text
//! C_p, PK.x, PK.y, nonce, R.x, R.y, c_0 … c_{m−1}, tag
//! ```
//! Private: the prompt `p` (the quantized input values the listing's inference proof commits
//! to), its salt, and the ephemeral scalar `r` (as its 254 bits). The circuit constrains
//! - `C_p = Poseidon(p ‖ salt)` — the commitment of [`crate::io::commit_quantized`], so it is
//!   the hashed input of the listing's inference proof;
//! - `PK` is on the curve, `R = r·G` (fixed base) and `S = r·PK` (variable base);
//! - `c ‖ tag = Enc_S,nonce(p ‖ salt)`, the duplex cipher of [`crate::cipher::encrypt`].
//!
//! The buyer, holding `sk` with `PK = sk·G`, computes `S = sk·R`, decrypts `p ‖ salt` and can
//! check the opening against `C_p` (see [`open`]). The nonce is the order's id, so one
//! ciphertext cannot be replayed for another order.

pub mod grumpkin;
pub mod sponge;

use crate::cipher::{self, generator, scalar_from_field, Point};
use crate::error::{CircuitError, Result};
use crate::prover::{self, Transcript};
use crate::{Bn256, Fr, G1Affine};
use grumpkin::{GrumpkinChip, SCALAR_BITS};
use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{keygen_pk, keygen_vk, ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::{
    BaseCircuitParams, CircuitBuilderStage,
};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use snark_verifier_sdk::snark_verifier::halo2_base::gates::{GateChip, GateInstructions};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The smallest `log2` of the delivery circuit's rows.
pub const MIN_K: u32 = 14;
/// Advice columns the delivery circuit is laid out in, at most: each column is four queries in
/// the verifier, so fewer columns keep its contract well under the EIP-170 size limit.
pub const MAX_COLUMNS: usize = 4;
/// Rows halo2-base keeps free for blinding.
const MINIMUM_ROWS: usize = 20;
/// Instances before the ciphertext: `C_p, PK.x, PK.y, nonce, R.x, R.y`.
const HEADER: usize = 6;

/// Ciphertext elements (blocks and tag) for a prompt of `len` values (the salt is encrypted too).
pub fn ciphertext_len(len: usize) -> usize {
    (len + 1).div_ceil(2) * 2 + 1
}

/// Public instances of a delivery of a `len`-value prompt: the header, then the ciphertext.
pub fn num_instances(len: usize) -> usize {
    HEADER + ciphertext_len(len)
}

/// What a delivery proof shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryInstances {
    /// The prompt commitment `C_p` of the listing.
    pub commitment: Fr,
    /// The buyer's public key from the order.
    pub buyer: Point,
    /// The nonce (the order's id).
    pub nonce: Fr,
    /// The ephemeral point `R = r·G`.
    pub ephemeral: Point,
    /// The ciphertext of `prompt ‖ salt`, tag last.
    pub ciphertext: Vec<Fr>,
}

impl DeliveryInstances {
    /// The public instances, in the circuit's order.
    pub fn to_fields(&self) -> Vec<Fr> {
        let b = self.buyer;
        let r = self.ephemeral;
        let mut v = vec![self.commitment, b.x, b.y, self.nonce, r.x, r.y];
        v.extend(&self.ciphertext);
        v
    }

    /// Reads instances of a delivery of a `len`-value prompt; refuses a wrong count or a point
    /// off the curve.
    pub fn from_fields(len: usize, v: &[Fr]) -> Result<Self> {
        let want = num_instances(len);
        if v.len() != want {
            return Err(CircuitError::Incompatible(format!(
                "a delivery of a {len}-value prompt has {want} instances, not {}",
                v.len()
            )));
        }
        let point = |x: Fr, y: Fr, what: &str| {
            Point::new(x, y)
                .ok_or_else(|| CircuitError::Malformed(format!("the {what} is not on Grumpkin")))
        };
        Ok(Self {
            commitment: v[0],
            buyer: point(v[1], v[2], "buyer's key")?,
            nonce: v[3],
            ephemeral: point(v[4], v[5], "ephemeral point")?,
            ciphertext: v[HEADER..].to_vec(),
        })
    }
}

/// The seller's secrets.
#[derive(Clone, Debug)]
pub struct DeliveryWitness {
    /// The prompt: quantized values as field elements.
    pub prompt: Vec<Fr>,
    /// The salt of the commitment.
    pub salt: Fr,
    /// The ephemeral scalar `r`, as a native field element (non-zero).
    pub ephemeral: Fr,
}

impl DeliveryWitness {
    /// The message encrypted: the prompt, then the salt.
    fn message(&self) -> Vec<Fr> {
        let mut m = self.prompt.clone();
        m.push(self.salt);
        m
    }

    /// The public instances of delivering this prompt to `buyer` for order `nonce`, natively.
    pub fn seal(&self, buyer: Point, nonce: Fr) -> Result<DeliveryInstances> {
        let r = scalar_from_field(self.ephemeral);
        let ephemeral = generator().scale(r).ok_or_else(|| CircuitError::BadValue {
            what: "the ephemeral scalar".into(),
            reason: "must not be zero".into(),
        })?;
        let shared = buyer
            .scale(r)
            .expect("a non-zero scalar of a prime-order point");
        Ok(DeliveryInstances {
            commitment: crate::poseidon::commit(&self.prompt, self.salt),
            buyer,
            nonce,
            ephemeral,
            ciphertext: cipher::encrypt(&self.message(), shared, nonce),
        })
    }
}

/// The buyer's side: decrypts a delivery of a `len`-value prompt with the secret key `sk`
/// and checks that it opens the commitment. Returns the prompt and its salt.
pub fn open(d: &DeliveryInstances, len: usize, sk: cipher::Scalar) -> Result<(Vec<Fr>, Fr)> {
    let shared = d
        .ephemeral
        .scale(sk)
        .ok_or_else(|| CircuitError::BadValue {
            what: "the secret key".into(),
            reason: "must not be zero".into(),
        })?;
    let mut message =
        cipher::decrypt(&d.ciphertext, len + 1, shared, d.nonce).ok_or_else(|| {
            CircuitError::ProofRejected(
                "the ciphertext does not decrypt under this key (another buyer's delivery?)".into(),
            )
        })?;
    let salt = message.pop().expect("len + 1 values");
    if crate::poseidon::commit(&message, salt) != d.commitment {
        return Err(CircuitError::ProofRejected(
            "the decrypted prompt does not open the listed commitment".into(),
        ));
    }
    Ok((message, salt))
}

/// The layout of a delivery circuit for one prompt length (what proving needs besides the key).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeliveryShape {
    /// Prompt length.
    pub len: usize,
    /// halo2-base's configuration.
    pub config: BaseCircuitParams,
    /// Where halo2-base breaks its columns.
    pub break_points: MultiPhaseThreadBreakPoints,
}

/// Builds the circuit in `stage` for the witness, returning the builder and its instances.
fn build(
    stage: CircuitBuilderStage,
    k: u32,
    w: &DeliveryWitness,
    buyer: Point,
    nonce: Fr,
) -> (BaseCircuitBuilder<Fr>, Vec<Fr>) {
    let mut b = BaseCircuitBuilder::from_stage(stage)
        .use_k(k as usize)
        .use_instance_columns(1);
    let gate = GateChip::default();
    let chip = GrumpkinChip::new(&gate);
    let ctx = b.main(0);
    let prompt: Vec<_> = w.prompt.iter().map(|v| ctx.load_witness(*v)).collect();
    let salt = ctx.load_witness(w.salt);
    let mut message = prompt.clone();
    message.push(salt);
    let commitment = sponge::hash(&gate, ctx, &message);
    let pk = chip.load(ctx, buyer.x, buyer.y);
    let nonce = ctx.load_witness(nonce);
    let r = ctx.load_witness(w.ephemeral);
    let bits = gate.num_to_bits(ctx, r, SCALAR_BITS);
    let ephemeral = chip.mul_fixed(ctx, generator(), &bits);
    let shared = chip.mul(ctx, &pk, &bits);
    let ciphertext = sponge::encrypt(&gate, ctx, &message, &shared, nonce);
    let mut public = vec![commitment, pk.x, pk.y, nonce, ephemeral.x, ephemeral.y];
    public.extend(ciphertext);
    let values = public.iter().map(|c| *c.value()).collect();
    b.assigned_instances[0] = public;
    (b, values)
}

/// Builds the circuit in `stage` and sizes it: its `k` is the smallest, from [`MIN_K`], that
/// lays its cells out in at most [`MAX_COLUMNS`] advice columns (the cell count does not depend
/// on the witness). Returns the builder, its instances and `k`.
fn build_sized(
    stage: CircuitBuilderStage,
    w: &DeliveryWitness,
    buyer: Point,
    nonce: Fr,
) -> (BaseCircuitBuilder<Fr>, Vec<Fr>, u32) {
    let (mut b, values) = build(stage, MIN_K, w, buyer, nonce);
    let cells: usize = b.statistics().gate.total_advice_per_phase.iter().sum();
    let mut k = MIN_K;
    while ((1usize << k) - MINIMUM_ROWS - 1) * MAX_COLUMNS < cells {
        k += 1;
    }
    b.set_k(k as usize);
    (b, values, k)
}

/// The `log2` of the rows of the delivery circuit for `len`-value prompts: the smallest, from
/// [`MIN_K`], that lays it out in at most [`MAX_COLUMNS`] advice columns.
pub fn delivery_k(len: usize) -> u32 {
    build_sized(
        CircuitBuilderStage::Keygen,
        &dummy(len),
        generator(),
        Fr::ZERO,
    )
    .2
}

/// A witness of the right shape for key generation (its values do not matter).
fn dummy(len: usize) -> DeliveryWitness {
    DeliveryWitness {
        prompt: vec![Fr::ZERO; len],
        salt: Fr::ZERO,
        ephemeral: Fr::ONE,
    }
}

/// Checks every constraint of the delivery of `w` to `buyer` for order `nonce` against the
/// `claimed` instances with halo2's MockProver (no proof). Fails unless the claim is exactly
/// what the witness produces.
pub fn mock(
    w: &DeliveryWitness,
    buyer: Point,
    nonce: Fr,
    claimed: &DeliveryInstances,
) -> Result<()> {
    let (mut b, _, k) = build_sized(CircuitBuilderStage::Mock, w, buyer, nonce);
    b.calculate_params(Some(MINIMUM_ROWS));
    let prover =
        MockProver::run(k, &b, vec![claimed.to_fields()]).map_err(|e| CircuitError::Halo2 {
            stage: "delivery mock proving",
            reason: e.to_string(),
        })?;
    prover.verify().map_err(|failures| {
        CircuitError::ProofRejected(format!(
            "{} delivery constraints fail, first: {}",
            failures.len(),
            failures[0]
        ))
    })
}

/// The delivery circuit's keys for prompts of `len` values.
pub struct DeliveryKeys {
    /// The proving key.
    pub pk: ProvingKey<G1Affine>,
    /// Its layout.
    pub shape: DeliveryShape,
}

fn halo2(stage: &'static str) -> impl Fn(halo2_proofs::plonk::Error) -> CircuitError {
    move |e| CircuitError::Halo2 {
        stage,
        reason: e.to_string(),
    }
}

/// Generates the delivery circuit's keys for prompts of `len` values; `params` holds exactly
/// `2^k` points for `k =` [`delivery_k`]`(len)`.
pub fn keygen(params: &ParamsKZG<Bn256>, len: usize) -> Result<DeliveryKeys> {
    let (mut b, _, k) = build_sized(
        CircuitBuilderStage::Keygen,
        &dummy(len),
        generator(),
        Fr::ZERO,
    );
    if params.k() != k {
        return Err(CircuitError::WrongK {
            circuit: format!("the delivery circuit for {len}-value prompts"),
            want: k,
            got: params.k(),
        });
    }
    let config = b.calculate_params(Some(MINIMUM_ROWS));
    let vk = keygen_vk(params, &b).map_err(halo2("delivery verifying key generation"))?;
    let pk = keygen_pk(params, vk, &b).map_err(halo2("delivery proving key generation"))?;
    Ok(DeliveryKeys {
        pk,
        shape: DeliveryShape {
            len,
            config,
            break_points: b.break_points(),
        },
    })
}

/// Proves the delivery of `w` to `buyer` for order `nonce` (Keccak transcript, for the EVM).
pub fn prove(
    params: &ParamsKZG<Bn256>,
    keys: &DeliveryKeys,
    w: &DeliveryWitness,
    buyer: Point,
    nonce: Fr,
) -> Result<(Vec<u8>, DeliveryInstances)> {
    if w.prompt.len() != keys.shape.len {
        return Err(CircuitError::Incompatible(format!(
            "the keys are for {}-value prompts, this prompt has {} values",
            keys.shape.len,
            w.prompt.len()
        )));
    }
    let sealed = w.seal(buyer, nonce)?;
    let (b, instances) = build(
        CircuitBuilderStage::Prover,
        keys.shape.config.k as u32,
        w,
        buyer,
        nonce,
    );
    debug_assert_eq!(instances, sealed.to_fields());
    let b = b
        .use_params(keys.shape.config.clone())
        .use_break_points(keys.shape.break_points.clone());
    let proof = prover::create_shplonk_proof(params, &keys.pk, b, &instances, Transcript::Keccak)?;
    Ok((proof, sealed))
}

/// Verifies a delivery proof natively.
pub fn verify(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instances: &DeliveryInstances,
    proof: &[u8],
) -> Result<()> {
    prover::verify(params, vk, &instances.to_fields(), proof)
}

/// Serializes a delivery proving key.
pub fn pk_to_bytes(pk: &ProvingKey<G1Affine>) -> Vec<u8> {
    pk.to_bytes(SerdeFormat::RawBytesUnchecked)
}

/// Reads a delivery proving key of the given shape.
pub fn pk_from_bytes(bytes: &[u8], shape: &DeliveryShape) -> Result<ProvingKey<G1Affine>> {
    let mut r = bytes;
    catch_unwind(AssertUnwindSafe(|| {
        ProvingKey::read::<_, BaseCircuitBuilder<Fr>>(
            &mut r,
            SerdeFormat::RawBytesUnchecked,
            shape.config.clone(),
        )
    }))
    .map_err(|_| CircuitError::corrupt_key("delivery proving key", None))?
    .map_err(|e| CircuitError::corrupt_key("delivery proving key", Some(&e)))
}

/// Reads a delivery verifying key of the given shape.
pub fn vk_from_bytes(bytes: &[u8], shape: &DeliveryShape) -> Result<VerifyingKey<G1Affine>> {
    let mut r = bytes;
    catch_unwind(AssertUnwindSafe(|| {
        VerifyingKey::read::<_, BaseCircuitBuilder<Fr>>(
            &mut r,
            SerdeFormat::RawBytes,
            shape.config.clone(),
        )
    }))
    .map_err(|_| CircuitError::corrupt_key("delivery verifying key", None))?
    .map_err(|e| CircuitError::corrupt_key("delivery verifying key", Some(&e)))
}
