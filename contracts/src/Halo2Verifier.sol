// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {Halo2VerifierCore} from "./Halo2VerifierCore.sol";

/// @title Halo2Verifier
/// @notice snarkml's reusable verifier: deployed once, it checks proofs of any circuit whose
/// verifying-key artifact is stored as the code of a data contract (`0x00` followed by the
/// artifact's bytes, so the data can never run). Per circuit, a `Halo2VerifyingKey` binds an
/// artifact to this verifier behind the `IVerifier` interface.
contract Halo2Verifier is Halo2VerifierCore {
    /// @notice `artifact` holds no verifying-key artifact (no code, or code not starting with
    /// the data contract's `0x00`).
    error NoArtifact(address artifact);

    /// @notice True if and only if `proof` is valid for `instances` under the verifying key
    /// stored at `artifact`.
    function verifyWith(address artifact, bytes calldata proof, uint256[] calldata instances)
        external
        view
        returns (bool)
    {
        return checkWith(artifact, proof, instances) == OK;
    }

    /// @notice Why `proof` fails, if it does: 0 for a valid proof, else a failure code (see
    /// `Halo2VerifierCore`) in the top byte and its detail below.
    function checkWith(address artifact, bytes calldata proof, uint256[] calldata instances)
        public
        view
        returns (uint256)
    {
        bytes memory code = artifact.code;
        if (code.length < 2 || code[0] != 0x00) revert NoArtifact(artifact);
        uint256 at;
        uint256 proofAt;
        uint256 instancesAt;
        assembly {
            at := add(code, 33)
            proofAt := proof.offset
            instancesAt := instances.offset
        }
        return _check(at, code.length - 1, proofAt, proof.length, instancesAt, instances.length);
    }
}
