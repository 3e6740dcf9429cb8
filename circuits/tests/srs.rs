//! Structured reference strings: the fast development generator, ceremony (`.ptau`) import
//! and its checks, our SRS file format, and trimming.

use rand::SeedableRng;
use snarkml_circuits::error::CircuitError;
use snarkml_circuits::halo2_proofs::halo2curves::bn256::{Fq, Fq2, G2Affine};
use snarkml_circuits::halo2_proofs::halo2curves::ff::Field;
use snarkml_circuits::halo2_proofs::halo2curves::serde::SerdeObject;
use snarkml_circuits::halo2_proofs::halo2curves::CurveAffine;
use snarkml_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snarkml_circuits::halo2_proofs::SerdeFormat;
use snarkml_circuits::ptau;
use snarkml_circuits::srs::{development_seed, params_from_tau, Srs, DEV_SEEDS};
use snarkml_circuits::{Bn256, Fr};

fn bytes(params: &ParamsKZG<Bn256>) -> Vec<u8> {
    let mut out = Vec::new();
    params
        .write_custom(&mut out, SerdeFormat::RawBytes)
        .unwrap();
    out
}

/// The SRS in our file format.
fn file(srs: &Srs) -> Vec<u8> {
    let mut out = Vec::new();
    srs.write(&mut out).unwrap();
    out
}

/// A `.ptau` ceremony file of `2^power` powers of `tau`.
fn ptau_file(tau: Fr, power: u32) -> std::io::Cursor<Vec<u8>> {
    let mut out = Vec::new();
    ptau::write_insecure(&mut out, tau, power).unwrap();
    std::io::Cursor::new(out)
}

fn srs_err(result: Result<Srs, CircuitError>) -> String {
    match result {
        Err(CircuitError::Srs { reason, .. }) => reason,
        Err(other) => panic!("expected an SRS error, got {other}"),
        Ok(_) => panic!("expected an SRS error, got an SRS"),
    }
}

#[test]
fn fast_development_srs_equals_halo2_setup() {
    for k in [1, 4, 6] {
        let fast = Srs::generate_insecure(k, 42).unwrap();
        let reference = ParamsKZG::<Bn256>::setup(k, rand_chacha::ChaCha20Rng::seed_from_u64(42));
        assert_eq!(bytes(&fast.params), bytes(&reference), "k = {k}");
        assert!(fast.insecure);
    }
}

#[test]
fn development_srs_is_deterministic_from_its_seed_and_marked_insecure() {
    let a = file(&Srs::generate_insecure(5, 1).unwrap());
    assert_eq!(a, file(&Srs::generate_insecure(5, 1).unwrap()));
    let loaded = Srs::from_bytes(&a).unwrap();
    assert!(loaded.insecure);
    assert_eq!(loaded.k(), 5);
    assert_ne!(Srs::generate_insecure(5, 2).unwrap().id(), loaded.id());
}

#[test]
fn a_development_srs_is_recognised_by_its_points_whatever_its_flag_byte() {
    for seed in [0, 3, DEV_SEEDS - 1] {
        let mut data = file(&Srs::generate_insecure(4, seed).unwrap());
        assert_eq!(data[9], 1, "the header's insecure flag");
        data[9] = 0;
        for loaded in [
            Srs::from_bytes(&data).unwrap(),
            Srs::from_bytes_trimmed(&data, 2).unwrap(),
        ] {
            assert!(
                loaded.insecure,
                "seed {seed}: flag cleared, still development"
            );
            assert_eq!(loaded.development_seed(), Some(seed));
        }
        let (_, insecure) = snarkml_circuits::srs::read_params(&data).unwrap();
        assert!(insecure, "seed {seed}");
    }

    // Only our own development seeds: not a seed past them, nor any τ someone kept.
    let past = Srs::generate_insecure(4, DEV_SEEDS).unwrap();
    assert_eq!(past.development_seed(), None);
    let data = file(&Srs {
        params: past.params,
        insecure: false,
    });
    assert!(!Srs::from_bytes(&data).unwrap().insecure);
    assert_eq!(development_seed(&params_from_tau(4, Fr::from(77u64))), None);
}

#[test]
fn trimming_keeps_the_srs_and_recomputes_its_lagrange_basis() {
    let tau = Fr::from(123_456_789u64);
    let big = Srs {
        params: params_from_tau(8, tau),
        insecure: true,
    };
    let trimmed = big.trimmed(5).unwrap();
    assert_eq!(bytes(&trimmed), bytes(&params_from_tau(5, tau)));
    assert_eq!(
        big.id(),
        snarkml_circuits::srs::srs_id(&trimmed),
        "the id survives trimming"
    );
    assert!(matches!(
        big.trimmed(9),
        Err(CircuitError::SrsTooSmall {
            need: 9,
            have: 8,
            ..
        })
    ));

    // Parsing only what is needed from a larger file gives the same parameters.
    let data = file(&big);
    let loaded = Srs::from_bytes_trimmed(&data, 5).unwrap();
    assert_eq!(bytes(&loaded.params), bytes(&params_from_tau(5, tau)));
    assert_eq!(
        bytes(&Srs::from_bytes_trimmed(&data, 8).unwrap().params),
        bytes(&big.params)
    );
    assert!(matches!(
        Srs::from_bytes_trimmed(&data, 9),
        Err(CircuitError::SrsTooSmall {
            need: 9,
            have: 8,
            ..
        })
    ));
}

#[test]
fn ceremony_file_imports_to_the_same_srs_as_its_secret() {
    let tau = Fr::from(987_654_321u64);
    let mut ceremony = ptau_file(tau, 6);
    assert_eq!(
        ptau::info(&mut ceremony).unwrap(),
        ptau::PtauInfo {
            power: 6,
            ceremony_power: 6
        }
    );
    let imported = ptau::import(&mut ceremony, Some(5)).unwrap();
    assert!(!imported.insecure, "a ceremony SRS is not marked insecure");
    assert_eq!(bytes(&imported.params), bytes(&params_from_tau(5, tau)));
    let full = ptau::import(&mut ceremony, None).unwrap();
    assert_eq!(full.k(), 6);
    assert_eq!(full.id(), imported.id());
    // Through our file format and back.
    let loaded = Srs::from_bytes(&file(&imported)).unwrap();
    assert!(!loaded.insecure);
    assert_eq!(bytes(&loaded.params), bytes(&imported.params));
}

/// Writes a valid ceremony file, lets `edit` corrupt it, and returns the import error.
fn import_error(edit: impl FnOnce(&mut Vec<u8>), k: Option<u32>) -> String {
    let mut data = ptau_file(Fr::from(5u64), 4).into_inner();
    edit(&mut data);
    srs_err(ptau::import(&mut std::io::Cursor::new(data), k))
}

/// Byte offset of the first tau·G1 point: magic, version, count, header section (12 + 44),
/// then the tau·G1 section's own 12-byte header.
const G1_START: usize = 12 + 12 + 44 + 12;

#[test]
fn corrupted_ceremony_files_are_refused_with_the_reason() {
    // A flipped coordinate byte: no longer a curve point.
    let reason = import_error(|d| d[G1_START + 3 * 64 + 5] ^= 1, None);
    assert!(
        reason.contains("tau·G1 point 3 is not a valid BN254 point"),
        "{reason}"
    );

    // A valid point in the wrong place (G1 itself as τ^3·G1): only the pairing check sees it.
    let reason = import_error(
        |d| {
            let g = d[G1_START..G1_START + 64].to_vec();
            d[G1_START + 3 * 64..G1_START + 4 * 64].copy_from_slice(&g);
        },
        None,
    );
    assert!(reason.contains("pairing check failed"), "{reason}");

    // Truncated.
    let reason = import_error(|d| d.truncate(d.len() - 100), None);
    assert!(reason.contains("truncated"), "{reason}");

    // Not a ptau file at all.
    let reason = import_error(|d| d[..4].copy_from_slice(b"zkey"), None);
    assert!(reason.contains("bad magic"), "{reason}");
}

#[test]
fn ceremony_of_the_wrong_curve_or_size_is_refused() {
    // A different base-field prime (BLS12-381's first bytes): another curve.
    let reason = import_error(|d| d[12 + 12 + 4] ^= 0xff, None);
    assert!(reason.contains("wrong curve"), "{reason}");
    // 48-byte field elements (BLS12-381).
    let reason = import_error(
        |d| d[12 + 12..12 + 12 + 4].copy_from_slice(&48u32.to_le_bytes()),
        None,
    );
    assert!(reason.contains("wrong curve"), "{reason}");
    // More powers than the file holds.
    let reason = import_error(|_| {}, Some(5));
    assert!(reason.contains("2^4 powers, 2^5 are needed"), "{reason}");
}

#[test]
fn srs_files_of_the_wrong_kind_or_size_are_refused() {
    let data = file(&Srs::generate_insecure(4, 0).unwrap());

    let reason = srs_err(Srs::from_bytes(&data[..data.len() - 1]));
    assert!(reason.contains("truncated or corrupted"), "{reason}");

    let reason = srs_err(Srs::from_bytes(&[b"ptau".as_slice(), &[0u8; 96]].concat()));
    assert!(reason.contains("bad magic"), "{reason}");

    let mut bad = data.clone();
    bad[14 + 64 + 10] ^= 0x55; // inside the second G1 point
    let reason = srs_err(Srs::from_bytes(&bad));
    assert!(
        reason.contains("G1 point 1 is not a valid BN254 point"),
        "{reason}"
    );
}

/// A point on BN254's G2 twist curve outside the prime-order subgroup.
fn g2_point_outside_subgroup() -> G2Affine {
    let b = G2Affine::b();
    (1u64..)
        .find_map(|i| {
            let x = Fq2::new(Fq::from(i), Fq::ONE);
            let y: Option<Fq2> = (x.square() * x + b).sqrt().into();
            y.map(|y| G2Affine { x, y })
        })
        .filter(|p| bool::from(p.is_on_curve()) && !snarkml_circuits::srs::in_g2_subgroup(p))
        .expect("a twist point outside the subgroup")
}

#[test]
fn a_g2_point_outside_the_subgroup_is_refused() {
    let mut data = file(&Srs::generate_insecure(4, 0).unwrap());
    let at = data.len() - 128; // [τ]G2, the last point
    data[at..].copy_from_slice(&g2_point_outside_subgroup().to_raw_bytes());
    let reason = srs_err(Srs::from_bytes(&data));
    assert!(
        reason.contains("not in the prime-order subgroup"),
        "{reason}"
    );
}
