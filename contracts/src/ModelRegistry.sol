// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {IVerifier} from "./IVerifier.sol";

/// @title ModelRegistry
/// @notice Names committed models by id: each entry records the verifier of the model's circuit,
/// what that verifier says it enforces (its verifying-key hash and instance count, read from
/// the verifier itself, never from the caller), the verifier's code hash, the commitment to
/// the model's weights, a metadata URI and an owner. Escrows refer to models by id, check the
/// instance layout the entry records and pay the registered owner.
/// @dev What the registry cannot know is whether the verifier's code is honest: a contract can
/// return any hash. Clients compare the verifier's code with the code they generate themselves
/// for the model before paying (`snarkml infer request`, `bounty open` and `market buy` do);
/// `codeHash` lets anyone do so without trusting the verifier's own answers.
contract ModelRegistry {
    /// @notice A registered model.
    struct Model {
        /// @notice Who is paid for proofs about the model, and may transfer it.
        address owner;
        /// @notice Verifies proofs of the model's circuit.
        IVerifier verifier;
        /// @notice The verifying key the verifier says it enforces (`IVerifier.vkHash`).
        bytes32 vkHash;
        /// @notice `extcodehash` of the verifier at registration.
        bytes32 codeHash;
        /// @notice The public instances of every proof (`IVerifier.instanceCount`).
        uint256 instanceCount;
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
        bytes32 codeHash,
        uint256 instanceCount,
        uint256 weightsCommitment,
        string metadataURI
    );

    /// @notice A model changed owner.
    event OwnershipTransferred(uint256 indexed modelId, address indexed from, address indexed to);

    /// @notice No model has this id.
    error UnknownModel(uint256 modelId);
    /// @notice The verifier address holds no code.
    error VerifierNotAContract(address verifier);
    /// @notice The verifier does not answer `vkHash()` and `instanceCount()`.
    error NotAVerifier(address verifier);
    /// @notice The verifier's proofs have no public instance: they could prove nothing about the model.
    error BadInstanceCount(address verifier, uint256 instanceCount);
    /// @notice Only the model's owner may do this.
    error NotOwner(uint256 modelId, address caller);
    /// @notice The zero address cannot own a model.
    error ZeroOwner();

    /// @notice Registers a model owned by the caller, checked by `verifier`; the key hash and the
    /// instance count are read from the verifier.
    /// @return modelId The new model's id.
    function register(IVerifier verifier, uint256 weightsCommitment, string calldata metadataURI)
        external
        returns (uint256 modelId)
    {
        if (address(verifier).code.length == 0) revert VerifierNotAContract(address(verifier));
        bytes32 vkHash = bytes32(askWord(verifier, IVerifier.vkHash.selector));
        uint256 instanceCount = askWord(verifier, IVerifier.instanceCount.selector);
        if (instanceCount == 0) {
            revert BadInstanceCount(address(verifier), instanceCount);
        }
        bytes32 codeHash = address(verifier).codehash;
        modelId = ++modelCount;
        models[modelId] = Model(msg.sender, verifier, vkHash, codeHash, instanceCount, weightsCommitment, metadataURI);
        emit ModelRegistered(
            modelId, msg.sender, address(verifier), vkHash, codeHash, instanceCount, weightsCommitment, metadataURI
        );
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

    /// @notice The number of public instances of every proof about model `modelId`.
    function instanceCountOf(uint256 modelId) external view returns (uint256) {
        return get(modelId).instanceCount;
    }

    /// @notice The verifier of model `modelId`.
    function verifierOf(uint256 modelId) external view returns (IVerifier) {
        return get(modelId).verifier;
    }

    /// @dev The one-word answer of `verifier` to a getter; `NotAVerifier` when the call fails or
    /// returns less than a word (a fallback that returns nothing included).
    function askWord(IVerifier verifier, bytes4 selector) private view returns (uint256 word) {
        (bool ok, bytes memory out) = address(verifier).staticcall(abi.encodeWithSelector(selector));
        if (!ok || out.length < 32) revert NotAVerifier(address(verifier));
        word = abi.decode(out, (uint256));
    }

    function get(uint256 modelId) private view returns (Model storage m) {
        m = models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
    }
}
