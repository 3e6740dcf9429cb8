//! SHPLONK's opening plan of a verifying key (`docs/verifier-gen/evm-verifier.md` §3.4): which
//! commitments are opened at which points, grouped into halo2's rotation sets, with the
//! evaluations each opening claims. The verifier only follows it: it is part of the
//! verifying-key artifact, computed here once from the key.
//!
//! A commitment is named by a code: the proof's points in read order first (advice, each
//! lookup's permuted input and table, the permutation's z's, the lookups' z's, the random
//! polynomial, the quotient pieces), then the key's fixed commitments, then its permutation
//! commitments; the code after all of them stands for the quotient, its pieces folded with
//! powers of xⁿ (the verifier spreads that code's coefficient over the pieces). An
//! evaluation is named by its slot in the constraint program's memory (the proof's
//! evaluations, or h(x)).

use crate::bytecode::{Value, VALUES};
use crate::numerator::EvalLayout;
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::VerifyingKey;

/// One rotation set: polynomials opened at the same points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpeningSet {
    /// The points, as indices into the artifact's rotation points.
    pub points: Vec<u8>,
    /// Per point j, `1 / Π_{t≠j} (ω^{ρ_j} − ω^{ρ_t})` (the interpolation weights without x).
    pub weights: Vec<Fr>,
    /// Each polynomial: its commitment code and its evaluation slot at each point.
    pub polys: Vec<(u16, Vec<u16>)>,
}

/// The distinct rotations' points ω^ρ (in first-use order) and the rotation sets.
pub type Plan = (Vec<Fr>, Vec<OpeningSet>);

/// The plan of `vk`'s proofs: evaluations laid out by `layout`, h(x) at `program`'s slot.
pub fn plan(vk: &VerifyingKey<G1Affine>, layout: &EvalLayout, instances: u32) -> Option<Plan> {
    let cs = vk.cs();
    let last = -(cs.blinding_factors() as i32 + 1);
    let advice = cs.num_advice_columns();
    let lookups = layout.lookups;
    let sets = layout.sets;
    let pieces = vk.get_domain().get_quotient_poly_degree();
    // Proof point codes.
    let permuted = |l: usize, table: usize| advice + 2 * l + table;
    let z = |s: usize| advice + 2 * lookups + s;
    let lookup_z = |l: usize| advice + 2 * lookups + sets + l;
    let random = advice + 3 * lookups + sets;
    let proof_points = random + 1 + pieces;
    let fixed = |c: usize| proof_points + c;
    let sigma = |j: usize| proof_points + cs.num_fixed_columns() + j;
    let h = layout.total() as u32 + instances + Value::H as u32;
    debug_assert!((Value::H as usize) < VALUES);

    // halo2's query order: advice, permutation, lookups, fixed, σ, the quotient, random.
    let mut queries: Vec<(usize, i32, u32)> = Vec::new();
    for (q, (c, r)) in cs.advice_queries().iter().enumerate() {
        queries.push((c.index(), r.0, layout.advice(q)));
    }
    for s in 0..sets {
        let [at, next, _] = layout.set(s);
        queries.push((z(s), 0, at));
        queries.push((z(s), 1, next));
    }
    for s in (0..sets.saturating_sub(1)).rev() {
        queries.push((z(s), last, layout.set(s)[2]));
    }
    for l in 0..lookups {
        let [zx, zn, a, ap, t] = layout.lookup(l);
        queries.extend([
            (lookup_z(l), 0, zx),
            (permuted(l, 0), 0, a),
            (permuted(l, 1), 0, t),
            (permuted(l, 0), -1, ap),
            (lookup_z(l), 1, zn),
        ]);
    }
    for (q, (c, r)) in cs.fixed_queries().iter().enumerate() {
        queries.push((fixed(c.index()), r.0, layout.fixed(q)));
    }
    for j in 0..layout.sigmas {
        queries.push((sigma(j), 0, layout.sigma(j)));
    }
    let quotient = sigma(layout.sigmas);
    queries.push((quotient, 0, h));
    queries.push((random, 0, layout.random()));

    // Each polynomial's rotations in first-seen order; polynomials (by their own id, the code
    // they would have without sharing) in first-seen order.
    let mut polys: Vec<(usize, Vec<(i32, u32)>)> = Vec::new();
    for (code, rotation, slot) in queries {
        match polys.iter_mut().find(|(c, _)| *c == code) {
            Some((_, rs)) if rs.iter().any(|(r, _)| *r == rotation) => {}
            Some((_, rs)) => rs.push((rotation, slot)),
            None => polys.push((code, vec![(rotation, slot)])),
        }
    }
    // Polynomials with the same set of rotations form one set, in order of their first
    // polynomial; a set's point order is its first polynomial's.
    let omega = vk.get_domain().get_omega();
    let point = |r: i32| {
        if r >= 0 {
            omega.pow_vartime([r as u64])
        } else {
            omega.invert().unwrap().pow_vartime([(-r) as u64])
        }
    };
    // Key commitments that are equal (all-zero columns, repeated tables) share one code, so the
    // verifier multiplies each distinct point once; each keeps its own opening.
    let key_points: Vec<G1Affine> = vk
        .fixed_commitments()
        .iter()
        .chain(vk.permutation().commitments())
        .copied()
        .collect();
    let msm_code = |id: usize| match id.checked_sub(proof_points) {
        Some(i) if i < key_points.len() => {
            proof_points
                + key_points
                    .iter()
                    .position(|p| *p == key_points[i])
                    .unwrap_or(i)
        }
        _ => id,
    };
    let mut rotations: Vec<i32> = Vec::new();
    let mut out: Vec<(Vec<i32>, OpeningSet)> = Vec::new();
    for (id, rs) in polys {
        let mut key: Vec<i32> = rs.iter().map(|(r, _)| *r).collect();
        key.sort_unstable();
        let code = u16::try_from(msm_code(id)).ok()?;
        if let Some((_, set)) = out.iter_mut().find(|(k, _)| *k == key) {
            let order: Vec<i32> = set.points.iter().map(|p| rotations[*p as usize]).collect();
            let slots = order
                .iter()
                .map(|r| rs.iter().find(|(x, _)| x == r).map(|(_, s)| *s as u16))
                .collect::<Option<_>>()?;
            set.polys.push((code, slots));
            continue;
        }
        let mut points = Vec::new();
        for (r, _) in &rs {
            let i = match rotations.iter().position(|x| x == r) {
                Some(i) => i,
                None => {
                    rotations.push(*r);
                    rotations.len() - 1
                }
            };
            points.push(u8::try_from(i).ok()?);
        }
        let weights = rs
            .iter()
            .map(|(r, _)| {
                rs.iter()
                    .filter(|(t, _)| t != r)
                    .map(|(t, _)| point(*r) - point(*t))
                    .product::<Fr>()
                    .invert()
                    .unwrap()
            })
            .collect();
        let slots = rs.iter().map(|(_, s)| *s as u16).collect();
        out.push((
            key,
            OpeningSet {
                points,
                weights,
                polys: vec![(code, slots)],
            },
        ));
    }
    Some((
        rotations.into_iter().map(point).collect(),
        out.into_iter().map(|(_, s)| s).collect(),
    ))
}
