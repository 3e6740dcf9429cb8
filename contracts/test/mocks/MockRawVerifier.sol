// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

/// @title MockRawVerifier
/// @notice Stands in for a generated halo2 verifier: it has no functions, accepts (returns
/// empty data) exactly one calldata, chosen at deployment, and reverts on any other.
contract MockRawVerifier {
    /// @notice The calldata was not the accepted one.
    error InvalidProof();

    /// @dev Private, so that no getter's selector can be dispatched instead of the fallback.
    bytes32 private immutable acceptedCalldataHash;

    /// @param acceptedCalldata The only calldata the mock accepts.
    constructor(bytes memory acceptedCalldata) {
        acceptedCalldataHash = keccak256(acceptedCalldata);
    }

    fallback() external {
        if (keccak256(msg.data) != acceptedCalldataHash) revert InvalidProof();
    }
}
