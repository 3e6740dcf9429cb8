// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {IVerifier} from "./IVerifier.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {PullPayments} from "./PullPayments.sol";

/// @title AuditBounty
/// @notice Trustless accuracy audits. A sponsor escrows a reward for proof that a registered
/// model (named by its weights commitment C_W) classifies at least a threshold fraction of a
/// committed dataset (C_D, n samples) correctly. The proof is one aggregated proof over the
/// audit's chunk proofs, checked by the audit verifier the sponsor names; its public instances
/// are the 12 KZG accumulator limbs, then (C_W, h_0, C_D, n, correct): the weights commitment
/// every chunk shares, the dataset hash chain's start and end, and the summed sample and
/// correct counts. A valid claim credits the reward to the model's registered owner; after the
/// deadline an unclaimed reward is credited back to the sponsor. Each bounty pays once;
/// payments are pulled with `withdraw`.
contract AuditBounty is PullPayments {
    /// @notice Where a bounty stands.
    enum Status {
        None,
        Open,
        Paid,
        Reclaimed
    }

    /// @notice A bounty.
    struct Bounty {
        /// @notice Who paid the reward, and gets it back if nobody claims it in time.
        address sponsor;
        /// @notice Last timestamp at which the bounty can be claimed.
        uint64 deadline;
        /// @notice Where it stands.
        Status status;
        /// @notice The model (in the registry), whose weights commitment the proof must carry.
        uint256 modelId;
        /// @notice Verifies aggregated audit proofs.
        IVerifier verifier;
        /// @notice The dataset commitment C_D (the end of its Poseidon hash chain).
        uint256 datasetCommitment;
        /// @notice How many samples the dataset has.
        uint256 samples;
        /// @notice The accuracy threshold is thresholdNum / thresholdDen.
        uint256 thresholdNum;
        /// @notice See thresholdNum.
        uint256 thresholdDen;
        /// @notice The reward, in wei.
        uint256 reward;
    }

    /// @notice How many accumulator limbs precede the audit's values in an aggregated proof.
    uint256 public constant ACCUMULATOR_LIMBS = 12;
    /// @notice The number of public instances of an aggregated audit proof.
    uint256 public constant INSTANCES = ACCUMULATOR_LIMBS + 5;
    /// @notice The value the dataset hash chain starts from.
    uint256 public constant CHAIN_START = 0;
    /// @notice The largest sample count and threshold denominator (keeps products in range).
    uint256 public constant MAX_COUNT = 2 ** 64;

    /// @notice The registry that names models.
    ModelRegistry public immutable registry;
    /// @notice The number of bounties opened; ids are 1..bountyCount.
    uint256 public bountyCount;
    /// @notice Rewards of open bounties, in wei.
    uint256 public openRewards;

    mapping(uint256 => Bounty) private bounties;

    /// @notice A bounty was opened.
    event BountyOpened(
        uint256 indexed bountyId,
        address indexed sponsor,
        uint256 indexed modelId,
        address verifier,
        uint256 datasetCommitment,
        uint256 samples,
        uint256 thresholdNum,
        uint256 thresholdDen,
        uint256 reward,
        uint64 deadline
    );
    /// @notice A bounty was claimed: the model classified `correct` of `samples` correctly.
    event BountyPaid(uint256 indexed bountyId, address indexed payee, uint256 correct, uint256 samples);
    /// @notice An unclaimed bounty expired and its reward was credited back to the sponsor.
    event BountyReclaimed(uint256 indexed bountyId, address indexed sponsor);

    /// @notice A bounty must pay a reward.
    error ZeroReward();
    /// @notice The deadline is not in the future.
    error DeadlineNotInFuture(uint64 deadline);
    /// @notice The threshold is not a fraction in [0, 1] with a denominator in 1..2^64.
    error BadThreshold(uint256 num, uint256 den);
    /// @notice A dataset has 1..2^64 samples.
    error BadSampleCount(uint256 samples);
    /// @notice The model has no weights commitment to audit against.
    error ModelNotCommitted(uint256 modelId);
    /// @notice The verifier address holds no code.
    error VerifierNotAContract(address verifier);
    /// @notice The verifier's proofs do not have an aggregated audit proof's instances.
    error WrongVerifierInstanceCount(address verifier, uint256 instanceCount);
    /// @notice No bounty has this id.
    error UnknownBounty(uint256 bountyId);
    /// @notice The bounty was already paid or reclaimed.
    error NotOpen(uint256 bountyId, Status status);
    /// @notice The bounty's deadline passed: it can only be reclaimed.
    error DeadlinePassed(uint256 bountyId, uint64 deadline);
    /// @notice The bounty's deadline has not passed yet.
    error DeadlineNotReached(uint256 bountyId, uint64 deadline);
    /// @notice The proof does not have the audit's number of instances.
    error WrongInstanceCount(uint256 bountyId, uint256 got);
    /// @notice The proof's weights commitment is not the model's.
    error WrongModel(uint256 bountyId, uint256 weightsCommitment);
    /// @notice The proof's dataset hash chain is not the bounty's dataset.
    error WrongDataset(uint256 bountyId, uint256 chainStart, uint256 datasetCommitment);
    /// @notice The proof counts another number of samples than the bounty's dataset has.
    error WrongSampleCount(uint256 bountyId, uint256 samples);
    /// @notice The proven accuracy is below the threshold.
    error BelowThreshold(uint256 bountyId, uint256 correct, uint256 samples);
    /// @notice The audit verifier rejected the proof.
    error ProofRejected(uint256 bountyId);

    constructor(ModelRegistry registry_) {
        registry = registry_;
    }

    /// @notice Opens a bounty paying `msg.value` for proof that model `modelId` classifies at
    /// least `thresholdNum / thresholdDen` of the dataset `datasetCommitment` (`samples`
    /// samples) correctly, checked by `verifier`, until `deadline`.
    /// @return bountyId The new bounty's id.
    function open(
        uint256 modelId,
        IVerifier verifier,
        uint256 datasetCommitment,
        uint256 samples,
        uint256 thresholdNum,
        uint256 thresholdDen,
        uint64 deadline
    ) external payable returns (uint256 bountyId) {
        if (msg.value == 0) revert ZeroReward();
        // Deadlines are coarse (minutes or more): validator timestamp drift does not matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (deadline <= block.timestamp) revert DeadlineNotInFuture(deadline);
        if (thresholdDen == 0 || thresholdDen > MAX_COUNT || thresholdNum > thresholdDen) {
            revert BadThreshold(thresholdNum, thresholdDen);
        }
        if (samples == 0 || samples > MAX_COUNT) revert BadSampleCount(samples);
        if (registry.weightsCommitmentOf(modelId) == 0) revert ModelNotCommitted(modelId);
        if (address(verifier).code.length == 0) revert VerifierNotAContract(address(verifier));
        uint256 count = verifier.instanceCount();
        if (count != INSTANCES) revert WrongVerifierInstanceCount(address(verifier), count);
        bountyId = ++bountyCount;
        bounties[bountyId] = Bounty({
            sponsor: msg.sender,
            deadline: deadline,
            status: Status.Open,
            modelId: modelId,
            verifier: verifier,
            datasetCommitment: datasetCommitment,
            samples: samples,
            thresholdNum: thresholdNum,
            thresholdDen: thresholdDen,
            reward: msg.value
        });
        openRewards += msg.value;
        emit BountyOpened(
            bountyId,
            msg.sender,
            modelId,
            address(verifier),
            datasetCommitment,
            samples,
            thresholdNum,
            thresholdDen,
            msg.value,
            deadline
        );
    }

    /// @notice Claims bounty `bountyId` with an aggregated audit proof; credits the reward to
    /// the model's owner.
    function claim(uint256 bountyId, bytes calldata proof, uint256[] calldata instances) external {
        Bounty storage b = openBounty(bountyId);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > b.deadline) revert DeadlinePassed(bountyId, b.deadline);
        if (instances.length != INSTANCES) revert WrongInstanceCount(bountyId, instances.length);
        uint256 a = ACCUMULATOR_LIMBS;
        if (instances[a] != registry.weightsCommitmentOf(b.modelId)) revert WrongModel(bountyId, instances[a]);
        if (instances[a + 1] != CHAIN_START || instances[a + 2] != b.datasetCommitment) {
            revert WrongDataset(bountyId, instances[a + 1], instances[a + 2]);
        }
        if (instances[a + 3] != b.samples) revert WrongSampleCount(bountyId, instances[a + 3]);
        uint256 correct = instances[a + 4];
        // correct / samples >= num / den, without division; every factor is at most 2^64.
        if (correct > b.samples || correct * b.thresholdDen < b.thresholdNum * b.samples) {
            revert BelowThreshold(bountyId, correct, b.samples);
        }
        if (!b.verifier.verifyProof(proof, instances)) revert ProofRejected(bountyId);
        address payee = registry.ownerOf(b.modelId);
        b.status = Status.Paid;
        openRewards -= b.reward;
        _credit(payee, b.reward);
        emit BountyPaid(bountyId, payee, correct, b.samples);
    }

    /// @notice Credits the reward of an expired, unclaimed bounty back to its sponsor (anyone
    /// may call it).
    function reclaim(uint256 bountyId) external {
        Bounty storage b = openBounty(bountyId);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= b.deadline) revert DeadlineNotReached(bountyId, b.deadline);
        b.status = Status.Reclaimed;
        openRewards -= b.reward;
        _credit(b.sponsor, b.reward);
        emit BountyReclaimed(bountyId, b.sponsor);
    }

    /// @notice Bounty `bountyId`.
    function getBounty(uint256 bountyId) external view returns (Bounty memory) {
        Bounty storage b = bounties[bountyId];
        if (b.status == Status.None) revert UnknownBounty(bountyId);
        return b;
    }

    function openBounty(uint256 bountyId) private view returns (Bounty storage b) {
        b = bounties[bountyId];
        if (b.status == Status.None) revert UnknownBounty(bountyId);
        if (b.status != Status.Open) revert NotOpen(bountyId, b.status);
    }
}
