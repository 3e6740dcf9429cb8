// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {Halo2VerifierOpening} from "./Halo2VerifierOpening.sol";

/// @title Halo2VerifierCore
/// @notice The data-driven verifier of snarkml's halo2 KZG proofs (Keccak transcript, SHPLONK
/// multi-opening). Nothing about a circuit is code here: a verifying-key artifact (made by
/// `verifier-gen`'s `artifact` module, whose `verify` module is the reference this follows
/// step for step) gives the counts, the commitments, the opening plan and the quotient's
/// numerator as a constraint program, and the loops below run over it.
///
/// Steps:
///   1. Read the proof through the Keccak transcript: a two-phase circuit's challenges (after
///      its first-phase advice), θ, β, γ, y, x, μ, γ′, z′; every point on G1, every scalar
///      below r, the length exactly what the artifact's counts give.
///   2. One batch inversion (one modexp): x − ω^i for the rows −(b+1) … 0, xⁿ − 1, x,
///      z′ − x·ω^ρ for every rotation opened, and the denominator of the instances'
///      Lagrange sum kept as one fraction.
///   3. l₀, l_last, l_active and the instance evaluation; the constraint program computes the
///      numerator N(x); the quotient's evaluation is h = N / (xⁿ − 1).
///   4. SHPLONK: per rotation set and polynomial, the coefficient of its commitment and of the
///      generator; the quotient's pieces folded with powers of xⁿ.
///   5. One multi-scalar multiplication (ecMul, ecAdd) and one pairing check, an aggregated
///      proof's accumulator (in its instances) folded in first.
///
/// Steps 3c–5 are in `Halo2VerifierOpening`; the constants in `Halo2VerifierLayout`.
///
/// Artifact encoding (big-endian): see `verifier-gen/src/artifact.rs`.
abstract contract Halo2VerifierCore is Halo2VerifierOpening {
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
                // "SMVK", version 2, or 3 with a second phase (its counts after the accumulator).
                let version := shr(216, mload(a))
                if iszero(or(eq(version, 0x534d564b02), eq(version, 0x534d564b03))) {
                    f := fail(BAD_ARTIFACT, 0)
                    leave
                }
                let trailer := 2
                if eq(version, 0x534d564b03) { trailer := 6 }
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
                // Then u16: the accumulator's first instance (0xffff: none); version 3: u16
                // first-phase advice, u16 challenges (1 to 4).
                if or(iszero(eq(add(add(p, plen), trailer), end)), iszero(eq(plen, need))) {
                    f := fail(BAD_ARTIFACT, sub(p, a))
                    leave
                }
                mstore(add(c, shl(5, C_PHASE0)), mload(add(c, shl(5, C_ADVICE))))
                mstore(add(c, shl(5, C_CHALLENGES)), 0)
                if eq(trailer, 6) {
                    let first := u16at(add(add(p, plen), 2))
                    let challenges := u16at(add(add(p, plen), 4))
                    if or(gt(first, mload(add(c, shl(5, C_ADVICE)))), or(iszero(challenges), gt(challenges, 4))) {
                        f := fail(BAD_ARTIFACT, sub(add(p, plen), a))
                        leave
                    }
                    mstore(add(c, shl(5, C_PHASE0)), first)
                    mstore(add(c, shl(5, C_CHALLENGES)), challenges)
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
                let adv0 := shl(6, mload(add(c, shl(5, C_PHASE0))))
                // Initial state, instances, the first phase's advice → θ, or the challenges
                // (into their program slots, after the derived values), then the second
                // phase's advice → θ.
                mstore(t, mload(add(mload(add(c, shl(5, C_ARTIFACT))), 89)))
                calldatacopy(add(t, 32), mload(add(c, shl(5, C_INSTANCE_AT))), shl(5, n))
                calldatacopy(add(add(t, 32), shl(5, n)), proofAt, adv0)
                let ch := squeeze(t, add(32, add(shl(5, n), adv0)))
                let challenges := mload(add(c, shl(5, C_CHALLENGES)))
                if challenges {
                    let h := mload(mload(add(c, shl(5, C_PROGRAM))))
                    let s :=
                        add(mload(add(c, shl(5, C_SLOTS))), shl(5, add(add(shr(240, h), and(shr(224, h), 0xffff)), 9)))
                    mstore(s, ch)
                    for { let i := 1 } lt(i, challenges) { i := add(i, 1) } {
                        mstore(add(s, shl(5, i)), squeeze(t, 32))
                    }
                    ch := absorb(t, add(proofAt, adv0), sub(adv, adv0))
                }
                mstore(add(c, shl(5, C_THETA)), ch)
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

            // Step 2: the batch inversion (`batch` lists the elements, `montgomery` inverts them
            // all with one modexp).
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

            // Step 3a: the program's leaves — the evaluations, the instance evaluation, θ β γ y x
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
                // The challenges (written by the transcript) come before the constants.
                out := add(add(v, 288), shl(5, mload(add(c, shl(5, C_CHALLENGES)))))
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
            // quotient's last) and accumulator (zeroed), the inverses with their prefix products
            // and modexp scratch, then the transcript's buffer, which grows with what it absorbs.
            function regions(c) {
                let h := mload(mload(add(c, shl(5, C_PROGRAM))))
                let slotCount :=
                    add(
                        add(add(shr(240, h), and(shr(224, h), 0xffff)), mload(add(c, shl(5, C_CHALLENGES)))),
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
        failure = _open(context);
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
