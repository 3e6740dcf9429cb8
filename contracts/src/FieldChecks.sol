// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// @title FieldChecks
/// @notice What the data-driven verifier's pieces (`ConstraintVM`, `TranscriptCheck`) share:
/// BN254's scalar modulus and the errors of malformed calldata.
abstract contract FieldChecks {
    /// BN254's scalar field modulus r.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// The calldata is not `expected` bytes long for its counts.
    error BadLength(uint256 expected, uint256 got);
    /// The scalar at calldata `offset` is not below r.
    error NotCanonical(uint256 offset);
}
