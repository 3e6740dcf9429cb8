// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {FieldChecks} from "./FieldChecks.sol";

/// @title ConstraintVM
/// @notice Interprets a constraint program of snarkml's verifier generator (`verifier-gen`'s
/// `bytecode` module) over BN254's scalar field: the first piece of the data-driven verifier,
/// where a circuit's custom gates and lookup expressions are data instead of unrolled code.
///
/// Program encoding (big-endian):
///   u16 leaves | u16 ops | u16 roots
///   roots: u16 slot each
///   ops:   u16 a | u16 b | u16 c each: the multiply-add a·b + c (additions, subtractions and
///          products use the constant leaves 1, −1 and 0, so no op needs a branch)
/// Slots `0..leaves` hold the leaf values (column evaluations, challenges, constants); op `i`
/// writes slot `leaves + i`. An operand must name a slot already written.
///
/// The fallback is the check entry used by the tests and the gas measurement: calldata is the
/// program, then the leaf values, then the expected root values (32 bytes each); it reverts
/// unless every root equals its expected value.
contract ConstraintVM is FieldChecks {
    /// Op `index` names a slot not written before it.
    error BadOperand(uint256 index);
    /// Root `index` differs from its expected value (or names an unwritten slot).
    error RootMismatch(uint256 index);

    fallback() external {
        assembly {
            // Reverts with a one-word custom error (selectors of the errors here and in FieldChecks).
            function fail(selector, a) {
                mstore(0, shl(224, selector))
                mstore(4, a)
                revert(0, 0x24)
            }
            // Header: u16 leaves, ops, roots; then the roots' slots; then the ops, 6 bytes each.
            let head := calldataload(0)
            let nLeaves := shr(240, head)
            let nOps := and(shr(224, head), 0xffff)
            let nRoots := and(shr(208, head), 0xffff)
            let opsAt := add(6, shl(1, nRoots))
            let valuesAt := add(opsAt, mul(6, nOps))
            if iszero(eq(calldatasize(), add(valuesAt, shl(5, add(nLeaves, nRoots))))) {
                mstore(0, shl(224, 0x2e728bb2))
                mstore(4, add(valuesAt, shl(5, add(nLeaves, nRoots))))
                mstore(0x24, calldatasize())
                revert(0, 0x44)
            }
            // Slots live in memory from 0x80: slot i at 0x80 + 32·i. Leaves first, each below R.
            for { let i := 0 } lt(i, nLeaves) { i := add(i, 1) } {
                let v := calldataload(add(valuesAt, shl(5, i)))
                if iszero(lt(v, R)) { fail(0x3a128c73, add(valuesAt, shl(5, i))) }
                mstore(add(0x80, shl(5, i)), v)
            }
            // Ops: a·b + c into the next slot; every operand must name a slot before it.
            let out := add(0x80, shl(5, nLeaves))
            for { let cursor := opsAt } lt(cursor, valuesAt) { cursor := add(cursor, 6) } {
                let word := calldataload(cursor)
                let a := add(0x80, shl(5, shr(240, word)))
                let b := add(0x80, shl(5, and(shr(224, word), 0xffff)))
                let c := add(0x80, shl(5, and(shr(208, word), 0xffff)))
                if iszero(and(and(lt(a, out), lt(b, out)), lt(c, out))) {
                    fail(0xcf132d6e, shr(5, sub(out, add(0x80, shl(5, nLeaves)))))
                }
                mstore(out, addmod(mulmod(mload(a), mload(b), R), mload(c), R))
                out := add(out, 32)
            }
            // Roots against the expected values.
            let expectedAt := add(valuesAt, shl(5, nLeaves))
            for { let i := 0 } lt(i, nRoots) { i := add(i, 1) } {
                let slot := add(0x80, shl(5, shr(240, calldataload(add(6, shl(1, i))))))
                if iszero(lt(slot, out)) { fail(0xf94e0321, i) }
                if iszero(eq(mload(slot), calldataload(add(expectedAt, shl(5, i))))) { fail(0xf94e0321, i) }
            }
            stop()
        }
    }
}
