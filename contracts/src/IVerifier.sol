// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

/// @title IVerifier
/// @notice A verifier of zero-knowledge proofs over the BN254 scalar field.
interface IVerifier {
    /// @notice Checks `proof` against the public `instances`.
    /// @param proof The proof bytes, as the prover serialized them.
    /// @param instances The public inputs and outputs, each an element of the BN254 scalar field.
    /// @return valid True if and only if the proof is valid for these instances.
    function verifyProof(bytes calldata proof, uint256[] calldata instances) external view returns (bool valid);
}
