// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {IVerifier} from "./IVerifier.sol";
import {Halo2Verifier} from "./Halo2Verifier.sol";

/// @title Halo2VerifyingKey
/// @notice One circuit's verifier in the reusable form: its verifying-key artifact (a data
/// contract) bound to the shared `Halo2Verifier`, behind `IVerifier`. `vkHash` (the Keccak
/// hash of the artifact's bytes) and `instanceCount` (the artifact's count) are what the model
/// registry reads from it and records.
contract Halo2VerifyingKey is IVerifier {
    /// @notice The shared verifier.
    Halo2Verifier public immutable verifier;
    /// @notice The data contract holding the artifact.
    address public immutable artifact;
    /// @notice keccak256 of the artifact's bytes.
    bytes32 public immutable vkHash;
    /// @notice The public instances of every proof, read from the artifact's header.
    uint256 public immutable instanceCount;

    /// @notice The verifier or the artifact address holds no code.
    error NotAContract(address account);
    /// @notice The artifact's code is too short to hold an artifact header.
    error NotAnArtifact(address artifact);

    /// @dev Where the artifact's u16 instance count sits in the data contract's code: after
    /// the `0x00` guard byte, the magic (4), the version, k and the blinding factors.
    uint256 private constant INSTANCES_AT = 1 + 4 + 3;

    constructor(Halo2Verifier verifier_, address artifact_) {
        if (address(verifier_).code.length == 0) revert NotAContract(address(verifier_));
        bytes memory code = artifact_.code;
        if (code.length < 2) revert NotAContract(artifact_);
        if (code.length < INSTANCES_AT + 2) revert NotAnArtifact(artifact_);
        bytes32 hash;
        assembly {
            hash := keccak256(add(code, 33), sub(mload(code), 1))
        }
        verifier = verifier_;
        artifact = artifact_;
        vkHash = hash;
        instanceCount = (uint256(uint8(code[INSTANCES_AT])) << 8) | uint256(uint8(code[INSTANCES_AT + 1]));
    }

    /// @inheritdoc IVerifier
    function verifyProof(bytes calldata proof, uint256[] calldata instances) external view returns (bool) {
        return verifier.verifyWith(artifact, proof, instances);
    }

    /// @notice Why `proof` fails, if it does (see `Halo2Verifier.checkWith`).
    function check(bytes calldata proof, uint256[] calldata instances) external view returns (uint256) {
        return verifier.checkWith(artifact, proof, instances);
    }
}
