// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {FieldChecks} from "./FieldChecks.sol";

/// @title TranscriptCheck
/// @notice The Keccak transcript of snarkml's data-driven verifier (issue 9): derives a proof's
/// challenges the way snark-verifier's EVM verifiers do, from the counts a verifying-key
/// artifact holds (`verifier-gen`'s `artifact` and `transcript` modules are the reference).
///
/// Calldata (big-endian):
///   u16 instances | u16 advice | u16 lookups | u16 permutation z's | u16 quotient pieces |
///   u16 evaluations | initial state (32) | instances (32 each) | proof | expected challenges
///   θ, β, γ, y, x, μ, γ′, z′ (32 each)
/// Every point of the proof must be on BN254's G1 (and not the identity), every scalar below r;
/// the call reverts unless the derived challenges equal the expected ones.
contract TranscriptCheck is FieldChecks {
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    /// The point at calldata `offset` is not on G1 (or is the identity).
    error NotOnCurve(uint256 offset);
    /// Challenge `index` (θ, β, γ, y, x, μ, γ′, z′) differs from the expected one.
    error ChallengeMismatch(uint256 index);

    fallback() external {
        assembly {
            // Reverts with a custom error of one or two words (selectors of the errors here and in FieldChecks).
            function fail(selector, a) {
                mstore(0, shl(224, selector))
                mstore(4, a)
                revert(0, 0x24)
            }
            // The hash input lives at 0x80: after each squeeze its first word is the hash.
            function squeeze(len) -> c {
                if eq(len, 32) {
                    mstore8(0xa0, 1)
                    len := 33
                }
                let h := keccak256(0x80, len)
                mstore(0x80, h)
                c := mod(h, R)
            }
            // Appends `n` bytes of calldata at `from` to the hash input (after the last hash).
            function absorb(from, n) -> len {
                calldatacopy(0xa0, from, n)
                len := add(32, n)
            }
            function points(from, count) {
                for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                    let x := calldataload(add(from, shl(6, i)))
                    let y := calldataload(add(from, add(shl(6, i), 32)))
                    if iszero(and(lt(x, Q), lt(y, Q))) { fail(0x03affdfc, add(from, shl(6, i))) }
                    if iszero(eq(mulmod(y, y, Q), addmod(mulmod(x, mulmod(x, x, Q), Q), 3, Q))) {
                        fail(0x03affdfc, add(from, shl(6, i)))
                    }
                }
            }
            let head := calldataload(0)
            let nInstances := shr(240, head)
            let nAdvice := and(shr(224, head), 0xffff)
            let nLookups := and(shr(208, head), 0xffff)
            let nZ := and(shr(192, head), 0xffff)
            let nQuotient := and(shr(176, head), 0xffff)
            let nEvals := and(shr(160, head), 0xffff)
            let proofAt := add(44, shl(5, nInstances))
            let expectedAt :=
                add(
                    proofAt,
                    add(shl(6, add(add(nAdvice, mul(3, nLookups)), add(nZ, add(nQuotient, 3)))), shl(5, nEvals))
                )
            if iszero(eq(calldatasize(), add(expectedAt, 256))) {
                mstore(0, shl(224, 0x2e728bb2))
                mstore(4, add(expectedAt, 256))
                mstore(0x24, calldatasize())
                revert(0, 0x44)
            }
            for { let i := 0 } lt(i, nInstances) { i := add(i, 1) } {
                if iszero(lt(calldataload(add(44, shl(5, i))), R)) { fail(0x3a128c73, add(44, shl(5, i))) }
            }
            // Initial state, instances and the advice commitments, then θ.
            let n := add(add(32, shl(5, nInstances)), shl(6, nAdvice))
            calldatacopy(0x80, 12, n)
            points(proofAt, nAdvice)
            let cursor := add(proofAt, shl(6, nAdvice))
            let c := squeeze(n)
            if iszero(eq(c, calldataload(expectedAt))) { fail(0xae2334ce, 0) }
            // The lookups' permuted columns, then β and γ.
            n := shl(7, nLookups)
            points(cursor, shl(1, nLookups))
            c := squeeze(absorb(cursor, n))
            cursor := add(cursor, n)
            if iszero(eq(c, calldataload(add(expectedAt, 32)))) { fail(0xae2334ce, 1) }
            c := squeeze(32)
            if iszero(eq(c, calldataload(add(expectedAt, 64)))) { fail(0xae2334ce, 2) }
            // Permutation z's, lookup z's, the random polynomial, then y.
            n := shl(6, add(nZ, add(nLookups, 1)))
            points(cursor, add(nZ, add(nLookups, 1)))
            c := squeeze(absorb(cursor, n))
            cursor := add(cursor, n)
            if iszero(eq(c, calldataload(add(expectedAt, 96)))) { fail(0xae2334ce, 3) }
            // The quotient pieces, then x.
            n := shl(6, nQuotient)
            points(cursor, nQuotient)
            c := squeeze(absorb(cursor, n))
            cursor := add(cursor, n)
            if iszero(eq(c, calldataload(add(expectedAt, 128)))) { fail(0xae2334ce, 4) }
            // The evaluations, then μ and γ′.
            n := shl(5, nEvals)
            for { let i := 0 } lt(i, nEvals) { i := add(i, 1) } {
                if iszero(lt(calldataload(add(cursor, shl(5, i))), R)) { fail(0x3a128c73, add(cursor, shl(5, i))) }
            }
            c := squeeze(absorb(cursor, n))
            cursor := add(cursor, n)
            if iszero(eq(c, calldataload(add(expectedAt, 160)))) { fail(0xae2334ce, 5) }
            c := squeeze(32)
            if iszero(eq(c, calldataload(add(expectedAt, 192)))) { fail(0xae2334ce, 6) }
            // W, then z′; W′ is read last and absorbs into nothing.
            points(cursor, 2)
            c := squeeze(absorb(cursor, 64))
            if iszero(eq(c, calldataload(add(expectedAt, 224)))) { fail(0xae2334ce, 7) }
            stop()
        }
    }
}
