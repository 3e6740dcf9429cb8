// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

/// @title IVerifier
/// @notice A verifier of zero-knowledge proofs over the BN254 scalar field, which names the
/// verifying key it enforces and the exact number of public instances its proofs have.
interface IVerifier {
    /// @notice Checks `proof` against the public `instances`.
    /// @param proof The proof bytes, as the prover serialized them.
    /// @param instances The public inputs and outputs, each an element of the BN254 scalar field.
    /// @return valid True if and only if the proof is valid for these instances; false for any
    /// other number of instances than `instanceCount()` or any other proof length than the
    /// key's.
    function verifyProof(bytes calldata proof, uint256[] calldata instances) external view returns (bool valid);

    /// @notice Names the verifying key this verifier enforces: for snarkml's own verifiers the
    /// Keccak hash of the key's artifact; for snark-verifier's verifier behind
    /// `Halo2VerifierAdapter`, the code hash of that verifier (its code embeds the key).
    /// @dev A contract can return anything here: a client that pays because of this verifier
    /// also compares its code with the code it generates itself (`snarkml` does, before any
    /// money moves).
    function vkHash() external view returns (bytes32);

    /// @notice The exact number of public instances of every proof this verifier accepts.
    function instanceCount() external view returns (uint256);
}
