// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {IVerifier} from "./IVerifier.sol";
import {Halo2Verifier} from "./Halo2Verifier.sol";

/// @title Halo2VerifyingKey
/// @notice One circuit's verifier in the reusable form: its verifying-key artifact (a data
/// contract) bound to the shared `Halo2Verifier`, behind `IVerifier`. `vkHash` (the Keccak
/// hash of the artifact's bytes) is what the model registry and the escrows record.
contract Halo2VerifyingKey is IVerifier {
    /// @notice The shared verifier.
    Halo2Verifier public immutable verifier;
    /// @notice The data contract holding the artifact.
    address public immutable artifact;
    /// @notice keccak256 of the artifact's bytes.
    bytes32 public immutable vkHash;

    /// @notice The verifier or the artifact address holds no code.
    error NotAContract(address account);

    constructor(Halo2Verifier verifier_, address artifact_) {
        if (address(verifier_).code.length == 0) revert NotAContract(address(verifier_));
        bytes memory code = artifact_.code;
        if (code.length < 2) revert NotAContract(artifact_);
        bytes32 hash;
        assembly {
            hash := keccak256(add(code, 33), sub(mload(code), 1))
        }
        verifier = verifier_;
        artifact = artifact_;
        vkHash = hash;
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
