// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// @title ConstraintVM
/// @notice Interprets a constraint program of snarkml's verifier generator (`verifier-gen`'s
/// `bytecode` module) over BN254's scalar field: the first piece of the data-driven verifier,
/// where a circuit's custom gates and lookup expressions are data instead of unrolled code.
///
/// Program encoding (big-endian):
///   u16 leaves | u16 ops | u16 roots
///   ops:   u8 opcode, then u16 operands — 0 ADD a b, 1 SUB a b, 2 MUL a b, 3 MAC a b c (a·b + c)
///   roots: u16 slot each
/// Slots `0..leaves` hold the leaf values (column evaluations, challenges, constants); op `i`
/// writes slot `leaves + i`. An operand must name a slot already written.
///
/// The fallback is the check entry used by the tests and the gas measurement: calldata is the
/// program, then the leaf values, then the expected root values (32 bytes each); it reverts
/// unless every root equals its expected value.
contract ConstraintVM {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    fallback() external {
        assembly {
            // Slots live in memory from 0x80: slot i at 0x80 + 32·i.
            function slotAt(i) -> p {
                p := add(0x80, shl(5, i))
            }
            // Header.
            let nLeaves := shr(240, calldataload(0))
            let nOps := and(shr(224, calldataload(0)), 0xffff)
            let nRoots := and(shr(208, calldataload(0)), 0xffff)
            // The ops' length, to find the values after the program.
            let end := 6
            for { let i := 0 } lt(i, nOps) { i := add(i, 1) } {
                let op := shr(248, calldataload(end))
                if gt(op, 3) { revert(0, 0) }
                end := add(end, add(5, mul(eq(op, 3), 2)))
            }
            let valuesAt := add(end, shl(1, nRoots))
            if iszero(eq(calldatasize(), add(valuesAt, shl(5, add(nLeaves, nRoots))))) { revert(0, 0) }
            // Leaves, each below R.
            for { let i := 0 } lt(i, nLeaves) { i := add(i, 1) } {
                let v := calldataload(add(valuesAt, shl(5, i)))
                if iszero(lt(v, R)) { revert(0, 0) }
                mstore(slotAt(i), v)
            }
            // Ops: slot `written` receives op i's result.
            let cursor := 6
            for { let written := nLeaves } lt(written, add(nLeaves, nOps)) { written := add(written, 1) } {
                let word := calldataload(cursor)
                let ia := and(shr(232, word), 0xffff)
                let ib := and(shr(216, word), 0xffff)
                if iszero(and(lt(ia, written), lt(ib, written))) { revert(0, 0) }
                switch shr(248, word)
                case 0 { mstore(slotAt(written), addmod(mload(slotAt(ia)), mload(slotAt(ib)), R)) }
                case 1 { mstore(slotAt(written), addmod(mload(slotAt(ia)), sub(R, mload(slotAt(ib))), R)) }
                case 2 { mstore(slotAt(written), mulmod(mload(slotAt(ia)), mload(slotAt(ib)), R)) }
                default {
                    let ic := and(shr(200, word), 0xffff)
                    if iszero(lt(ic, written)) { revert(0, 0) }
                    mstore(
                        slotAt(written),
                        addmod(mulmod(mload(slotAt(ia)), mload(slotAt(ib)), R), mload(slotAt(ic)), R)
                    )
                    cursor := add(cursor, 2)
                }
                cursor := add(cursor, 5)
            }
            // Roots against the expected values.
            let expectedAt := add(valuesAt, shl(5, nLeaves))
            for { let i := 0 } lt(i, nRoots) { i := add(i, 1) } {
                let slot := shr(240, calldataload(add(end, shl(1, i))))
                if iszero(lt(slot, add(nLeaves, nOps))) { revert(0, 0) }
                if iszero(eq(mload(slotAt(slot)), calldataload(add(expectedAt, shl(5, i))))) { revert(0, 0) }
            }
            stop()
        }
    }
}
