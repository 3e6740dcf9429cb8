//! The per-circuit verifying-key artifact of the reusable verifier (issue 9): everything a
//! data-driven verifier needs about one circuit, as compact bytes — the domain, the column and
//! query layout, the fixed and permutation commitments, the transcript's initial state and
//! the constraint program ([`crate::bytecode`]). One `Halo2Verifier` deployed once reads such
//! an artifact (stored as a small data contract, its hash recorded by the registry) instead
//! of every model carrying its own unrolled verifier.
//!
//! Encoding (big-endian; G1 points as `x ‖ y`, 32 bytes each; scalars 32 bytes):
//! ```text
//! magic "SMVK" | u8 version
//! u8 k | u8 degree | u8 quotient pieces | u8 blinding factors
//! u16 advice | u16 fixed | u16 instance columns | u8 challenges
//! advice phases (u8 each)
//! ω | ω⁻¹ | transcript initial state
//! u16 n, n fixed commitments | u16 n, n permutation commitments
//! u16 n, n advice queries (u16 column, i32 rotation) | the same for fixed, then instance queries
//! u16 n, n permutation columns (u8 kind 0 advice / 1 fixed / 2 instance, u16 index)
//! u16 n, n lookups (u16 inputs, u16 tables)
//! u32 length, the constraint program
//! ```

use crate::bytecode::Program;
use crate::encoding::{
    coordinate_from_be, point_from_be, point_to_be, scalar_from_be, scalar_to_be,
};
use halo2_proofs::plonk::{Any, VerifyingKey};
use snarkml_circuits::{Fr, G1Affine};

/// Format magic and version.
const MAGIC: &[u8; 4] = b"SMVK";
const VERSION: u8 = 1;

/// Why bytes are not an artifact.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArtifactError {
    /// The bytes end early.
    #[error("verifying-key artifact truncated at byte {0}")]
    Truncated(usize),
    /// Not an artifact, or another version.
    #[error("not a snarkml verifying-key artifact (version {VERSION})")]
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
}

/// A column query: column index and rotation.
pub type Query = (u16, i32);

/// One circuit's verifying data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VkArtifact {
    /// `n = 2^k` rows.
    pub k: u8,
    /// The constraint system's degree.
    pub degree: u8,
    /// Pieces the quotient is split into.
    pub quotient_pieces: u8,
    /// Blinding rows at the end of the domain.
    pub blinding_factors: u8,
    /// The phase of each advice column.
    pub advice_phases: Vec<u8>,
    /// Fixed columns.
    pub fixed: u16,
    /// Instance columns.
    pub instance: u16,
    /// User challenges.
    pub challenges: u8,
    /// The domain generator ω.
    pub omega: Fr,
    /// ω⁻¹.
    pub omega_inv: Fr,
    /// The transcript's initial state (halo2's `transcript_repr` of the key).
    pub transcript_repr: Fr,
    /// One per fixed column (selectors compressed by keygen included).
    pub fixed_commitments: Vec<G1Affine>,
    /// One per column in the permutation.
    pub permutation_commitments: Vec<G1Affine>,
    /// Advice queries, in halo2's order.
    pub advice_queries: Vec<Query>,
    /// Fixed queries.
    pub fixed_queries: Vec<Query>,
    /// Instance queries.
    pub instance_queries: Vec<Query>,
    /// The permutation's columns: kind (0 advice, 1 fixed, 2 instance) and index.
    pub permutation_columns: Vec<(u8, u16)>,
    /// Per lookup, its input and table expression counts.
    pub lookups: Vec<(u16, u16)>,
    /// The encoded constraint program (gates, then each lookup's inputs and tables).
    pub program: Vec<u8>,
}

impl VkArtifact {
    /// The artifact of `vk`.
    pub fn from_vk(vk: &VerifyingKey<G1Affine>) -> Result<Self, ArtifactError> {
        let cs = vk.cs();
        let domain = vk.get_domain();
        let small = |v: usize, what: &'static str| {
            u8::try_from(v).map_err(|_| ArtifactError::TooLarge(what))
        };
        let mid = |v: usize, what: &'static str| {
            u16::try_from(v).map_err(|_| ArtifactError::TooLarge(what))
        };
        let queries = |qs: Vec<(usize, i32)>| -> Result<Vec<Query>, ArtifactError> {
            qs.into_iter()
                .map(|(c, r)| Ok((mid(c, "a column index")?, r)))
                .collect()
        };
        let permutation_columns = cs
            .permutation()
            .get_columns()
            .iter()
            .map(|c| {
                let kind = match c.column_type() {
                    Any::Advice(_) => 0,
                    Any::Fixed => 1,
                    Any::Instance => 2,
                };
                Ok((kind, mid(c.index(), "a column index")?))
            })
            .collect::<Result<_, ArtifactError>>()?;
        let lookups = cs
            .lookups()
            .iter()
            .map(|l| {
                Ok((
                    mid(l.input_expressions().len(), "a lookup")?,
                    mid(l.table_expressions().len(), "a lookup")?,
                ))
            })
            .collect::<Result<_, ArtifactError>>()?;
        Ok(Self {
            k: small(domain.k() as usize, "k")?,
            degree: small(cs.degree(), "the degree")?,
            quotient_pieces: small(domain.get_quotient_poly_degree(), "the quotient pieces")?,
            blinding_factors: small(cs.blinding_factors(), "the blinding factors")?,
            advice_phases: cs.advice_column_phase(),
            fixed: mid(cs.num_fixed_columns(), "the fixed columns")?,
            instance: mid(cs.num_instance_columns(), "the instance columns")?,
            challenges: small(cs.num_challenges(), "the challenges")?,
            omega: domain.get_omega(),
            omega_inv: domain.get_omega_inv(),
            transcript_repr: vk.transcript_repr(),
            fixed_commitments: vk.fixed_commitments().clone(),
            permutation_commitments: vk.permutation().commitments().clone(),
            advice_queries: queries(
                cs.advice_queries()
                    .iter()
                    .map(|(c, r)| (c.index(), r.0))
                    .collect(),
            )?,
            fixed_queries: queries(
                cs.fixed_queries()
                    .iter()
                    .map(|(c, r)| (c.index(), r.0))
                    .collect(),
            )?,
            instance_queries: queries(
                cs.instance_queries()
                    .iter()
                    .map(|(c, r)| (c.index(), r.0))
                    .collect(),
            )?,
            permutation_columns,
            lookups,
            program: Program::from_vk(vk)
                .encode()
                .ok_or(ArtifactError::TooLarge("the constraint program"))?,
        })
    }

    /// The byte length of a proof for this key (Keccak transcript, SHPLONK), by halo2's read
    /// order: per phase the advice commitments; per lookup the permuted input and table; the
    /// permutation's z polynomials (one per chunk of `degree − 2` columns) and each lookup's z;
    /// the vanishing argument's random polynomial; the quotient pieces; then the evaluations
    /// (advice and fixed queries, the random polynomial, σ of every permuted column, each z
    /// at x and ωx and all but the last at the `last` row, five per lookup) and SHPLONK's two
    /// points. A verifier refuses a proof of any other length before reading it.
    pub fn proof_len(&self) -> usize {
        let lookups = self.lookups.len();
        let columns = self.permutation_columns.len();
        let chunk = usize::from(self.degree).saturating_sub(2).max(1);
        let z = columns.div_ceil(chunk);
        let points = self.advice_phases.len()
            + 2 * lookups
            + z
            + lookups
            + 1
            + usize::from(self.quotient_pieces)
            + 2;
        let evaluations = self.advice_queries.len()
            + self.fixed_queries.len()
            + 1
            + columns
            + (3 * z).saturating_sub(1)
            + 5 * lookups;
        64 * points + 32 * evaluations
    }

    /// The artifact's bytes (see the module docs).
    pub fn encode(&self) -> Result<Vec<u8>, ArtifactError> {
        let mut o = Vec::new();
        let u16_of = |v: usize, what| u16::try_from(v).map_err(|_| ArtifactError::TooLarge(what));
        o.extend(MAGIC);
        o.push(VERSION);
        o.extend([
            self.k,
            self.degree,
            self.quotient_pieces,
            self.blinding_factors,
        ]);
        o.extend(u16_of(self.advice_phases.len(), "the advice columns")?.to_be_bytes());
        o.extend(self.fixed.to_be_bytes());
        o.extend(self.instance.to_be_bytes());
        o.push(self.challenges);
        o.extend(&self.advice_phases);
        for f in [self.omega, self.omega_inv, self.transcript_repr] {
            o.extend(scalar_to_be(&f));
        }
        for points in [&self.fixed_commitments, &self.permutation_commitments] {
            o.extend(u16_of(points.len(), "the commitments")?.to_be_bytes());
            for p in points {
                o.extend(point_to_be(p));
            }
        }
        for queries in [
            &self.advice_queries,
            &self.fixed_queries,
            &self.instance_queries,
        ] {
            o.extend(u16_of(queries.len(), "the queries")?.to_be_bytes());
            for (c, r) in queries {
                o.extend(c.to_be_bytes());
                o.extend(r.to_be_bytes());
            }
        }
        o.extend(u16_of(self.permutation_columns.len(), "the permutation")?.to_be_bytes());
        for (kind, index) in &self.permutation_columns {
            o.push(*kind);
            o.extend(index.to_be_bytes());
        }
        o.extend(u16_of(self.lookups.len(), "the lookups")?.to_be_bytes());
        for (inputs, tables) in &self.lookups {
            o.extend(inputs.to_be_bytes());
            o.extend(tables.to_be_bytes());
        }
        let len = u32::try_from(self.program.len())
            .map_err(|_| ArtifactError::TooLarge("the constraint program"))?;
        o.extend(len.to_be_bytes());
        o.extend(&self.program);
        Ok(o)
    }

    /// Parses an artifact, checking every scalar is canonical and every point on the curve.
    pub fn decode(bytes: &[u8]) -> Result<Self, ArtifactError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(4)? != MAGIC || r.u8()? != VERSION {
            return Err(ArtifactError::Magic);
        }
        let (k, degree, quotient_pieces, blinding_factors) = (r.u8()?, r.u8()?, r.u8()?, r.u8()?);
        let advice = r.u16()? as usize;
        let (fixed, instance, challenges) = (r.u16()?, r.u16()?, r.u8()?);
        let advice_phases = r.take(advice)?.to_vec();
        let (omega, omega_inv, transcript_repr) = (r.scalar()?, r.scalar()?, r.scalar()?);
        let mut points = || -> Result<Vec<G1Affine>, ArtifactError> {
            let n = r.u16()?;
            (0..n).map(|_| r.point()).collect()
        };
        let fixed_commitments = points()?;
        let permutation_commitments = points()?;
        let mut queries = || -> Result<Vec<Query>, ArtifactError> {
            let n = r.u16()?;
            (0..n).map(|_| Ok((r.u16()?, r.i32()?))).collect()
        };
        let advice_queries = queries()?;
        let fixed_queries = queries()?;
        let instance_queries = queries()?;
        let n = r.u16()?;
        let permutation_columns = (0..n)
            .map(|_| Ok((r.u8()?, r.u16()?)))
            .collect::<Result<_, ArtifactError>>()?;
        let n = r.u16()?;
        let lookups = (0..n)
            .map(|_| Ok((r.u16()?, r.u16()?)))
            .collect::<Result<_, ArtifactError>>()?;
        let len = r.u32()? as usize;
        let program = r.take(len)?.to_vec();
        if r.at != bytes.len() {
            return Err(ArtifactError::Trailing(bytes.len() - r.at));
        }
        Ok(Self {
            k,
            degree,
            quotient_pieces,
            blinding_factors,
            advice_phases,
            fixed,
            instance,
            challenges,
            omega,
            omega_inv,
            transcript_repr,
            fixed_commitments,
            permutation_commitments,
            advice_queries,
            fixed_queries,
            instance_queries,
            permutation_columns,
            lookups,
            program,
        })
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

    fn i32(&mut self) -> Result<i32, ArtifactError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn scalar(&mut self) -> Result<Fr, ArtifactError> {
        let at = self.at;
        scalar_from_be(self.take(32)?).ok_or(ArtifactError::Invalid("scalar", at))
    }

    fn point(&mut self) -> Result<G1Affine, ArtifactError> {
        let at = self.at;
        let bytes = self.take(64)?;
        let canonical = |b| coordinate_from_be(b).ok_or(ArtifactError::Invalid("coordinate", at));
        canonical(&bytes[..32])?;
        canonical(&bytes[32..])?;
        if bytes.iter().all(|b| *b == 0) {
            return Ok(halo2_proofs::halo2curves::group::prime::PrimeCurveAffine::identity());
        }
        point_from_be(bytes).ok_or(ArtifactError::Invalid("point", at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{digits_proofs, vk_of, DIGITS};
    use snarkml_circuits::quantize::CompileOptions;

    fn digits_vk() -> VerifyingKey<G1Affine> {
        vk_of(DIGITS, &CompileOptions::default())
    }

    #[test]
    fn the_digits_artifact_describes_its_key_and_round_trips() {
        let vk = digits_vk();
        let a = VkArtifact::from_vk(&vk).unwrap();
        let cs = vk.cs();
        assert_eq!(a.k as u32, vk.get_domain().k());
        assert_eq!(a.advice_phases.len(), cs.num_advice_columns());
        assert_eq!(a.fixed_commitments, *vk.fixed_commitments());
        assert_eq!(a.permutation_commitments, *vk.permutation().commitments());
        assert_eq!(a.transcript_repr, vk.transcript_repr());
        assert_eq!(a.omega * a.omega_inv, Fr::one());
        assert_eq!(a.lookups, vec![(3, 3)]);
        assert_eq!(a.program, Program::from_vk(&vk).encode().unwrap());
        let bytes = a.encode().unwrap();
        println!("digits verifying-key artifact: {} bytes", bytes.len());
        assert!(bytes.len() < 3000, "{} bytes", bytes.len());
        assert_eq!(VkArtifact::decode(&bytes).unwrap(), a);
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
    fn damaged_artifacts_are_refused_with_the_reason() {
        let bytes = VkArtifact::from_vk(&digits_vk()).unwrap().encode().unwrap();
        // Every strict prefix is truncated; one byte more is trailing; another magic is not
        // ours; a commitment moved off the curve is invalid.
        for cut in [0, 4, 5, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                matches!(
                    VkArtifact::decode(&bytes[..cut]),
                    Err(ArtifactError::Truncated(_) | ArtifactError::Magic)
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
        // The first fixed commitment starts after the header, the phases, 3 scalars and a count.
        let a = VkArtifact::decode(&bytes).unwrap();
        let first_point = 4 + 1 + 4 + 2 + 2 + 2 + 1 + a.advice_phases.len() + 96 + 2;
        let mut off_curve = bytes.clone();
        off_curve[first_point + 63] ^= 1;
        assert!(matches!(
            VkArtifact::decode(&off_curve),
            Err(ArtifactError::Invalid("point", _))
        ));
    }
}
