// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {Halo2VerifierLayout} from "./Halo2VerifierLayout.sol";

/// @title Halo2VerifierOpening
/// @notice Steps 3c–5 of snarkml's verifier (see `Halo2VerifierCore`): the quotient's
/// evaluation h, SHPLONK's scalars from the artifact's opening plan, the accumulator of an
/// aggregated proof, one multi-scalar multiplication and one pairing.
abstract contract Halo2VerifierOpening is Halo2VerifierLayout {
    /// Finishes the check whose context (transcript, inverses, numerator) starts at `context`:
    /// `OK`, or a failure code shifted left by 248 bits with a detail in the low bits.
    function _open(uint256 context) internal view returns (uint256 failure) {
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
}
