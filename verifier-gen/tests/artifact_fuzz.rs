//! Property tests of the verifying-key artifact decoder (what the reusable verifier reads from
//! chain): random or mutated bytes are refused with an [`ArtifactError`] or decode to an
//! artifact that encodes again, never a panic. Each property runs a bounded number of cases.

use proptest::prelude::*;
use proptest::sample::Index;
use snarkml_circuits::io::InputFile;
use snarkml_circuits::prover;
use snarkml_circuits::quantize::{compile, CompileOptions};
use snarkml_circuits::srs::Srs;
use snarkml_verifier_gen::artifact::{ArtifactError, VkArtifact};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The artifact of the relu3 fixture's verifying key.
fn relu3_artifact() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        let read = |name: &str| std::fs::read(fixtures.join(name)).unwrap();
        let input = InputFile::from_json(&read("relu3.input.json")).unwrap();
        let model = compile(
            snarkml_circuits::model::onnx::OnnxBytes {
                bytes: &read("relu3.onnx"),
                name: "relu3",
            },
            &[input.input_data],
            &CompileOptions::default(),
        )
        .unwrap();
        let srs = Srs::generate_insecure(model.layout.k, 1).unwrap();
        let pk = prover::keygen(&srs.params, &model).unwrap();
        VkArtifact::from_vk(&srs.params, pk.get_vk(), model.num_instances())
            .unwrap()
            .encode()
            .unwrap()
    })
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn random_bytes_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        // Random bytes are refused at the magic (or, shorter than it, as truncated).
        let err = VkArtifact::decode(&bytes).unwrap_err();
        prop_assert!(
            matches!(err, ArtifactError::Magic | ArtifactError::Truncated(_)),
            "{err}"
        );
    }

    #[test]
    fn mutated_artifacts_are_refused_or_round_trip(
        sets in prop::collection::vec((any::<Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = relu3_artifact().to_vec();
        for (at, value) in &sets {
            let i = at.index(bytes.len());
            bytes[i] = *value;
        }
        if let Ok(artifact) = VkArtifact::decode(&bytes) {
            // Whatever decodes is a well-formed artifact: it encodes again, to the same bytes
            // or (ops read back as multiply-adds) to bytes that decode to the same artifact.
            let again = artifact.encode().unwrap();
            prop_assert_eq!(VkArtifact::decode(&again).unwrap(), artifact);
        }
    }

    #[test]
    fn cut_or_extended_artifacts_are_refused(cut in any::<Index>(), extra in 1usize..64) {
        let bytes = relu3_artifact();
        let err = VkArtifact::decode(&bytes[..cut.index(bytes.len())]).unwrap_err();
        prop_assert!(matches!(err, ArtifactError::Truncated(_)), "{err}");
        let mut longer = bytes.to_vec();
        longer.resize(bytes.len() + extra, 0);
        prop_assert_eq!(VkArtifact::decode(&longer), Err(ArtifactError::Trailing(extra)));
    }
}
