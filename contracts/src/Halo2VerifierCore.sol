// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// @title Halo2VerifierCore
/// @notice The data-driven verifier of snarkml's halo2 KZG proofs (Keccak transcript, SHPLONK
/// multi-opening). Nothing about a circuit is code here: a verifying-key artifact (made by
/// `verifier-gen`'s `artifact` module, whose `verify` module is the reference this follows
/// step for step) gives the counts, the commitments, the opening plan and the quotient's
/// numerator as a constraint program, and the loops below run over it.
///
/// Steps:
///   1. Read the proof through the Keccak transcript: θ, β, γ, y, x, μ, γ′, z′; every point on
///      G1, every scalar below r, the length exactly what the artifact's counts give.
///   2. One batch inversion (one modexp): x − ω^i for the rows −(b+1) … 0, xⁿ − 1, x,
///      z′ − x·ω^ρ for every rotation opened, and the denominator of the instances'
///      Lagrange sum kept as one fraction.
///   3. l₀, l_last, l_active and the instance evaluation; the constraint program computes the
///      numerator N(x); the quotient's evaluation is h = N / (xⁿ − 1).
///   4. SHPLONK: per rotation set and polynomial, the coefficient of its commitment and of the
///      generator; the quotient's pieces folded with powers of xⁿ.
///   5. One multi-scalar multiplication (ecMul, ecAdd) and one pairing check.
///
/// Artifact encoding (big-endian): see `verifier-gen/src/artifact.rs`.
abstract contract Halo2VerifierCore {
    /// A check the proof failed, as `_check` reports it (0 when the proof is valid).
    uint256 internal constant OK = 0;
    /// The proof's length is not the artifact's (detail: the expected length).
    uint256 internal constant BAD_PROOF_LENGTH = 1;
    /// Not as many instances as the artifact's (detail: the expected count).
    uint256 internal constant BAD_INSTANCES = 2;
    /// An instance or a proof scalar is not below r (detail: instance index, or proof offset).
    uint256 internal constant NOT_CANONICAL = 3;
    /// A proof point is not on G1 (detail: its proof offset).
    uint256 internal constant NOT_ON_CURVE = 4;
    /// A denominator is zero at the proof's challenges.
    uint256 internal constant DEGENERATE = 5;
    /// The pairing check fails: the proof is invalid for these instances and key.
    uint256 internal constant PAIRING = 6;
    /// The artifact is malformed (detail: the byte offset where it stops making sense).
    uint256 internal constant BAD_ARTIFACT = 7;
    /// The accumulator in the instances is no pair of points (detail: the instance index).
    uint256 internal constant ACCUMULATOR = 8;

    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    // Context words (index × 32 from the context base).
    uint256 internal constant C_ADVICE = 0;
    uint256 internal constant C_LOOKUPS = 1;
    uint256 internal constant C_SETS = 2;
    uint256 internal constant C_PIECES = 3;
    uint256 internal constant C_EVALS = 4;
    uint256 internal constant C_INSTANCES = 5;
    uint256 internal constant C_K = 6;
    uint256 internal constant C_BLINDING = 7;
    uint256 internal constant C_ARTIFACT = 8; // pointer to the artifact's first byte
    uint256 internal constant C_COMMITMENTS = 9; // pointer to the fixed, then permutation commitments
    uint256 internal constant C_ROTATIONS = 10; // pointer to the rotation points
    uint256 internal constant C_NROTATIONS = 11;
    uint256 internal constant C_OPENINGS = 12; // pointer to the opening sets
    uint256 internal constant C_NOPENINGS = 13;
    uint256 internal constant C_PROGRAM = 14; // pointer to the program
    uint256 internal constant C_PROOF = 15; // calldata offset of the proof
    uint256 internal constant C_INSTANCE_AT = 16; // calldata offset of the instances
    uint256 internal constant C_POINTS = 17; // proof points before SHPLONK's two
    uint256 internal constant C_CODES = 18; // commitment codes: proof points, fixed, permutation
    uint256 internal constant C_THETA = 19; // θ β γ y x μ γ′ z′ follow
    uint256 internal constant C_X = 23;
    uint256 internal constant C_MU = 24;
    uint256 internal constant C_GAMMA2 = 25;
    uint256 internal constant C_ZPRIME = 26;
    uint256 internal constant C_XN = 27;
    uint256 internal constant C_SLOTS = 28; // the program's memory
    uint256 internal constant C_SCALARS = 29; // one MSM scalar per commitment code
    uint256 internal constant C_INVERSES = 30; // the batch of inverses
    uint256 internal constant C_ROWS = 31; // Lagrange rows in the batch (−(b+1) … 0)
    uint256 internal constant C_TRANSCRIPT = 32; // the transcript's buffer (last: it grows)
    uint256 internal constant C_NUMERATOR = 33;
    uint256 internal constant C_LIMIT = 34; // end of the leaves an opening may name (after h)
    uint256 internal constant C_Z0 = 35; // Z₀ of SHPLONK's first set
    uint256 internal constant C_G = 36; // the generator's scalar
    uint256 internal constant C_OMEGA_LAST = 37; // ω^−(b+1)
    uint256 internal constant C_GAMMA_I = 38; // γ′^i of the current opening set
    uint256 internal constant C_OUT = 39; // the program's first temporary slot
    uint256 internal constant C_ACCUMULATOR = 40; // the accumulator's first instance, or 0xffff
    uint256 internal constant C_INSTANCE_NUM = 41; // numerator of the instances' fraction
    uint256 internal constant C_E = 42; // E_j of the current opening set (at most 16 points)
    uint256 internal constant C_WORDS = 58;

    /// Checks the proof (at calldata `proofAt_`, `proofLen_` bytes) against `count_` instances
    /// (at calldata `instancesAt_`, 32 bytes each) with the artifact of `artifactLen_` bytes at
    /// memory `artifact_`. Returns `OK`, or a failure code shifted left by 248 bits with a
    /// detail in the low bits.
    function _check(
        uint256 artifact_,
        uint256 artifactLen_,
        uint256 proofAt_,
        uint256 proofLen_,
        uint256 instancesAt_,
        uint256 count_
    ) internal view returns (uint256 failure) {
        // Steps 1–3a: the context at the free memory pointer, the transcript, the inversion and
        // the program's leaves.
        uint256 context;
        assembly ("memory-safe") {
            function fail(code, detail) -> f {
                f := or(shl(248, code), detail)
            }

            function u16at(p) -> v {
                v := shr(240, mload(p))
            }

            // The artifact's header and section pointers; its length must cover every section.
            function parse(c, a, len) -> f {
                if lt(len, 377) {
                    f := fail(BAD_ARTIFACT, 0)
                    leave
                }
                // "SMVK", version 2.
                if iszero(eq(shr(216, mload(a)), 0x534d564b02)) {
                    f := fail(BAD_ARTIFACT, 0)
                    leave
                }
                mstore(add(c, shl(5, C_ARTIFACT)), a)
                mstore(add(c, shl(5, C_K)), byte(0, mload(add(a, 5))))
                mstore(add(c, shl(5, C_BLINDING)), byte(0, mload(add(a, 6))))
                mstore(add(c, shl(5, C_INSTANCES)), u16at(add(a, 7)))
                mstore(add(c, shl(5, C_ADVICE)), u16at(add(a, 9)))
                mstore(add(c, shl(5, C_LOOKUPS)), u16at(add(a, 11)))
                mstore(add(c, shl(5, C_SETS)), u16at(add(a, 13)))
                mstore(add(c, shl(5, C_PIECES)), u16at(add(a, 15)))
                let commitments := add(u16at(add(a, 17)), u16at(add(a, 19)))
                mstore(add(c, shl(5, C_NROTATIONS)), u16at(add(a, 21)))
                mstore(add(c, shl(5, C_NOPENINGS)), u16at(add(a, 23)))
                if or(gt(mload(add(c, shl(5, C_K))), 28), iszero(mload(add(c, shl(5, C_K))))) {
                    f := fail(BAD_ARTIFACT, 5)
                    leave
                }
                // ω ω⁻¹ state [1]₂ −[s]₂ at 25, then the commitments.
                let p := add(a, 377)
                mstore(add(c, shl(5, C_COMMITMENTS)), p)
                p := add(p, shl(6, commitments))
                mstore(add(c, shl(5, C_ROTATIONS)), p)
                p := add(p, shl(5, mload(add(c, shl(5, C_NROTATIONS)))))
                mstore(add(c, shl(5, C_OPENINGS)), p)
                let end := add(a, len)
                for { let i := 0 } lt(i, mload(add(c, shl(5, C_NOPENINGS)))) { i := add(i, 1) } {
                    if gt(add(p, 3), end) {
                        f := fail(BAD_ARTIFACT, sub(p, a))
                        leave
                    }
                    let np := byte(0, mload(p))
                    p := add(add(p, 3), add(mul(33, np), mul(u16at(add(p, 1)), add(2, shl(1, np)))))
                }
                // u32 length, then the program: u16 evaluations, instances, constants, ops, roots.
                if gt(add(p, 14), end) {
                    f := fail(BAD_ARTIFACT, sub(p, a))
                    leave
                }
                let plen := shr(224, mload(p))
                p := add(p, 4)
                mstore(add(c, shl(5, C_PROGRAM)), p)
                let h := mload(p)
                let need :=
                    add(
                        add(10, shl(5, and(shr(208, h), 0xffff))),
                        add(shl(1, and(shr(176, h), 0xffff)), mul(6, and(shr(192, h), 0xffff)))
                    )
                // Then u16: the accumulator's first instance (0xffff: none).
                if or(iszero(eq(add(add(p, plen), 2), end)), iszero(eq(plen, need))) {
                    f := fail(BAD_ARTIFACT, sub(p, a))
                    leave
                }
                let accumulator := u16at(add(p, plen))
                mstore(add(c, shl(5, C_ACCUMULATOR)), accumulator)
                if and(lt(accumulator, 0xffff), gt(add(accumulator, 12), mload(add(c, shl(5, C_INSTANCES))))) {
                    f := fail(BAD_ARTIFACT, sub(add(p, plen), a))
                    leave
                }
                if gt(and(shr(224, h), 0xffff), 1) {
                    f := fail(BAD_ARTIFACT, sub(p, a))
                    leave
                }
                mstore(add(c, shl(5, C_EVALS)), shr(240, h))
                let points :=
                    add(
                        add(mload(add(c, shl(5, C_ADVICE))), mul(3, mload(add(c, shl(5, C_LOOKUPS))))),
                        add(add(mload(add(c, shl(5, C_SETS))), 1), mload(add(c, shl(5, C_PIECES))))
                    )
                mstore(add(c, shl(5, C_POINTS)), points)
                mstore(add(c, shl(5, C_CODES)), add(points, commitments))
            }

            // Every point from calldata `from` to `end` must be on G1 (and not the identity).
            function onCurve(from, end, proofAt) -> f {
                for {} lt(from, end) { from := add(from, 64) } {
                    let x := calldataload(from)
                    let y := calldataload(add(from, 32))
                    if iszero(
                        and(and(lt(x, Q), lt(y, Q)), eq(mulmod(y, y, Q), addmod(mulmod(x, mulmod(x, x, Q), Q), 3, Q)))
                    ) {
                        f := fail(NOT_ON_CURVE, sub(from, proofAt))
                        leave
                    }
                }
            }

            // Every scalar from calldata `from` to `end` must be below r.
            function canonical(from, end, proofAt) -> f {
                for {} lt(from, end) { from := add(from, 32) } {
                    if iszero(lt(calldataload(from), R)) {
                        f := fail(NOT_CANONICAL, sub(from, proofAt))
                        leave
                    }
                }
            }

            // The hash input lives at `t`: after each squeeze its first word is the hash.
            function squeeze(t, len) -> ch {
                if eq(len, 32) {
                    mstore8(add(t, 32), 1)
                    len := 33
                }
                let h := keccak256(t, len)
                mstore(t, h)
                ch := mod(h, R)
            }

            // Absorbs `n` bytes at calldata `from` and squeezes.
            function absorb(t, from, n) -> ch {
                calldatacopy(add(t, 32), from, n)
                ch := squeeze(t, add(32, n))
            }

            // Step 1: the transcript, after checking every point and scalar of the proof.
            function transcript(c) -> f {
                let proofAt := mload(add(c, shl(5, C_PROOF)))
                let at := add(proofAt, shl(6, mload(add(c, shl(5, C_POINTS)))))
                let w := add(at, shl(5, mload(add(c, shl(5, C_EVALS)))))
                f := onCurve(proofAt, at, proofAt)
                if f { leave }
                f := canonical(at, w, proofAt)
                if f { leave }
                f := onCurve(w, add(w, 128), proofAt)
                if f { leave }
                let t := mload(add(c, shl(5, C_TRANSCRIPT)))
                let n := mload(add(c, shl(5, C_INSTANCES)))
                let adv := shl(6, mload(add(c, shl(5, C_ADVICE))))
                // Initial state, instances, advice → θ.
                mstore(t, mload(add(mload(add(c, shl(5, C_ARTIFACT))), 89)))
                calldatacopy(add(t, 32), mload(add(c, shl(5, C_INSTANCE_AT))), shl(5, n))
                calldatacopy(add(add(t, 32), shl(5, n)), proofAt, adv)
                mstore(add(c, shl(5, C_THETA)), squeeze(t, add(32, add(shl(5, n), adv))))
                at := add(proofAt, adv)
                // Permuted inputs and tables → β, then γ.
                let lookups := mload(add(c, shl(5, C_LOOKUPS)))
                mstore(add(c, shl(5, add(C_THETA, 1))), absorb(t, at, shl(7, lookups)))
                mstore(add(c, shl(5, add(C_THETA, 2))), squeeze(t, 32))
                at := add(at, shl(7, lookups))
                // Permutation z's, lookup z's, the random polynomial → y.
                let zs := shl(6, add(add(mload(add(c, shl(5, C_SETS))), lookups), 1))
                mstore(add(c, shl(5, add(C_THETA, 3))), absorb(t, at, zs))
                at := add(at, zs)
                // Quotient pieces → x.
                mstore(add(c, shl(5, C_X)), absorb(t, at, shl(6, mload(add(c, shl(5, C_PIECES))))))
                at := add(at, shl(6, mload(add(c, shl(5, C_PIECES)))))
                // Evaluations → μ, then γ′.
                mstore(add(c, shl(5, C_MU)), absorb(t, at, shl(5, mload(add(c, shl(5, C_EVALS))))))
                mstore(add(c, shl(5, C_GAMMA2)), squeeze(t, 32))
                // W → z′ (W′ is absorbed into nothing).
                mstore(add(c, shl(5, C_ZPRIME)), absorb(t, w, 64))
            }

            // Step 2: the batch inversion (`batch` lists the elements, `montgomery` inverts them
            // all with one modexp).
            // Σ_j inst_j·ω^j/(x − ω^j) as one fraction N/D (one inverse for all instances):
            // N/D + a/d = (N·d + a·D)/(D·d).
            function instanceFraction(c, x, omega) -> num, den {
                den := 1
                let w := 1
                let at := mload(add(c, shl(5, C_INSTANCE_AT)))
                for { let end := add(at, shl(5, mload(add(c, shl(5, C_INSTANCES))))) } lt(at, end) {
                    at := add(at, 32)
                } {
                    let d := addmod(x, sub(R, w), R)
                    num := addmod(mulmod(num, d, R), mulmod(mulmod(calldataload(at), w, R), den, R), R)
                    den := mulmod(den, d, R)
                    w := mulmod(w, omega, R)
                }
            }

            function batch(c) -> m {
                let inv := mload(add(c, shl(5, C_INVERSES)))
                let x := mload(add(c, shl(5, C_X)))
                let xn := x
                for { let i := mload(add(c, shl(5, C_K))) } i { i := sub(i, 1) } { xn := mulmod(xn, xn, R) }
                mstore(add(c, shl(5, C_XN)), xn)
                let a := mload(add(c, shl(5, C_ARTIFACT)))
                let omega := mload(add(a, 25))
                // x − ω^i for the rows i = −(b+1) … 0; ω^−(b+1) = (ω⁻¹)^(b+1).
                let w := 1
                let omegaInv := mload(add(a, 57))
                for { let i := add(mload(add(c, shl(5, C_BLINDING))), 1) } i { i := sub(i, 1) } {
                    w := mulmod(w, omegaInv, R)
                }
                mstore(add(c, shl(5, C_OMEGA_LAST)), w)
                let e := inv
                for { let end := add(inv, shl(5, mload(add(c, shl(5, C_ROWS))))) } lt(e, end) { e := add(e, 32) } {
                    mstore(e, addmod(x, sub(R, w), R))
                    w := mulmod(w, omega, R)
                }
                mstore(e, addmod(xn, sub(R, 1), R))
                mstore(add(e, 32), x)
                e := add(e, 64)
                let zp := mload(add(c, shl(5, C_ZPRIME)))
                let rot := mload(add(c, shl(5, C_ROTATIONS)))
                for { let end := add(rot, shl(5, mload(add(c, shl(5, C_NROTATIONS))))) } lt(rot, end) {
                    rot := add(rot, 32)
                } {
                    mstore(e, addmod(zp, sub(R, mulmod(x, mload(rot), R)), R))
                    e := add(e, 32)
                }
                // The instances' Σ_j inst_j·ω^j/(x − ω^j) as one fraction N/D: D joins the batch.
                let num, den := instanceFraction(c, x, omega)
                mstore(add(c, shl(5, C_INSTANCE_NUM)), num)
                mstore(e, den)
                m := add(shr(5, sub(e, inv)), 1)
            }

            function montgomery(inv, m) -> f {
                // Prefix products after the elements.
                let pre := add(inv, shl(5, m))
                let acc := 1
                for { let at := inv } lt(at, pre) { at := add(at, 32) } {
                    acc := mulmod(acc, mload(at), R)
                    mstore(add(at, shl(5, m)), acc)
                }
                if iszero(acc) {
                    f := fail(DEGENERATE, 0)
                    leave
                }
                let s := add(pre, shl(5, m))
                mstore(s, 32)
                mstore(add(s, 32), 32)
                mstore(add(s, 64), 32)
                mstore(add(s, 96), acc)
                mstore(add(s, 128), sub(R, 2))
                mstore(add(s, 160), R)
                if iszero(staticcall(gas(), 0x05, s, 192, s, 32)) { revert(0, 0) }
                let total := mload(s)
                for { let at := sub(pre, 32) } gt(at, inv) { at := sub(at, 32) } {
                    let e := mload(at)
                    mstore(at, mulmod(total, mload(add(at, sub(shl(5, m), 32))), R))
                    total := mulmod(total, e, R)
                }
                mstore(inv, total)
            }

            // Step 3a: l₀, l_last, l_active and the instance evaluation Σ inst_j·L_j(x).
            function lagrange(c) -> l0, lLast, lActive, instance {
                let inv := mload(add(c, shl(5, C_INVERSES)))
                // (xⁿ − 1)/n, with 1/n = r − (r − 1)/n.
                let common :=
                    mulmod(
                        addmod(mload(add(c, shl(5, C_XN))), sub(R, 1), R),
                        sub(R, shr(mload(add(c, shl(5, C_K))), sub(R, 1))),
                        R
                    )
                let omega := mload(add(mload(add(c, shl(5, C_ARTIFACT))), 25))
                let w := mulmod(common, mload(add(c, shl(5, C_OMEGA_LAST))), R)
                // Rows −(b+1) (the last usable one), −b … −1 (blinding), then 0.
                lLast := mulmod(w, mload(inv), R)
                let b1 := add(mload(add(c, shl(5, C_BLINDING))), 1)
                let lBlind := 0
                w := mulmod(w, omega, R)
                for { let i := 1 } lt(i, b1) { i := add(i, 1) } {
                    lBlind := addmod(lBlind, mulmod(w, mload(add(inv, shl(5, i))), R), R)
                    w := mulmod(w, omega, R)
                }
                l0 := mulmod(w, mload(add(inv, shl(5, b1))), R)
                lActive := addmod(sub(R, lLast), addmod(1, sub(R, lBlind), R), R)
                // Σ_j inst_j·L_j(x) = (xⁿ − 1)/n · N/D.
                let last := add(add(mload(add(c, shl(5, C_ROWS))), 2), mload(add(c, shl(5, C_NROTATIONS))))
                instance := mulmod(
                    mulmod(common, mload(add(c, shl(5, C_INSTANCE_NUM))), R),
                    mload(add(inv, shl(5, last))),
                    R
                )
            }

            // Step 3b: the program's leaves — the evaluations, the instance evaluation, θ β γ y x
            // l₀ l_last l_active h, the constants. Returns where the first op writes.
            function leaves(c) -> out {
                let l0, lLast, lActive, instance := lagrange(c)
                let p := mload(add(c, shl(5, C_PROGRAM)))
                let h := mload(p)
                let e := shr(240, h)
                let slots := mload(add(c, shl(5, C_SLOTS)))
                calldatacopy(
                    slots,
                    add(mload(add(c, shl(5, C_PROOF))), shl(6, mload(add(c, shl(5, C_POINTS))))),
                    shl(5, e)
                )
                let v := add(slots, shl(5, e))
                if and(shr(224, h), 0xffff) {
                    mstore(v, instance)
                    v := add(v, 32)
                }
                for { let i := 0 } lt(i, 5) { i := add(i, 1) } {
                    mstore(add(v, shl(5, i)), mload(add(c, shl(5, add(C_THETA, i)))))
                }
                mstore(add(v, shl(5, 5)), l0)
                mstore(add(v, shl(5, 6)), lLast)
                mstore(add(v, shl(5, 7)), lActive)
                mstore(add(c, shl(5, C_LIMIT)), add(v, 288))
                out := add(v, 288)
                for { let i := 0 } lt(i, and(shr(208, h), 0xffff)) { i := add(i, 1) } {
                    mstore(out, mload(add(add(p, 10), shl(5, i))))
                    out := add(out, 32)
                }
            }

            // The inputs' shape: the instance count, each instance below r, the proof's length.
            function inputs(c, proofLen, count) -> f {
                if iszero(eq(count, mload(add(c, shl(5, C_INSTANCES))))) {
                    f := fail(BAD_INSTANCES, mload(add(c, shl(5, C_INSTANCES))))
                    leave
                }
                let at := mload(add(c, shl(5, C_INSTANCE_AT)))
                for { let j := 0 } lt(j, count) { j := add(j, 1) } {
                    if iszero(lt(calldataload(add(at, shl(5, j))), R)) {
                        f := fail(NOT_CANONICAL, j)
                        leave
                    }
                }
                let expected :=
                    add(shl(6, add(mload(add(c, shl(5, C_POINTS))), 2)), shl(5, mload(add(c, shl(5, C_EVALS)))))
                if iszero(eq(proofLen, expected)) { f := fail(BAD_PROOF_LENGTH, expected) }
            }

            // Memory after the context: the program's slots, the MSM's scalars (one per code, the
            // quotient's last) and accumulator (zeroed), the inverses with their prefix products and modexp scratch, then the
            // transcript's buffer, which grows with what it absorbs.
            function regions(c) {
                let h := mload(mload(add(c, shl(5, C_PROGRAM))))
                let slotCount :=
                    add(
                        add(shr(240, h), and(shr(224, h), 0xffff)),
                        add(add(9, and(shr(208, h), 0xffff)), and(shr(192, h), 0xffff))
                    )
                let p := add(c, shl(5, C_WORDS))
                mstore(add(c, shl(5, C_SLOTS)), p)
                p := add(p, shl(5, slotCount))
                mstore(add(c, shl(5, C_SCALARS)), p)
                // Zeroed by copying from past the end of calldata.
                calldatacopy(p, calldatasize(), shl(5, add(mload(add(c, shl(5, C_CODES))), 3)))
                p := add(p, shl(5, add(mload(add(c, shl(5, C_CODES))), 3)))
                p := add(p, 96)
                mstore(add(c, shl(5, C_INVERSES)), p)
                // The rows −(b+1) … 0, xⁿ − 1, x, the rotations, the instances' denominator.
                mstore(add(c, shl(5, C_ROWS)), add(mload(add(c, shl(5, C_BLINDING))), 2))
                let m := add(add(mload(add(c, shl(5, C_ROWS))), 3), mload(add(c, shl(5, C_NROTATIONS))))
                p := add(p, add(shl(6, m), 192))
                mstore(add(c, shl(5, C_TRANSCRIPT)), p)
            }

            function run(a, len, proofAt, proofLen, instancesAt, count) -> f {
                let c := mload(0x40)
                f := parse(c, a, len)
                if f { leave }
                mstore(add(c, shl(5, C_PROOF)), proofAt)
                mstore(add(c, shl(5, C_INSTANCE_AT)), instancesAt)
                f := inputs(c, proofLen, count)
                if f { leave }
                regions(c)
                f := transcript(c)
                if f { leave }
                f := montgomery(mload(add(c, shl(5, C_INVERSES))), batch(c))
                if f { leave }
                mstore(add(c, shl(5, C_OUT)), leaves(c))
            }

            context := mload(0x40)
            failure := run(artifact_, artifactLen_, proofAt_, proofLen_, instancesAt_, count_)
        }
        if (failure != OK) return failure;
        // Step 3b: the numerator's ops.
        _numerator(context);
        // Steps 3c–5: h, SHPLONK, the MSM and the pairing.
        assembly ("memory-safe") {
            function fail(code, detail) -> f {
                f := or(shl(248, code), detail)
            }

            function u16at(p) -> v {
                v := shr(240, mload(p))
            }

            // Step 4: SHPLONK's scalars into the scalars array (one per commitment code, the
            // last one the quotient's); the generator's scalar accumulates in the context.
            function shplonk(c) -> z0 {
                let p := mload(add(c, shl(5, C_OPENINGS)))
                // Z₀ = Π (z′ − x·ω^ρ) over the first set's points.
                z0 := 1
                for { let j := 0 } lt(j, byte(0, mload(p))) { j := add(j, 1) } {
                    let r := byte(0, mload(add(add(p, 3), mul(33, j))))
                    z0 := mulmod(
                        z0,
                        addmod(
                            mload(add(c, shl(5, C_ZPRIME))),
                            sub(
                                R,
                                mulmod(
                                    mload(add(c, shl(5, C_X))),
                                    mload(add(mload(add(c, shl(5, C_ROTATIONS))), shl(5, r))),
                                    R
                                )
                            ),
                            R
                        ),
                        R
                    )
                }
                mstore(add(c, shl(5, C_Z0)), z0)
                mstore(add(c, shl(5, C_G)), 0)
                mstore(add(c, shl(5, C_GAMMA_I)), 1)
                for { let i := mload(add(c, shl(5, C_NOPENINGS))) } i { i := sub(i, 1) } {
                    p := openingSet(c, p)
                    mstore(
                        add(c, shl(5, C_GAMMA_I)),
                        mulmod(mload(add(c, shl(5, C_GAMMA_I))), mload(add(c, shl(5, C_GAMMA2))), R)
                    )
                }
                // The quotient's pieces H_t take its scalar times (xⁿ)ᵗ.
                let scalars := mload(add(c, shl(5, C_SCALARS)))
                let quotient := mload(add(scalars, shl(5, mload(add(c, shl(5, C_CODES))))))
                let at := add(scalars, shl(5, sub(mload(add(c, shl(5, C_POINTS))), mload(add(c, shl(5, C_PIECES))))))
                for { let t := mload(add(c, shl(5, C_PIECES))) } t { t := sub(t, 1) } {
                    mstore(at, addmod(mload(at), quotient, R))
                    quotient := mulmod(quotient, mload(add(c, shl(5, C_XN))), R)
                    at := add(at, 32)
                }
            }

            // One rotation set at `p`: u8 points, u16 polynomials, per point u8 rotation and its
            // weight w_j, per polynomial u16 code and u16 slot per point. With c_i = Z₀/Z_i,
            // polynomial m's commitment takes γ′^i·μ^m·c_i (γ′^i in the context); the set adds
            // γ′^i·Z₀·x^{−(|S|−1)}·Σ_j w_j/(z′ − x·ω^ρ_j)·E_j to the generator's scalar, where
            // E_j = Σ_m μ^m·e_{m,j}. Returns the next set.
            function openingSet(c, p) -> next {
                let np := byte(0, mload(p))
                if gt(np, 16) { revert(0, 0) }
                let scale := mulmod(mload(add(c, shl(5, C_GAMMA_I))), setStart(c, p, np), R)
                let poly := add(add(p, 3), mul(33, np))
                next := add(poly, mul(u16at(add(p, 1)), add(2, shl(1, np))))
                let scalars := mload(add(c, shl(5, C_SCALARS)))
                let slots := mload(add(c, shl(5, C_SLOTS)))
                let mu := mload(add(c, shl(5, C_MU)))
                let muM := 1
                switch np
                case 1 {
                    // One point (most sets): E₀ in a local.
                    let e0 := 0
                    for {} lt(poly, next) { poly := add(poly, 4) } {
                        let word := mload(poly)
                        let at := add(scalars, and(shr(235, word), 0x1fffe0))
                        mstore(at, addmod(mload(at), mulmod(scale, muM, R), R))
                        e0 := addmod(e0, mulmod(muM, mload(add(slots, and(shr(219, word), 0x1fffe0))), R), R)
                        muM := mulmod(muM, mu, R)
                    }
                    mstore(add(c, shl(5, C_E)), e0)
                }
                default {
                    for {} lt(poly, next) { poly := add(poly, add(2, shl(1, np))) } {
                        let at := add(scalars, shl(5, shr(240, mload(poly))))
                        mstore(at, addmod(mload(at), mulmod(scale, muM, R), R))
                        let ej := add(c, shl(5, C_E))
                        for { let q := add(poly, 2) } lt(q, add(poly, add(2, shl(1, np)))) { q := add(q, 2) } {
                            let v := mload(add(slots, shl(5, shr(240, mload(q)))))
                            mstore(ej, addmod(mload(ej), mulmod(muM, v, R), R))
                            ej := add(ej, 32)
                        }
                        muM := mulmod(muM, mu, R)
                    }
                }
                mstore(
                    add(c, shl(5, C_G)),
                    addmod(mload(add(c, shl(5, C_G))), mulmod(mload(add(c, shl(5, C_GAMMA_I))), setEnd(c, p, np), R), R)
                )
            }

            // Clears E and returns c_i = Z₀·Π_j 1/(z′ − x·ω^ρ_j).
            function setStart(c, p, np) -> ci {
                let pointInv := add(mload(add(c, shl(5, C_INVERSES))), shl(5, add(mload(add(c, shl(5, C_ROWS))), 2)))
                let e := add(c, shl(5, C_E))
                ci := mload(add(c, shl(5, C_Z0)))
                for { let j := 0 } lt(j, np) { j := add(j, 1) } {
                    mstore(add(e, shl(5, j)), 0)
                    ci := mulmod(ci, mload(add(pointInv, shl(5, byte(0, mload(add(add(p, 3), mul(33, j))))))), R)
                }
            }

            // Z₀·x^{−(|S|−1)}·Σ_j w_j/(z′ − x·ω^ρ_j)·E_j.
            function setEnd(c, p, np) -> v {
                let pointInv := add(mload(add(c, shl(5, C_INVERSES))), shl(5, add(mload(add(c, shl(5, C_ROWS))), 2)))
                let e := add(c, shl(5, C_E))
                for { let j := 0 } lt(j, np) { j := add(j, 1) } {
                    let pt := add(add(p, 3), mul(33, j))
                    let wd := mulmod(mload(add(pt, 1)), mload(add(pointInv, shl(5, byte(0, mload(pt))))), R)
                    v := addmod(v, mulmod(wd, mload(add(e, shl(5, j))), R), R)
                }
                let xInv := mload(add(mload(add(c, shl(5, C_INVERSES))), shl(5, add(mload(add(c, shl(5, C_ROWS))), 1))))
                v := mulmod(v, mload(add(c, shl(5, C_Z0))), R)
                for { let j := 1 } lt(j, np) { j := add(j, 1) } { v := mulmod(v, xInv, R) }
            }

            // acc += scalar·P with acc at `s` (the ecAdd input's first half) and P at `s + 64`,
            // where the product lands; a scalar of one needs no multiplication.
            function mulAdd(s, scalar) -> ok {
                ok := 1
                if iszero(eq(scalar, 1)) {
                    mstore(add(s, 128), scalar)
                    ok := staticcall(gas(), 0x07, add(s, 64), 96, add(s, 64), 64)
                }
                ok := and(ok, staticcall(gas(), 0x06, s, 128, s, 64))
            }

            // Step 5a: Σ scalar·commitment into the accumulator after the scalars.
            function msm(c) -> ok {
                let scalars := mload(add(c, shl(5, C_SCALARS)))
                let codes := mload(add(c, shl(5, C_CODES)))
                let points := mload(add(c, shl(5, C_POINTS)))
                let s := add(scalars, shl(5, add(codes, 1)))
                ok := 1
                for { let i := 0 } lt(i, codes) { i := add(i, 1) } {
                    let scalar := mload(add(scalars, shl(5, i)))
                    if scalar {
                        switch lt(i, points)
                        case 1 {
                            calldatacopy(add(s, 64), add(mload(add(c, shl(5, C_PROOF))), shl(6, i)), 64)
                            ok := and(ok, mulAdd(s, scalar))
                        }
                        default {
                            // A key commitment; the identity (an all-zero column) adds nothing.
                            let from := add(mload(add(c, shl(5, C_COMMITMENTS))), shl(6, sub(i, points)))
                            let x := mload(from)
                            let y := mload(add(from, 32))
                            if or(x, y) {
                                mstore(add(s, 64), x)
                                mstore(add(s, 96), y)
                                ok := and(ok, mulAdd(s, scalar))
                            }
                        }
                    }
                }
            }

            // One coordinate from three limbs at calldata `at` (each below 2^88, the last below
            // 2^80: what fits in 256 bits).
            function limbs(at) -> v, ok {
                let l0 := calldataload(at)
                let l1 := calldataload(add(at, 32))
                let l2 := calldataload(add(at, 64))
                ok := and(and(lt(l0, shl(88, 1)), lt(l1, shl(88, 1))), and(lt(l2, shl(80, 1)), 1))
                v := or(or(l0, shl(88, l1)), shl(176, l2))
            }

            // An aggregated proof's accumulator (lhs₁, rhs₁: 12 limbs from instance `at`) folded
            // into this proof's (lhs₀ at `s`, rhs₀ at `rhs`), as snark-verifier's decider does:
            // t = keccak(lhs₀ ‖ rhs₀ ‖ lhs₁ ‖ rhs₁) mod r, lhs₀ + t·lhs₁, rhs₀ + t·rhs₁.
            function fold(c, s, rhs) -> f {
                let h := add(s, 384)
                mstore(h, mload(s))
                mstore(add(h, 32), mload(add(s, 32)))
                mstore(add(h, 64), mload(rhs))
                mstore(add(h, 96), mload(add(rhs, 32)))
                let first := add(mload(add(c, shl(5, C_INSTANCE_AT))), shl(5, mload(add(c, shl(5, C_ACCUMULATOR)))))
                for { let i := 0 } lt(i, 4) { i := add(i, 1) } {
                    let v, ok := limbs(add(first, mul(96, i)))
                    if iszero(and(ok, lt(v, Q))) {
                        f := fail(ACCUMULATOR, add(mload(add(c, shl(5, C_ACCUMULATOR))), mul(3, i)))
                        leave
                    }
                    mstore(add(h, add(128, shl(5, i))), v)
                }
                for { let i := 0 } lt(i, 2) { i := add(i, 1) } {
                    let x := mload(add(h, add(128, shl(6, i))))
                    let y := mload(add(h, add(160, shl(6, i))))
                    if iszero(eq(mulmod(y, y, Q), addmod(mulmod(x, mulmod(x, x, Q), Q), 3, Q))) {
                        f := fail(ACCUMULATOR, add(mload(add(c, shl(5, C_ACCUMULATOR))), mul(6, i)))
                        leave
                    }
                }
                let t := mod(keccak256(h, 256), R)
                // lhs₀ + t·lhs₁ at s; rhs₀ + t·rhs₁ at rhs.
                mstore(add(s, 64), mload(add(h, 128)))
                mstore(add(s, 96), mload(add(h, 160)))
                let ok := mulAdd(s, t)
                mstore(add(rhs, 64), mload(add(h, 192)))
                mstore(add(rhs, 96), mload(add(h, 224)))
                ok := and(ok, mulAdd(rhs, t))
                if iszero(ok) { f := fail(PAIRING, 0) }
            }

            // Step 5b: − g·G₁ − Z₀·W + z′·W′, then e(acc, [1]₂)·e(W′, −[s]₂) = 1.
            function pairing(c, g, z0) -> f {
                let ok := msm(c)
                let s := add(mload(add(c, shl(5, C_SCALARS))), shl(5, add(mload(add(c, shl(5, C_CODES))), 1)))
                mstore(add(s, 64), 1)
                mstore(add(s, 96), 2)
                ok := and(ok, mulAdd(s, sub(R, g)))
                let w :=
                    add(
                        add(mload(add(c, shl(5, C_PROOF))), shl(6, mload(add(c, shl(5, C_POINTS))))),
                        shl(5, mload(add(c, shl(5, C_EVALS))))
                    )
                calldatacopy(add(s, 64), w, 64)
                ok := and(ok, mulAdd(s, sub(R, z0)))
                calldatacopy(add(s, 64), add(w, 64), 64)
                ok := and(ok, mulAdd(s, mload(add(c, shl(5, C_ZPRIME)))))
                // The right point: W′, or W′ + t·rhs₁ with an accumulator folded in.
                let rhs := add(s, 640)
                calldatacopy(rhs, add(w, 64), 64)
                if lt(mload(add(c, shl(5, C_ACCUMULATOR))), 0xffff) {
                    f := fold(c, s, rhs)
                    if f { leave }
                }
                let a := mload(add(c, shl(5, C_ARTIFACT)))
                for { let i := 0 } lt(i, 4) { i := add(i, 1) } {
                    mstore(add(s, add(64, shl(5, i))), mload(add(a, add(121, shl(5, i)))))
                    mstore(add(s, add(256, shl(5, i))), mload(add(a, add(249, shl(5, i)))))
                }
                mstore(add(s, 192), mload(rhs))
                mstore(add(s, 224), mload(add(rhs, 32)))
                ok := and(ok, staticcall(gas(), 0x08, s, 384, s, 32))
                if iszero(and(ok, mload(s))) { f := fail(PAIRING, 0) }
            }

            function run(c) -> f {
                // h = N / (xⁿ − 1), in its slot just before the constants.
                let p := mload(add(c, shl(5, C_PROGRAM)))
                let rootAt := add(add(p, 10), shl(5, and(shr(208, mload(p)), 0xffff)))
                let n := mload(add(mload(add(c, shl(5, C_SLOTS))), shl(5, u16at(rootAt))))
                mstore(add(c, shl(5, C_NUMERATOR)), n)
                mstore(
                    sub(mload(add(c, shl(5, C_LIMIT))), 32),
                    mulmod(n, mload(add(mload(add(c, shl(5, C_INVERSES))), shl(5, mload(add(c, shl(5, C_ROWS)))))), R)
                )
                let z0 := shplonk(c)
                f := pairing(c, mload(add(c, shl(5, C_G))), z0)
            }

            failure := run(context)
        }
    }

    /// Step 3b: the numerator program's ops over the slots the context names, each
    /// `a·b + c` into the next slot. (An operand naming a slot not yet written reads what is
    /// there: the artifact is trusted data, checked where it is made and bound by its hash,
    /// and can only change the verdict on its own circuit.) The self-contained verifier
    /// overrides this with its program as straight-line code.
    function _numerator(uint256 c) internal view virtual {
        assembly ("memory-safe") {
            let slots := mload(add(c, shl(5, C_SLOTS)))
            let p := mload(add(c, shl(5, C_PROGRAM)))
            let h := mload(p)
            let cursor := add(add(add(p, 10), shl(5, and(shr(208, h), 0xffff))), shl(1, and(shr(176, h), 0xffff)))
            let out := mload(add(c, shl(5, C_OUT)))
            // Operand j's slot address is slots + 32·index: (word >> (240 − 16j − 5)) & (0xffff << 5).
            // Four ops per iteration while four remain (the loop's own cost is most of an op's).
            let end := add(cursor, mul(6, and(shr(192, h), 0xffff)))
            for {} lt(add(cursor, 18), end) { cursor := add(cursor, 24) } {
                let word := mload(cursor)
                mstore(
                    out,
                    addmod(
                        mulmod(
                            mload(add(slots, and(shr(235, word), 0x1fffe0))),
                            mload(add(slots, and(shr(219, word), 0x1fffe0))),
                            R
                        ),
                        mload(add(slots, and(shr(203, word), 0x1fffe0))),
                        R
                    )
                )
                word := mload(add(cursor, 6))
                mstore(
                    add(out, 32),
                    addmod(
                        mulmod(
                            mload(add(slots, and(shr(235, word), 0x1fffe0))),
                            mload(add(slots, and(shr(219, word), 0x1fffe0))),
                            R
                        ),
                        mload(add(slots, and(shr(203, word), 0x1fffe0))),
                        R
                    )
                )
                word := mload(add(cursor, 12))
                mstore(
                    add(out, 64),
                    addmod(
                        mulmod(
                            mload(add(slots, and(shr(235, word), 0x1fffe0))),
                            mload(add(slots, and(shr(219, word), 0x1fffe0))),
                            R
                        ),
                        mload(add(slots, and(shr(203, word), 0x1fffe0))),
                        R
                    )
                )
                word := mload(add(cursor, 18))
                mstore(
                    add(out, 96),
                    addmod(
                        mulmod(
                            mload(add(slots, and(shr(235, word), 0x1fffe0))),
                            mload(add(slots, and(shr(219, word), 0x1fffe0))),
                            R
                        ),
                        mload(add(slots, and(shr(203, word), 0x1fffe0))),
                        R
                    )
                )
                out := add(out, 128)
            }
            for {} lt(cursor, end) { cursor := add(cursor, 6) } {
                let word := mload(cursor)
                mstore(
                    out,
                    addmod(
                        mulmod(
                            mload(add(slots, and(shr(235, word), 0x1fffe0))),
                            mload(add(slots, and(shr(219, word), 0x1fffe0))),
                            R
                        ),
                        mload(add(slots, and(shr(203, word), 0x1fffe0))),
                        R
                    )
                )
                out := add(out, 32)
            }
        }
    }
}
