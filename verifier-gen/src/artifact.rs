//! The per-circuit verifying-key artifact of the reusable verifier (issue 9): everything the
//! data-driven `Halo2Verifier` needs about one circuit, as compact bytes — the domain, the
//! counts that fix a proof's layout, the fixed and permutation commitments, the SRS's G2
//! points, the transcript's initial state, SHPLONK's opening plan ([`crate::plan`]) and the
//! quotient numerator as a constraint program ([`crate::numerator`]). One verifier deployed
//! once reads such an artifact (stored as a small data contract, its hash recorded by the
//! registry) instead of every model carrying its own unrolled verifier.
//!
//! Encoding (big-endian; G1 points `x ‖ y`, G2 points `x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0`, 32 bytes
//! per coordinate or scalar):
//! ```text
//! magic "SMVK" | u8 version
//! u8 k | u8 blinding factors | u16 instances | u16 advice | u16 lookups | u16 permutation z's
//! | u16 quotient pieces | u16 fixed commitments | u16 permutation commitments | u16 rotations
//! | u16 opening sets
//! ω | ω⁻¹ | transcript initial state | [1]₂ | −[s]₂
//! fixed commitments | permutation commitments | rotation points ω^ρ
//! per opening set: u8 points | u16 polynomials | per point u8 rotation, weight |
//!                  per polynomial u16 commitment code, u16 evaluation slot per point
//! u32 length | the constraint program
//! u16 first instance of a KZG accumulator to fold into the pairing (0xffff: none)
//! version 3 only: u16 advice columns of the first phase | u16 challenges
//! ```
//!
//! Version 3 is the artifact of a two-phase circuit (randomized checks): its first-phase advice
//! commitments are read, then its challenges squeezed (all usable after the first phase),
//! then the second phase's advice, then θ. A key without challenges keeps version 2, byte for
//! byte.

use crate::bytecode::{Program, ProgramError, VALUES};
use crate::encoding::{
    coordinate_from_be, g2_from_be, g2_to_be, point_from_be, point_to_be, scalar_from_be,
    scalar_to_be,
};
use crate::numerator::{layout, numerator};
use crate::plan::{plan, OpeningSet};
use halo2_proofs::halo2curves::bn256::G2Affine;
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;

/// Format magic and version.
const MAGIC: &[u8; 4] = b"SMVK";
const VERSION: u8 = 2;
/// The version of artifacts with challenges (a second phase).
const VERSION_PHASES: u8 = 3;
/// The most challenges an artifact carries.
pub const MAX_CHALLENGES: usize = 4;
/// Bytes before the first scalar.
pub const HEADER: usize = 5 + 2 + 2 * 9;

/// Why bytes are not an artifact, or a key has none.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArtifactError {
    /// The bytes end early.
    #[error("verifying-key artifact truncated at byte {0}")]
    Truncated(usize),
    /// Not an artifact, or another version.
    #[error("not a snarkml verifying-key artifact (version {VERSION} or {VERSION_PHASES})")]
    Magic,
    /// A scalar or point is not canonical or not on the curve.
    #[error("verifying-key artifact: invalid {0} at byte {1}")]
    Invalid(&'static str, usize),
    /// Bytes after the end.
    #[error("verifying-key artifact: {0} bytes after its end")]
    Trailing(usize),
    /// The circuit is too large for the encoding's counts.
    #[error("verifying-key artifact: {0} does not fit its field")]
    TooLarge(&'static str),
    /// The key uses something the reusable verifier does not check.
    #[error("the reusable verifier does not support {0}")]
    Unsupported(&'static str),
    /// The counts, the plan and the program disagree.
    #[error("verifying-key artifact: inconsistent {0}")]
    Inconsistent(&'static str),
    /// The constraint program is malformed.
    #[error(transparent)]
    Program(#[from] ProgramError),
}

/// One circuit's verifying data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VkArtifact {
    /// `n = 2^k` rows.
    pub k: u8,
    /// Blinding rows at the end of the domain (the last usable row is `−(b + 1)`).
    pub blinding_factors: u8,
    /// Public instances of every proof.
    pub instances: u16,
    /// Advice columns (one commitment each).
    pub advice: u16,
    /// The first phase's advice columns, committed before the challenges are squeezed (all
    /// of them when there are none).
    pub first_phase_advice: u16,
    /// The circuit's challenges, squeezed after the first phase's advice.
    pub challenges: u16,
    /// Lookups.
    pub lookups: u16,
    /// The permutation's z polynomials.
    pub permutation_sets: u16,
    /// Pieces the quotient is split into.
    pub quotient_pieces: u16,
    /// The domain generator ω.
    pub omega: Fr,
    /// ω⁻¹.
    pub omega_inv: Fr,
    /// The transcript's initial state (halo2's `transcript_repr` of the key).
    pub transcript_repr: Fr,
    /// The SRS's `[1]₂`.
    pub g2: G2Affine,
    /// The SRS's `−[s]₂`.
    pub neg_s_g2: G2Affine,
    /// One per fixed column (selectors compressed by keygen included).
    pub fixed_commitments: Vec<G1Affine>,
    /// One per column in the permutation.
    pub permutation_commitments: Vec<G1Affine>,
    /// The points `ω^ρ` of the rotations the proof opens.
    pub rotations: Vec<Fr>,
    /// SHPLONK's rotation sets.
    pub sets: Vec<OpeningSet>,
    /// The quotient's numerator.
    pub program: Program,
    /// Where the instances hold a KZG accumulator (an aggregated proof's: 12 limbs of 88 bits,
    /// lhs.x, lhs.y, rhs.x, rhs.y, little-endian), folded into the final pairing.
    pub accumulator: Option<u16>,
}

/// Limbs of an accumulator in the instances, and their width.
pub const ACCUMULATOR_LIMBS: usize = 12;
/// Bits per accumulator limb.
pub const LIMB_BITS: usize = 88;

impl VkArtifact {
    /// The artifact of `vk` (keyed on `params`) for proofs with `instances` public values.
    pub fn from_vk(
        params: &ParamsKZG<Bn256>,
        vk: &VerifyingKey<G1Affine>,
        instances: usize,
    ) -> Result<Self, ArtifactError> {
        Self::build(params, vk, instances, None)
    }

    /// The artifact of an aggregation circuit's key: as [`Self::from_vk`], with the KZG
    /// accumulator in instances `0..12` folded into the pairing.
    pub fn from_aggregation_vk(
        params: &ParamsKZG<Bn256>,
        vk: &VerifyingKey<G1Affine>,
        instances: usize,
    ) -> Result<Self, ArtifactError> {
        Self::build(params, vk, instances, Some(0))
    }

    fn build(
        params: &ParamsKZG<Bn256>,
        vk: &VerifyingKey<G1Affine>,
        instances: usize,
        accumulator: Option<u16>,
    ) -> Result<Self, ArtifactError> {
        let cs = vk.cs();
        let domain = vk.get_domain();
        let phases = cs.advice_column_phase();
        if phases.iter().any(|p| *p > 1) || cs.challenge_phase().iter().any(|p| *p != 0) {
            return Err(ArtifactError::Unsupported(
                "advice or challenges past a second phase",
            ));
        }
        if phases.windows(2).any(|w| w[0] > w[1]) {
            return Err(ArtifactError::Unsupported(
                "advice columns out of phase order",
            ));
        }
        if cs.num_challenges() > MAX_CHALLENGES {
            return Err(ArtifactError::TooLarge("the challenges"));
        }
        let challenges = cs.num_challenges() as u16;
        let first_phase = phases.iter().filter(|p| **p == 0).count();
        if cs.num_instance_columns() > 1 || cs.instance_queries().iter().any(|(_, r)| r.0 != 0) {
            return Err(ArtifactError::Unsupported(
                "more than one instance column, or instances at a rotation",
            ));
        }
        if params.get_g()[0] != G1Affine::generator() {
            return Err(ArtifactError::Unsupported(
                "an SRS whose first point is not G1",
            ));
        }
        let n = 1usize << domain.k();
        if instances + cs.blinding_factors() + 1 > n {
            return Err(ArtifactError::TooLarge("the instances"));
        }
        let mid = |v: usize, what| u16::try_from(v).map_err(|_| ArtifactError::TooLarge(what));
        let layout = layout(vk);
        let program = numerator(vk).ok_or(ArtifactError::Unsupported("this constraint"))?;
        let (rotations, sets) = plan(vk, &layout, program.instances)
            .ok_or(ArtifactError::TooLarge("the opening plan"))?;
        program
            .encode()
            .ok_or(ArtifactError::TooLarge("the constraint program"))?;
        let artifact = Self {
            k: domain.k() as u8,
            blinding_factors: cs.blinding_factors() as u8,
            instances: mid(instances, "the instances")?,
            advice: mid(cs.num_advice_columns(), "the advice columns")?,
            // Without challenges nothing is squeezed between the phases: one read.
            first_phase_advice: if challenges == 0 {
                mid(cs.num_advice_columns(), "the advice columns")?
            } else {
                mid(first_phase, "the advice columns")?
            },
            challenges,
            lookups: mid(layout.lookups, "the lookups")?,
            permutation_sets: mid(layout.sets, "the permutation")?,
            quotient_pieces: mid(domain.get_quotient_poly_degree(), "the quotient pieces")?,
            omega: domain.get_omega(),
            omega_inv: domain.get_omega_inv(),
            transcript_repr: vk.transcript_repr(),
            g2: params.g2(),
            neg_s_g2: -params.s_g2(),
            fixed_commitments: vk.fixed_commitments().clone(),
            permutation_commitments: vk.permutation().commitments().clone(),
            rotations,
            sets,
            program,
            accumulator,
        };
        artifact.check()?;
        Ok(artifact)
    }

    /// Commitments the proof carries before SHPLONK's two points (the codes of the plan).
    pub fn proof_points(&self) -> usize {
        let [a, l, z, q] = [
            self.advice,
            self.lookups,
            self.permutation_sets,
            self.quotient_pieces,
        ]
        .map(usize::from);
        a + 3 * l + z + 1 + q
    }

    /// The byte length of a proof for this key (Keccak transcript, SHPLONK), by halo2's read
    /// order: the advice commitments; per lookup the permuted input and table; the
    /// permutation's z polynomials and each lookup's z; the vanishing argument's random
    /// polynomial; the quotient pieces; the evaluations; SHPLONK's two points. A verifier
    /// refuses a proof of any other length before reading it.
    pub fn proof_len(&self) -> usize {
        64 * (self.proof_points() + 2) + 32 * self.program.evals as usize
    }

    /// The counts, the plan and the program agree: every commitment code names a commitment,
    /// every evaluation slot a leaf, every point a rotation.
    fn check(&self) -> Result<(), ArtifactError> {
        let bad = |what| Err(ArtifactError::Inconsistent(what));
        if self.k > 28 || self.k == 0 {
            return bad("domain size");
        }
        let Some(usable) = (1usize << self.k).checked_sub(usize::from(self.blinding_factors) + 1)
        else {
            return bad("blinding factors");
        };
        if usize::from(self.instances) > usable || self.program.instances > 1 {
            return bad("instances");
        }
        if self.program.roots.len() != 1 || self.program.challenges != u32::from(self.challenges) {
            return bad("program");
        }
        if self.first_phase_advice > self.advice
            || usize::from(self.challenges) > MAX_CHALLENGES
            || (self.challenges == 0 && self.first_phase_advice != self.advice)
        {
            return bad("phases");
        }
        if let Some(at) = self.accumulator {
            if usize::from(at) + ACCUMULATOR_LIMBS > usize::from(self.instances) {
                return bad("accumulator");
            }
        }
        let codes =
            self.proof_points() + self.fixed_commitments.len() + self.permutation_commitments.len();
        let leaves =
            self.program.evals + self.program.instances + VALUES as u32 + self.program.challenges;
        for set in &self.sets {
            // The verifier keeps a set's sums in 16 words.
            if set.points.is_empty()
                || set.points.len() > 16
                || set.weights.len() != set.points.len()
                || set
                    .points
                    .iter()
                    .any(|p| usize::from(*p) >= self.rotations.len())
            {
                return bad("opening set");
            }
            for (code, slots) in &set.polys {
                // The code after every commitment is the quotient.
                if usize::from(*code) > codes
                    || slots.len() != set.points.len()
                    || slots.iter().any(|s| u32::from(*s) >= leaves)
                {
                    return bad("opening set");
                }
            }
        }
        Ok(())
    }

    /// The artifact's bytes (see the module docs).
    pub fn encode(&self) -> Result<Vec<u8>, ArtifactError> {
        let mut o = Vec::new();
        let u16_of = |v: usize, what| u16::try_from(v).map_err(|_| ArtifactError::TooLarge(what));
        o.extend(MAGIC);
        let version = if self.challenges == 0 {
            VERSION
        } else {
            VERSION_PHASES
        };
        o.extend([version, self.k, self.blinding_factors]);
        for n in [
            self.instances,
            self.advice,
            self.lookups,
            self.permutation_sets,
            self.quotient_pieces,
            u16_of(self.fixed_commitments.len(), "the commitments")?,
            u16_of(self.permutation_commitments.len(), "the commitments")?,
            u16_of(self.rotations.len(), "the rotations")?,
            u16_of(self.sets.len(), "the opening sets")?,
        ] {
            o.extend(n.to_be_bytes());
        }
        for f in [self.omega, self.omega_inv, self.transcript_repr] {
            o.extend(scalar_to_be(&f));
        }
        o.extend(g2_to_be(&self.g2));
        o.extend(g2_to_be(&self.neg_s_g2));
        for p in self
            .fixed_commitments
            .iter()
            .chain(&self.permutation_commitments)
        {
            o.extend(point_to_be(p));
        }
        for r in &self.rotations {
            o.extend(scalar_to_be(r));
        }
        for set in &self.sets {
            o.push(u8::try_from(set.points.len()).map_err(|_| ArtifactError::TooLarge("a set"))?);
            o.extend(u16_of(set.polys.len(), "a set")?.to_be_bytes());
            for (p, w) in set.points.iter().zip(&set.weights) {
                o.push(*p);
                o.extend(scalar_to_be(w));
            }
            for (code, slots) in &set.polys {
                o.extend(code.to_be_bytes());
                for s in slots {
                    o.extend(s.to_be_bytes());
                }
            }
        }
        let program = self
            .program
            .encode()
            .ok_or(ArtifactError::TooLarge("the constraint program"))?;
        let len = u32::try_from(program.len())
            .map_err(|_| ArtifactError::TooLarge("the constraint program"))?;
        o.extend(len.to_be_bytes());
        o.extend(program);
        o.extend(self.accumulator.unwrap_or(u16::MAX).to_be_bytes());
        if version == VERSION_PHASES {
            o.extend(self.first_phase_advice.to_be_bytes());
            o.extend(self.challenges.to_be_bytes());
        }
        Ok(o)
    }

    /// Parses an artifact, checking every scalar is canonical, every point on its curve and
    /// the plan and program consistent with the counts.
    pub fn decode(bytes: &[u8]) -> Result<Self, ArtifactError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(4)? != MAGIC {
            return Err(ArtifactError::Magic);
        }
        let version = r.u8()?;
        if version != VERSION && version != VERSION_PHASES {
            return Err(ArtifactError::Magic);
        }
        let (k, blinding_factors) = (r.u8()?, r.u8()?);
        let [instances, advice, lookups, permutation_sets, quotient_pieces, fixed, permutation, rotations, sets] =
            [(); 9].map(|_| r.u16());
        let (omega, omega_inv, transcript_repr) = (r.scalar()?, r.scalar()?, r.scalar()?);
        let (g2, neg_s_g2) = (r.g2()?, r.g2()?);
        let fixed_commitments = (0..fixed?).map(|_| r.point()).collect::<Result<_, _>>()?;
        let permutation_commitments = (0..permutation?)
            .map(|_| r.point())
            .collect::<Result<_, _>>()?;
        let rotations = (0..rotations?)
            .map(|_| r.scalar())
            .collect::<Result<_, _>>()?;
        let sets = (0..sets?)
            .map(|_| {
                let (points, polys) = (r.u8()?, r.u16()?);
                let (mut p, mut weights) = (Vec::new(), Vec::new());
                for _ in 0..points {
                    p.push(r.u8()?);
                    weights.push(r.scalar()?);
                }
                let polys = (0..polys)
                    .map(|_| {
                        Ok((
                            r.u16()?,
                            (0..points).map(|_| r.u16()).collect::<Result<_, _>>()?,
                        ))
                    })
                    .collect::<Result<_, ArtifactError>>()?;
                Ok(OpeningSet {
                    points: p,
                    weights,
                    polys,
                })
            })
            .collect::<Result<_, ArtifactError>>()?;
        let len = r.u32()? as usize;
        let program_bytes = r.take(len)?;
        let accumulator = Some(r.u16()?).filter(|a| *a != u16::MAX);
        let advice = advice?;
        let (first_phase_advice, challenges) = if version == VERSION_PHASES {
            let (first, challenges) = (r.u16()?, r.u16()?);
            if challenges == 0 || usize::from(challenges) > MAX_CHALLENGES {
                return Err(ArtifactError::Inconsistent("phases"));
            }
            (first, challenges)
        } else {
            (advice, 0)
        };
        let program = Program::decode(program_bytes, u32::from(challenges))?;
        if r.at != bytes.len() {
            return Err(ArtifactError::Trailing(bytes.len() - r.at));
        }
        let artifact = Self {
            k,
            blinding_factors,
            instances: instances?,
            advice,
            first_phase_advice,
            challenges,
            lookups: lookups?,
            permutation_sets: permutation_sets?,
            quotient_pieces: quotient_pieces?,
            omega,
            omega_inv,
            transcript_repr,
            g2,
            neg_s_g2,
            fixed_commitments,
            permutation_commitments,
            rotations,
            sets,
            program,
            accumulator,
        };
        artifact.check()?;
        Ok(artifact)
    }
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8], ArtifactError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or(ArtifactError::Truncated(self.bytes.len()))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ArtifactError> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    fn u8(&mut self) -> Result<u8, ArtifactError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, ArtifactError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, ArtifactError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn scalar(&mut self) -> Result<Fr, ArtifactError> {
        let at = self.at;
        scalar_from_be(self.take(32)?).ok_or(ArtifactError::Invalid("scalar", at))
    }

    fn g2(&mut self) -> Result<G2Affine, ArtifactError> {
        let at = self.at;
        g2_from_be(self.take(128)?).ok_or(ArtifactError::Invalid("G2 point", at))
    }

    fn point(&mut self) -> Result<G1Affine, ArtifactError> {
        let at = self.at;
        let bytes = self.take(64)?;
        let canonical = |b| coordinate_from_be(b).ok_or(ArtifactError::Invalid("coordinate", at));
        canonical(&bytes[..32])?;
        canonical(&bytes[32..])?;
        if bytes.iter().all(|b| *b == 0) {
            return Ok(G1Affine::identity());
        }
        point_from_be(bytes).ok_or(ArtifactError::Invalid("point", at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{digits_proofs, vk_of, DIGITS};
    use snarkml_circuits::quantize::CompileOptions;

    fn digits() -> Vec<u8> {
        let (vk, srs, instances) = vk_of(DIGITS, &CompileOptions::default());
        VkArtifact::from_vk(&srs.params, &vk, instances)
            .unwrap()
            .encode()
            .unwrap()
    }

    #[test]
    fn the_digits_artifact_describes_its_key_and_round_trips() {
        let (vk, srs, instances) = vk_of(DIGITS, &CompileOptions::default());
        let a = VkArtifact::from_vk(&srs.params, &vk, instances).unwrap();
        let cs = vk.cs();
        assert_eq!(a.k as u32, vk.get_domain().k());
        assert_eq!(usize::from(a.advice), cs.num_advice_columns());
        assert_eq!(usize::from(a.instances), instances);
        assert_eq!(a.fixed_commitments, *vk.fixed_commitments());
        assert_eq!(a.permutation_commitments, *vk.permutation().commitments());
        assert_eq!(a.transcript_repr, vk.transcript_repr());
        assert_eq!(a.omega * a.omega_inv, Fr::one());
        assert_eq!(a.lookups, 1);
        assert_eq!(a.g2, srs.params.g2());
        // Every polynomial opened lies in exactly one set; the first set holds advice 0.
        let polys: usize = a.sets.iter().map(|s| s.polys.len()).sum();
        let opened = usize::from(a.advice)
            + 3 * usize::from(a.lookups)
            + usize::from(a.permutation_sets)
            + 2
            + cs.fixed_queries().len()
            + a.permutation_commitments.len();
        assert_eq!(polys, opened);
        assert_eq!(a.sets[0].polys[0].0, 0);
        let bytes = a.encode().unwrap();
        println!("digits verifying-key artifact: {} bytes", bytes.len());
        assert!(bytes.len() < 4000, "{} bytes", bytes.len());
        // Decoding reads every op back as a multiply-add: the same bytes again.
        assert_eq!(VkArtifact::decode(&bytes).unwrap().encode().unwrap(), bytes);
    }

    #[test]
    fn the_artifact_predicts_the_length_of_real_proofs() {
        // Proofs of the digits model, plain and with hashed inputs and weights (more advice
        // columns, the Poseidon gates): the artifact's counts give their exact length.
        for p in digits_proofs() {
            assert_eq!(p.artifact.proof_len(), p.proof.proof.len(), "{}", p.label);
        }
    }

    #[test]
    fn a_two_phase_key_gets_a_version_3_artifact_and_others_keep_version_2() {
        for p in digits_proofs() {
            let bytes = p.artifact.encode().unwrap();
            let two_phase = p.label == "randomized";
            assert_eq!(bytes[4], if two_phase { 3 } else { 2 }, "{}", p.label);
            assert_eq!(p.artifact.challenges, if two_phase { 2 } else { 0 });
            let second = p.artifact.advice - p.artifact.first_phase_advice;
            assert_eq!(second, if two_phase { 3 } else { 0 }, "{}", p.label);
            let decoded = VkArtifact::decode(&bytes).unwrap();
            assert_eq!(decoded.encode().unwrap(), bytes, "{}", p.label);
            assert_eq!(
                (decoded.first_phase_advice, decoded.challenges),
                (p.artifact.first_phase_advice, p.artifact.challenges)
            );
            if two_phase {
                // The trailer's counts: no challenges, more than a verifier holds, or more
                // first-phase advice than advice.
                let n = bytes.len();
                for (at, v, why) in [
                    (n - 2, 0, "phases"),
                    (n - 2, 5, "phases"),
                    (n - 4, p.artifact.advice + 1, "phases"),
                ] {
                    let mut bad = bytes.clone();
                    bad[at..at + 2].copy_from_slice(&v.to_be_bytes());
                    assert_eq!(
                        VkArtifact::decode(&bad),
                        Err(ArtifactError::Inconsistent(why)),
                        "{v} at {at}"
                    );
                }
            }
        }
    }

    #[test]
    fn damaged_artifacts_are_refused_with_the_reason() {
        let bytes = digits();
        // Every strict prefix is truncated; one byte more is trailing; another magic is not
        // ours; a commitment moved off the curve, a G2 point off its curve and a program
        // reading a slot not yet written are invalid.
        for cut in [0, 4, 5, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                matches!(
                    VkArtifact::decode(&bytes[..cut]),
                    Err(ArtifactError::Truncated(_)
                        | ArtifactError::Magic
                        | ArtifactError::Program(_))
                ),
                "prefix of {cut} bytes"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(VkArtifact::decode(&longer), Err(ArtifactError::Trailing(1)));
        let mut magic = bytes.clone();
        magic[0] = b'X';
        assert_eq!(VkArtifact::decode(&magic), Err(ArtifactError::Magic));
        let g2_at = HEADER + 96;
        let mut g2 = bytes.clone();
        g2[g2_at + 127] ^= 1;
        assert_eq!(
            VkArtifact::decode(&g2),
            Err(ArtifactError::Invalid("G2 point", g2_at))
        );
        let first_point = g2_at + 256;
        let mut off_curve = bytes.clone();
        off_curve[first_point + 63] ^= 1;
        assert_eq!(
            VkArtifact::decode(&off_curve),
            Err(ArtifactError::Invalid("point", first_point))
        );
        // The program is last: its header, constants and roots, then the ops.
        let a = VkArtifact::decode(&bytes).unwrap();
        let program = a.program.encode().unwrap();
        let first_op = bytes.len() - 2 - program.len() + 10 + 32 * a.program.constants.len() + 2;
        let mut forward = bytes.clone();
        forward[first_op..first_op + 2].copy_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(
            VkArtifact::decode(&forward),
            Err(ArtifactError::Program(ProgramError::Operand(0)))
        );
    }
}
