// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {IVerifier} from "./IVerifier.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {PullPayments} from "./PullPayments.sol";

/// @title InferenceEscrow
/// @notice Pay-per-verified-inference. A requester opens a request for a registered model on
/// given public input instances (the packed public input, or the Poseidon commitment of a
/// hashed one), escrowing a fee until a deadline. Anyone may fulfil it with a proof whose
/// public instances are exactly the registered model's instance count, start with exactly
/// those input instances, end with the model's registered weights commitment (when it has one:
/// private weights do not change the verifying key, so the commitment is what names the
/// weights), and that the model's verifier accepts; the fee is then credited to the model's
/// registered owner and the output instances (those between) are published. After the
/// deadline an unfulfilled request can be refunded to the requester.
/// Each request is paid or refunded once. Payments are pulled with `withdraw`.
contract InferenceEscrow is PullPayments {
    /// @notice Where a request stands.
    enum Status {
        None,
        Open,
        Fulfilled,
        Refunded
    }

    /// @notice An inference request.
    struct Request {
        /// @notice Who paid, and gets the fee back on refund.
        address requester;
        /// @notice Last timestamp at which the request can be fulfilled.
        uint64 deadline;
        /// @notice Where it stands.
        Status status;
        /// @notice The model (in the registry).
        uint256 modelId;
        /// @notice The escrowed fee, in wei.
        uint256 fee;
        /// @notice keccak256 of the input instances.
        bytes32 inputDigest;
        /// @notice How many instances the input is.
        uint256 inputCount;
    }

    /// @notice The registry that names models.
    ModelRegistry public immutable registry;
    /// @notice The number of requests opened; ids are 1..requestCount.
    uint256 public requestCount;
    /// @notice Fees of open requests, in wei.
    uint256 public openFees;

    mapping(uint256 => Request) private requests;

    /// @notice A request was opened.
    event RequestOpened(
        uint256 indexed requestId,
        address indexed requester,
        uint256 indexed modelId,
        uint256 fee,
        uint64 deadline,
        uint256[] inputInstances
    );
    /// @notice A request was fulfilled by a valid proof; `outputInstances` are the proven outputs.
    event RequestFulfilled(uint256 indexed requestId, address indexed payee, uint256[] outputInstances);
    /// @notice A request expired and its fee was credited back to the requester.
    event RequestRefunded(uint256 indexed requestId, address indexed requester);

    /// @notice A request must pay a fee.
    error ZeroFee();
    /// @notice The deadline is not in the future.
    error DeadlineNotInFuture(uint64 deadline);
    /// @notice No request has this id.
    error UnknownRequest(uint256 requestId);
    /// @notice The request was already fulfilled or refunded.
    error NotOpen(uint256 requestId, Status status);
    /// @notice The request's deadline passed: it can only be refunded.
    error DeadlinePassed(uint256 requestId, uint64 deadline);
    /// @notice The request's deadline has not passed yet.
    error DeadlineNotReached(uint256 requestId, uint64 deadline);
    /// @notice The input instances and the weights commitment do not fit in the model's
    /// instance count.
    error InputTooLong(uint256 modelId, uint256 inputCount, uint256 instanceCount);
    /// @notice The proof does not have the model's number of instances.
    error InstanceCountMismatch(uint256 requestId, uint256 expected, uint256 got);
    /// @notice The proof's instances do not start with the request's input instances.
    error InputMismatch(uint256 requestId);
    /// @notice The proof's last instance is not the model's registered weights commitment.
    error WeightsMismatch(uint256 requestId);
    /// @notice The model's verifier rejected the proof.
    error ProofRejected(uint256 requestId);

    constructor(ModelRegistry registry_) {
        registry = registry_;
    }

    /// @notice Opens a request for `modelId` on `inputInstances`, paying the fee (`msg.value`).
    /// @return requestId The new request's id.
    function request(uint256 modelId, uint256[] calldata inputInstances, uint64 deadline)
        external
        payable
        returns (uint256 requestId)
    {
        if (msg.value == 0) revert ZeroFee();
        // Deadlines are coarse (minutes or more): validator timestamp drift does not matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (deadline <= block.timestamp) revert DeadlineNotInFuture(deadline);
        // Reverts for an unknown model.
        uint256 count = registry.instanceCountOf(modelId);
        uint256 reserved = registry.weightsCommitmentOf(modelId) == 0 ? 0 : 1;
        if (inputInstances.length + reserved > count) {
            revert InputTooLong(modelId, inputInstances.length, count);
        }
        requestId = ++requestCount;
        requests[requestId] = Request({
            requester: msg.sender,
            deadline: deadline,
            status: Status.Open,
            modelId: modelId,
            fee: msg.value,
            inputDigest: keccak256(abi.encodePacked(inputInstances)),
            inputCount: inputInstances.length
        });
        openFees += msg.value;
        emit RequestOpened(requestId, msg.sender, modelId, msg.value, deadline, inputInstances);
    }

    /// @notice Fulfils request `requestId` with `proof` of `instances` (input instances, then
    /// output instances); credits the fee to the model's owner.
    function fulfill(uint256 requestId, bytes calldata proof, uint256[] calldata instances) external {
        Request storage r = open(requestId);
        // Deadlines are coarse (minutes or more): validator timestamp drift does not matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > r.deadline) revert DeadlinePassed(requestId, r.deadline);
        uint256 expected = registry.instanceCountOf(r.modelId);
        if (instances.length != expected) revert InstanceCountMismatch(requestId, expected, instances.length);
        uint256 n = r.inputCount;
        if (instances.length < n || keccak256(abi.encodePacked(instances[:n])) != r.inputDigest) {
            revert InputMismatch(requestId);
        }
        uint256 end = instances.length;
        uint256 weights = registry.weightsCommitmentOf(r.modelId);
        if (weights != 0) {
            if (end == n || instances[end - 1] != weights) revert WeightsMismatch(requestId);
            end -= 1;
        }
        if (!registry.verifierOf(r.modelId).verifyProof(proof, instances)) revert ProofRejected(requestId);
        address payee = registry.ownerOf(r.modelId);
        r.status = Status.Fulfilled;
        openFees -= r.fee;
        _credit(payee, r.fee);
        emit RequestFulfilled(requestId, payee, instances[n:end]);
    }

    /// @notice Credits the fee of an expired, unfulfilled request back to its requester
    /// (anyone may call it).
    function refund(uint256 requestId) external {
        Request storage r = open(requestId);
        // Deadlines are coarse (minutes or more): validator timestamp drift does not matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= r.deadline) revert DeadlineNotReached(requestId, r.deadline);
        r.status = Status.Refunded;
        openFees -= r.fee;
        _credit(r.requester, r.fee);
        emit RequestRefunded(requestId, r.requester);
    }

    /// @notice Request `requestId`.
    function getRequest(uint256 requestId) external view returns (Request memory) {
        Request storage r = requests[requestId];
        if (r.status == Status.None) revert UnknownRequest(requestId);
        return r;
    }

    function open(uint256 requestId) private view returns (Request storage r) {
        r = requests[requestId];
        if (r.status == Status.None) revert UnknownRequest(requestId);
        if (r.status != Status.Open) revert NotOpen(requestId, r.status);
    }
}
