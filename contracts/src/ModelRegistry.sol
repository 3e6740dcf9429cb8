// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {IVerifier} from "./IVerifier.sol";

/// @title ModelRegistry
/// @notice Names committed models by id: each entry records the verifier of the model's circuit,
/// the hash of its verifying key, the commitment to its weights, a metadata URI and an owner.
/// Escrows refer to models by id and pay the registered owner.
contract ModelRegistry {
    /// @notice A registered model.
    struct Model {
        /// @notice Who is paid for proofs about the model, and may transfer it.
        address owner;
        /// @notice Verifies proofs of the model's circuit.
        IVerifier verifier;
        /// @notice SHA-256 of the circuit's verifying key (as `snarkml setup` reports it).
        bytes32 vkHash;
        /// @notice Poseidon commitment to the quantized weights (zero when the weights are fixed
        /// in the circuit, which the verifying key then binds).
        uint256 weightsCommitment;
        /// @notice Where the model's description lives.
        string metadataURI;
    }

    /// @notice The number of models registered; ids are 1..modelCount.
    uint256 public modelCount;

    mapping(uint256 => Model) private models;

    /// @notice A model was registered.
    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        address verifier,
        bytes32 vkHash,
        uint256 weightsCommitment,
        string metadataURI
    );

    /// @notice A model changed owner.
    event OwnershipTransferred(uint256 indexed modelId, address indexed from, address indexed to);

    /// @notice No model has this id.
    error UnknownModel(uint256 modelId);
    /// @notice The verifier address holds no code.
    error VerifierNotAContract(address verifier);
    /// @notice Only the model's owner may do this.
    error NotOwner(uint256 modelId, address caller);
    /// @notice The zero address cannot own a model.
    error ZeroOwner();

    /// @notice Registers a model owned by the caller.
    /// @return modelId The new model's id.
    function register(IVerifier verifier, bytes32 vkHash, uint256 weightsCommitment, string calldata metadataURI)
        external
        returns (uint256 modelId)
    {
        if (address(verifier).code.length == 0) revert VerifierNotAContract(address(verifier));
        modelId = ++modelCount;
        models[modelId] = Model(msg.sender, verifier, vkHash, weightsCommitment, metadataURI);
        emit ModelRegistered(modelId, msg.sender, address(verifier), vkHash, weightsCommitment, metadataURI);
    }

    /// @notice Hands a model to a new owner.
    function transferOwnership(uint256 modelId, address to) external {
        Model storage m = get(modelId);
        if (m.owner != msg.sender) revert NotOwner(modelId, msg.sender);
        if (to == address(0)) revert ZeroOwner();
        m.owner = to;
        emit OwnershipTransferred(modelId, msg.sender, to);
    }

    /// @notice The model with id `modelId`.
    function model(uint256 modelId) external view returns (Model memory) {
        return get(modelId);
    }

    /// @notice The owner of model `modelId`.
    function ownerOf(uint256 modelId) external view returns (address) {
        return get(modelId).owner;
    }

    /// @notice The weights commitment of model `modelId` (zero when its weights are fixed).
    function weightsCommitmentOf(uint256 modelId) external view returns (uint256) {
        return get(modelId).weightsCommitment;
    }

    /// @notice The verifier of model `modelId`.
    function verifierOf(uint256 modelId) external view returns (IVerifier) {
        return get(modelId).verifier;
    }

    function get(uint256 modelId) private view returns (Model storage m) {
        m = models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
    }
}
