//! The prompt sale's delivery circuit: the honest delivery satisfies every constraint, proves
//! and verifies, and the buyer decrypts exactly the prompt; a delivery claimed for another key,
//! another prompt, another ephemeral point, another order or an edited ciphertext fails.

mod common;

use rand::SeedableRng;
use snarkml_circuits::cipher::{self, random_scalar, Point};
use snarkml_circuits::error::CircuitError;
use snarkml_circuits::halo2_proofs::halo2curves::ff::Field;
use snarkml_circuits::io::commit_quantized;
use snarkml_circuits::prompt::{self, DeliveryInstances, DeliveryWitness};
use snarkml_circuits::Fr;

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(21)
}

/// A prompt of quantized values, as the listing's inference proof commits to it.
fn witness(values: &[i64], rng: &mut impl rand::RngCore) -> DeliveryWitness {
    DeliveryWitness {
        prompt: values
            .iter()
            .map(|v| snarkml_circuits::fixed_point::to_field(i128::from(*v)))
            .collect(),
        salt: Fr::random(&mut *rng),
        ephemeral: Fr::random(&mut *rng),
    }
}

fn keypair(rng: &mut impl rand::RngCore) -> (cipher::Scalar, Point) {
    let sk = random_scalar(rng);
    (sk, cipher::public_key(sk).unwrap())
}

const PROMPT: [i64; 5] = [3, -7, 120, 0, 42];

#[test]
fn honest_delivery_satisfies_the_circuit_and_the_buyer_reads_the_prompt() {
    let mut rng = rng();
    let w = witness(&PROMPT, &mut rng);
    let (sk, pk) = keypair(&mut rng);
    let nonce = Fr::from(17);
    let d = w.seal(pk, nonce).unwrap();
    // The commitment is the one the listing's inference proof shows for a hashed input.
    assert_eq!(d.commitment, commit_quantized(&PROMPT, w.salt));
    assert_eq!(d.ciphertext.len(), prompt::ciphertext_len(PROMPT.len()));
    prompt::mock(&w, pk, nonce, &d).unwrap();
    let (opened, salt) = prompt::open(&d, PROMPT.len(), sk).unwrap();
    assert_eq!(opened, w.prompt);
    assert_eq!(salt, w.salt);
    // Another buyer's key cannot read it.
    let (other_sk, _) = keypair(&mut rng);
    assert!(matches!(
        prompt::open(&d, PROMPT.len(), other_sk),
        Err(CircuitError::ProofRejected(m)) if m.contains("does not decrypt under this key")
    ));
    // The instances round-trip through their field form.
    let back = DeliveryInstances::from_fields(PROMPT.len(), &d.to_fields()).unwrap();
    assert_eq!(back, d);
    assert!(matches!(
        DeliveryInstances::from_fields(PROMPT.len() + 2, &d.to_fields()),
        Err(CircuitError::Incompatible(m)) if m.contains("instances, not")
    ));
}

#[test]
fn deliveries_to_another_key_of_another_prompt_or_with_another_r_fail() {
    let mut rng = rng();
    let w = witness(&PROMPT, &mut rng);
    let (_, pk) = keypair(&mut rng);
    let (_, other_pk) = keypair(&mut rng);
    let nonce = Fr::from(17);
    let honest = w.seal(pk, nonce).unwrap();
    let fails = |claimed: &DeliveryInstances, what: &str| {
        let err = prompt::mock(&w, pk, nonce, claimed).expect_err(what);
        assert!(
            err.to_string().contains("constraints fail"),
            "{what}: {err}"
        );
    };

    // Encrypted to another key, but claimed for the buyer's key.
    let mut to_other = w.seal(other_pk, nonce).unwrap();
    to_other.buyer = pk;
    fails(&to_other, "a ciphertext for another key");
    // The buyer's key swapped for another in the claim (the ciphertext kept).
    let mut swapped = honest.clone();
    swapped.buyer = other_pk;
    fails(&swapped, "another buyer key");

    // Another prompt under the listed commitment.
    let mut other_prompt = witness(&[3, -7, 121, 0, 42], &mut rng);
    other_prompt.salt = w.salt;
    other_prompt.ephemeral = w.ephemeral;
    let mut forged = other_prompt.seal(pk, nonce).unwrap();
    forged.commitment = honest.commitment;
    fails(&forged, "the ciphertext of another prompt");
    // The right ciphertext under another commitment.
    let mut recommitted = honest.clone();
    recommitted.commitment += Fr::ONE;
    fails(&recommitted, "another commitment");

    // An ephemeral point that is not r·G (here another multiple of G).
    let mut wrong_r = honest.clone();
    wrong_r.ephemeral = wrong_r.ephemeral.checked_add(cipher::generator()).unwrap();
    fails(&wrong_r, "another R");

    // Another order's nonce.
    let mut replayed = honest.clone();
    replayed.nonce = Fr::from(18);
    fails(&replayed, "another nonce");

    // One ciphertext element, or the tag, edited.
    for i in [0, honest.ciphertext.len() - 1] {
        let mut edited = honest.clone();
        edited.ciphertext[i] += Fr::ONE;
        fails(&edited, "an edited ciphertext");
    }
}

#[test]
fn delivery_proofs_verify_with_their_key_and_not_for_other_instances() {
    use snarkml_circuits::srs::Srs;
    let mut rng = rng();
    let k = prompt::delivery_k(PROMPT.len());
    assert!(k >= prompt::MIN_K);
    let srs = Srs::generate_insecure(k, 3).unwrap();
    let keys = prompt::keygen(&srs.params, PROMPT.len()).unwrap();
    let w = witness(&PROMPT, &mut rng);
    let (sk, pk) = keypair(&mut rng);
    let nonce = Fr::from(2);
    let (proof, d) = prompt::prove(&srs.params, &keys, &w, pk, nonce).unwrap();
    let vk = keys.pk.get_vk();
    prompt::verify(&srs.params, vk, &d, &proof).unwrap();
    assert_eq!(prompt::open(&d, PROMPT.len(), sk).unwrap().0, w.prompt);
    // The key is pinned, and a proof of an earlier version still verifies with it.
    common::pin::check_pin(
        "prompt_delivery_5",
        &snarkml_circuits::prover::vk_hash(vk),
        || (d.to_fields(), proof.clone()),
        |instances, proof| snarkml_circuits::prover::verify(&srs.params, vk, instances, proof),
    );

    // The keys survive serialization.
    let bytes = prompt::pk_to_bytes(&keys.pk);
    let pk2 = prompt::pk_from_bytes(&bytes, &keys.shape).unwrap();
    assert_eq!(
        snarkml_circuits::prover::vk_hash(pk2.get_vk()),
        snarkml_circuits::prover::vk_hash(vk)
    );
    assert!(matches!(
        prompt::pk_from_bytes(&bytes[..bytes.len() / 2], &keys.shape),
        Err(CircuitError::CorruptKey {
            key: "delivery proving key",
            ..
        })
    ));

    let mut other = d.clone();
    other.nonce = Fr::from(3);
    assert!(matches!(
        prompt::verify(&srs.params, vk, &other, &proof),
        Err(CircuitError::ProofRejected(_))
    ));
    let mut flipped = proof.clone();
    flipped[40] ^= 1;
    assert!(matches!(
        prompt::verify(&srs.params, vk, &d, &flipped),
        Err(CircuitError::ProofRejected(_))
    ));
    // A prompt of another length does not fit the keys.
    let short = witness(&PROMPT[..3], &mut rng);
    assert!(matches!(
        prompt::prove(&srs.params, &keys, &short, pk, nonce),
        Err(CircuitError::Incompatible(m)) if m.contains("this prompt has 3 values")
    ));
}
