// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {IVerifier} from "../../src/IVerifier.sol";

/// @title MockVerifier
/// @notice Stands in for one circuit's verifier: a "proof" is valid for `instances` exactly when
/// it is `proofFor(instances)`, which binds this verifier's key id and every instance. So a
/// changed instance, a changed proof byte, or a proof made for another key are all rejected.
contract MockVerifier is IVerifier {
    /// @notice Identifies the mocked verifying key.
    bytes32 public immutable keyId;

    constructor(bytes32 keyId_) {
        keyId = keyId_;
    }

    /// @notice The one proof this verifier accepts for `instances`.
    function proofFor(uint256[] memory instances) public view returns (bytes memory) {
        return abi.encode(keyId, keccak256(abi.encodePacked(instances)));
    }

    function verifyProof(bytes calldata proof, uint256[] calldata instances) external view returns (bool) {
        return keccak256(proof) == keccak256(proofFor(instances));
    }
}
