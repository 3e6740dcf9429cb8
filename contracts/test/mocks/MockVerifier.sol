// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {IVerifier} from "../../src/IVerifier.sol";

/// @title MockVerifier
/// @notice Stands in for one circuit's verifier: a "proof" is valid for `instances` exactly when
/// it is `proofFor(instances)`, which binds this verifier's key id and every instance. So a
/// changed instance, a changed proof byte, or a proof made for another key are all rejected.
/// @dev Like snark-verifier's generated verifier, it does not itself check the number of
/// instances: the escrows' own count checks are what the tests exercise.
contract MockVerifier is IVerifier {
    /// @notice Identifies the mocked verifying key (what `vkHash` returns).
    bytes32 public immutable keyId;
    /// @inheritdoc IVerifier
    uint256 public immutable instanceCount;

    constructor(bytes32 keyId_, uint256 instanceCount_) {
        keyId = keyId_;
        instanceCount = instanceCount_;
    }

    /// @notice The one proof this verifier accepts for `instances`.
    function proofFor(uint256[] memory instances) public view returns (bytes memory) {
        return abi.encode(keyId, keccak256(abi.encodePacked(instances)));
    }

    function verifyProof(bytes calldata proof, uint256[] calldata instances) external view returns (bool) {
        return keccak256(proof) == keccak256(proofFor(instances));
    }

    function vkHash() external view returns (bytes32) {
        return keyId;
    }
}
