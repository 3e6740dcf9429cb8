// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {Test} from "./utils/Test.sol";
import {MockVerifier} from "./mocks/MockVerifier.sol";
import {IVerifier} from "../src/IVerifier.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {AuditBounty} from "../src/AuditBounty.sol";

contract AuditBountyTest is Test {
    event BountyPaid(uint256 indexed bountyId, address indexed payee, uint256 correct, uint256 samples);
    event BountyReclaimed(uint256 indexed bountyId, address indexed sponsor);

    address internal constant OWNER = address(0xB0B);
    address internal constant SPONSOR = address(0x5705);
    uint256 internal constant C_W = 1111;
    uint256 internal constant C_D = 2222;
    uint256 internal constant N = 450;
    uint256 internal constant REWARD = 2 ether;
    uint64 internal constant DEADLINE = 5000;

    ModelRegistry internal registry = new ModelRegistry();
    AuditBounty internal bounty = new AuditBounty(registry);
    /// @dev Aggregated audit proofs: 12 accumulator limbs and 5 audit values.
    MockVerifier internal verifier = new MockVerifier("audit", 17);
    /// @dev The model's inference proofs: an input, an output, the weights commitment.
    MockVerifier internal inference = new MockVerifier("inference", 3);
    uint256 internal model;

    function setUp() public {
        vm.warp(100);
        vm.prank(OWNER);
        model = registry.register(inference, C_W, "ipfs://digits");
        vm.deal(SPONSOR, 100 ether);
    }

    /// @dev 90 % accuracy required.
    function openBounty() internal returns (uint256 id) {
        vm.prank(SPONSOR);
        id = bounty.open{value: REWARD}(model, verifier, C_D, N, 9, 10, DEADLINE);
    }

    /// @dev An aggregated audit proof's instances: 12 accumulator limbs, then the audit values.
    function audit(uint256 cw, uint256 h0, uint256 cd, uint256 n, uint256 correct)
        internal
        pure
        returns (uint256[] memory x)
    {
        x = new uint256[](17);
        for (uint256 i = 0; i < 12; ++i) {
            x[i] = 1000 + i;
        }
        (x[12], x[13], x[14], x[15], x[16]) = (cw, h0, cd, n, correct);
    }

    function claimReverts(uint256 id, uint256[] memory x, bytes memory expected) internal {
        bytes memory proof = verifier.proofFor(x);
        vm.expectRevert(expected);
        bounty.claim(id, proof, x);
    }

    function test_ValidClaimPaysTheModelOwnerOnce() public {
        uint256 id = openBounty();
        assertEq(address(bounty).balance, REWARD, "escrowed");
        uint256[] memory x = audit(C_W, 0, C_D, N, 405); // exactly 90 %
        bytes memory proof = verifier.proofFor(x);
        vm.expectEmit(true, true, false, true);
        emit BountyPaid(id, OWNER, 405, N);
        bounty.claim(id, proof, x);
        assertEq(bounty.credit(OWNER), REWARD, "credited to the owner");
        assertEq(uint256(bounty.getBounty(id).status), uint256(AuditBounty.Status.Paid), "paid");
        claimReverts(id, x, abi.encodeWithSelector(AuditBounty.NotOpen.selector, id, AuditBounty.Status.Paid));
        vm.prank(OWNER);
        bounty.withdraw();
        assertEq(OWNER.balance, REWARD, "withdrawn");
        assertEq(address(bounty).balance, 0, "emptied");
    }

    function test_RevertWhen_ClaimDoesNotMatchTheBounty() public {
        uint256 id = openBounty();
        claimReverts(
            id, audit(C_W + 1, 0, C_D, N, 450), abi.encodeWithSelector(AuditBounty.WrongModel.selector, id, C_W + 1)
        );
        claimReverts(
            id,
            audit(C_W, 0, C_D + 1, N, 450),
            abi.encodeWithSelector(AuditBounty.WrongDataset.selector, id, 0, C_D + 1)
        );
        claimReverts(
            id, audit(C_W, 7, C_D, N, 450), abi.encodeWithSelector(AuditBounty.WrongDataset.selector, id, 7, C_D)
        );
        claimReverts(
            id, audit(C_W, 0, C_D, N - 1, 449), abi.encodeWithSelector(AuditBounty.WrongSampleCount.selector, id, N - 1)
        );
        claimReverts(
            id, audit(C_W, 0, C_D, N, 404), abi.encodeWithSelector(AuditBounty.BelowThreshold.selector, id, 404, N)
        );
        claimReverts(
            id, audit(C_W, 0, C_D, N, N + 1), abi.encodeWithSelector(AuditBounty.BelowThreshold.selector, id, N + 1, N)
        );
        uint256[] memory short = new uint256[](5);
        bytes memory proof = verifier.proofFor(short);
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.WrongInstanceCount.selector, id, 5));
        bounty.claim(id, proof, short);
        assertEq(uint256(bounty.getBounty(id).status), uint256(AuditBounty.Status.Open), "still open");
    }

    function test_RevertWhen_ProofIsTamperedOrForAnotherCircuit() public {
        uint256 id = openBounty();
        uint256[] memory x = audit(C_W, 0, C_D, N, 440);
        bytes memory proof = verifier.proofFor(x);
        proof[3] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.ProofRejected.selector, id));
        bounty.claim(id, proof, x);
        proof = inference.proofFor(x);
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.ProofRejected.selector, id));
        bounty.claim(id, proof, x);
    }

    function test_ReclaimOnlyAfterTheDeadlineAndNoLateClaim() public {
        uint256 id = openBounty();
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.DeadlineNotReached.selector, id, DEADLINE));
        bounty.reclaim(id);
        vm.warp(DEADLINE + 1);
        claimReverts(
            id, audit(C_W, 0, C_D, N, 450), abi.encodeWithSelector(AuditBounty.DeadlinePassed.selector, id, DEADLINE)
        );
        vm.expectEmit(true, true, false, true);
        emit BountyReclaimed(id, SPONSOR);
        bounty.reclaim(id);
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.NotOpen.selector, id, AuditBounty.Status.Reclaimed));
        bounty.reclaim(id);
        uint256 before = SPONSOR.balance;
        vm.prank(SPONSOR);
        bounty.withdraw();
        assertEq(SPONSOR.balance, before + REWARD, "reclaimed");
    }

    function test_RevertWhen_BountyIsMalformed() public {
        vm.startPrank(SPONSOR);
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.ZeroReward.selector));
        bounty.open(model, verifier, C_D, N, 9, 10, DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.DeadlineNotInFuture.selector, uint64(100)));
        bounty.open{value: 1}(model, verifier, C_D, N, 9, 10, 100);
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.BadThreshold.selector, 11, 10));
        bounty.open{value: 1}(model, verifier, C_D, N, 11, 10, DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.BadThreshold.selector, 0, 0));
        bounty.open{value: 1}(model, verifier, C_D, N, 0, 0, DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.BadSampleCount.selector, 0));
        bounty.open{value: 1}(model, verifier, C_D, 0, 9, 10, DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.VerifierNotAContract.selector, address(0x1234)));
        bounty.open{value: 1}(model, IVerifier(address(0x1234)), C_D, N, 9, 10, DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, 77));
        bounty.open{value: 1}(77, verifier, C_D, N, 9, 10, DEADLINE);
        vm.stopPrank();
        uint256 fixedWeights = registry.register(inference, 0, "");
        vm.prank(SPONSOR);
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.ModelNotCommitted.selector, fixedWeights));
        bounty.open{value: 1}(fixedWeights, verifier, C_D, N, 9, 10, DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.UnknownBounty.selector, 9));
        bounty.getBounty(9);
        assertEq(address(bounty).balance, 0, "nothing kept");
    }

    /// @dev A verifier whose proofs do not have an aggregated audit proof's 17 instances (the
    /// model's own inference verifier, or one whose proofs carry an extra instance) cannot be
    /// the audit verifier: the bounty is refused at opening, and nothing is escrowed.
    function test_RevertWhen_VerifierHasTheWrongInstanceCount() public {
        MockVerifier extra = new MockVerifier("audit", 18);
        vm.startPrank(SPONSOR);
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.WrongVerifierInstanceCount.selector, address(inference), 3));
        bounty.open{value: REWARD}(model, inference, C_D, N, 9, 10, DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(AuditBounty.WrongVerifierInstanceCount.selector, address(extra), 18));
        bounty.open{value: REWARD}(model, extra, C_D, N, 9, 10, DEADLINE);
        vm.stopPrank();
        assertEq(bounty.bountyCount(), 0, "no bounty opened");
        assertEq(address(bounty).balance, 0, "nothing escrowed");
    }

    function testFuzz_RewardGoesToTheOwnerBeforeTheDeadlineElseBackToTheSponsor(
        uint96 reward,
        uint32 ttl,
        uint32 elapsed
    ) public {
        reward = uint96(bound(reward, 1, 100 ether));
        ttl = uint32(bound(ttl, 1, 365 days));
        elapsed = uint32(bound(elapsed, 0, 2 * uint256(ttl)));
        uint64 deadline = uint64(block.timestamp) + ttl;
        vm.prank(SPONSOR);
        uint256 id = bounty.open{value: reward}(model, verifier, C_D, N, 9, 10, deadline);
        assertEq(address(bounty).balance, reward, "the whole reward is escrowed");
        vm.warp(block.timestamp + elapsed);
        uint256[] memory x = audit(C_W, 0, C_D, N, N);
        bytes memory proof = verifier.proofFor(x);
        // forge-lint: disable-next-line(block-timestamp)
        bool inTime = block.timestamp <= deadline;
        if (inTime) {
            vm.expectRevert(abi.encodeWithSelector(AuditBounty.DeadlineNotReached.selector, id, deadline));
            bounty.reclaim(id);
            bounty.claim(id, proof, x);
        } else {
            vm.expectRevert(abi.encodeWithSelector(AuditBounty.DeadlinePassed.selector, id, deadline));
            bounty.claim(id, proof, x);
            bounty.reclaim(id);
        }
        assertEq(bounty.credit(OWNER), inTime ? reward : 0, "owner paid exactly when in time");
        assertEq(bounty.credit(SPONSOR), inTime ? 0 : reward, "sponsor refunded exactly when late");
        assertEq(bounty.openRewards(), 0, "nothing left open");
        assertEq(address(bounty).balance, reward, "no wei created or lost");
    }

    function testFuzz_ThresholdIsExact(uint64 samples, uint64 den, uint64 num, uint64 correct) public {
        samples = uint64(bound(samples, 1, type(uint64).max));
        den = uint64(bound(den, 1, type(uint64).max));
        num = uint64(bound(num, 0, den));
        correct = uint64(bound(correct, 0, samples));
        vm.prank(SPONSOR);
        uint256 id = bounty.open{value: 1}(model, verifier, C_D, samples, num, den, DEADLINE);
        uint256[] memory x = audit(C_W, 0, C_D, samples, correct);
        bytes memory proof = verifier.proofFor(x);
        bool meets = uint256(correct) * den >= uint256(num) * samples;
        if (!meets) vm.expectRevert(abi.encodeWithSelector(AuditBounty.BelowThreshold.selector, id, correct, samples));
        bounty.claim(id, proof, x);
        assertEq(bounty.credit(OWNER), meets ? 1 : 0, "paid exactly when the threshold is met");
    }
}

/// @dev Drives bounties through random opens, claims, reclaims and time, for the invariants;
/// and through invalid calls (a verifier with another instance count, a claim with an extra
/// instance, a wrong proof, a late claim, an early reclaim, a second settlement, an unknown
/// id), each caught here: `refused` counts those refused with exactly the expected error,
/// `wronglyRefused` those refused with another, `invalidAccepted` those that succeeded.
contract BountyHandler is Test {
    AuditBounty public immutable bounty;
    MockVerifier public immutable verifier;
    /// @dev A verifier whose proofs have one instance too many for an audit.
    MockVerifier public immutable wrongVerifier;
    uint256 public immutable modelId;
    uint256 public immutable weights;
    address internal constant SPONSOR = address(0x2001);
    uint256[] internal ids;
    uint256 public ghostOpen;
    mapping(uint256 => uint256) public settlements;
    uint256 public refused;
    uint256 public wronglyRefused;
    uint256 public invalidAccepted;

    constructor(AuditBounty bounty_, MockVerifier verifier_, uint256 modelId_, uint256 weights_) {
        bounty = bounty_;
        verifier = verifier_;
        wrongVerifier = new MockVerifier(verifier_.keyId(), verifier_.instanceCount() + 1);
        modelId = modelId_;
        weights = weights_;
    }

    function open(uint96 reward, uint32 ttl, uint16 samples) external {
        reward = uint96(bound(reward, 1, 10 ether));
        samples = uint16(bound(samples, 1, 1000));
        vm.deal(SPONSOR, SPONSOR.balance + reward);
        vm.prank(SPONSOR);
        ids.push(
            bounty.open{value: reward}(
                modelId, verifier, ids.length, samples, 1, 2, uint64(block.timestamp + bound(ttl, 1, 1 days))
            )
        );
        ghostOpen += reward;
    }

    /// @dev A passing audit of bounty `b`: every sample correct.
    function passing(AuditBounty.Bounty memory b) internal view returns (uint256[] memory x) {
        x = new uint256[](17);
        (x[12], x[13], x[14], x[15], x[16]) = (weights, 0, b.datasetCommitment, b.samples, b.samples);
    }

    function claim(uint256 pick, uint16 correct) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        AuditBounty.Bounty memory b = bounty.getBounty(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (b.status != AuditBounty.Status.Open || block.timestamp > b.deadline) return;
        uint256[] memory x = passing(b);
        x[16] = bound(correct, 0, b.samples);
        if (x[16] * 2 < b.samples) return;
        bounty.claim(id, verifier.proofFor(x), x);
        ghostOpen -= b.reward;
        settlements[id] += 1;
    }

    function reclaim(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        AuditBounty.Bounty memory b = bounty.getBounty(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (b.status != AuditBounty.Status.Open || block.timestamp <= b.deadline) return;
        bounty.reclaim(id);
        ghostOpen -= b.reward;
        settlements[id] += 1;
    }

    function wait(uint32 dt) external {
        vm.warp(block.timestamp + bound(dt, 1, 2 days));
    }

    function withdraw(bool owner) external {
        address who = owner ? bounty.registry().ownerOf(modelId) : SPONSOR;
        if (bounty.credit(who) == 0) return;
        vm.prank(who);
        bounty.withdraw();
    }

    /// @dev Records the outcome of an invalid call that should revert with `expected`.
    function record(bool ok, bytes memory reason, bytes memory expected) internal {
        if (ok) invalidAccepted += 1;
        else if (keccak256(reason) == keccak256(expected)) refused += 1;
        else wronglyRefused += 1;
    }

    /// @dev Claims `id` with `proof` and `x`, expecting the revert `expected`.
    function tryClaim(uint256 id, bytes memory proof, uint256[] memory x, bytes memory expected) internal {
        try bounty.claim(id, proof, x) {
            record(true, "", expected);
        } catch (bytes memory reason) {
            record(false, reason, expected);
        }
    }

    /// @dev Reclaims `id`, expecting the revert `expected`.
    function tryReclaim(uint256 id, bytes memory expected) internal {
        try bounty.reclaim(id) {
            record(true, "", expected);
        } catch (bytes memory reason) {
            record(false, reason, expected);
        }
    }

    function openWithWrongVerifier(uint96 reward, uint32 ttl) external {
        reward = uint96(bound(reward, 1, 10 ether));
        vm.deal(SPONSOR, SPONSOR.balance + reward);
        bytes memory expected = abi.encodeWithSelector(
            AuditBounty.WrongVerifierInstanceCount.selector, address(wrongVerifier), wrongVerifier.instanceCount()
        );
        vm.prank(SPONSOR);
        try bounty.open{value: reward}(
            modelId, wrongVerifier, ids.length, 1, 1, 2, uint64(block.timestamp + bound(ttl, 1, 1 days))
        ) {
            record(true, "", expected);
        } catch (bytes memory reason) {
            record(false, reason, expected);
        }
    }

    /// @dev A passing audit with one more instance appended, proven for those 18 instances.
    function claimWithExtraInstance(uint256 pick, uint256 extra) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        AuditBounty.Bounty memory b = bounty.getBounty(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (b.status != AuditBounty.Status.Open || block.timestamp > b.deadline) return;
        uint256[] memory valid = passing(b);
        uint256[] memory x = new uint256[](18);
        for (uint256 i = 0; i < 17; ++i) {
            x[i] = valid[i];
        }
        x[17] = extra;
        tryClaim(id, verifier.proofFor(x), x, abi.encodeWithSelector(AuditBounty.WrongInstanceCount.selector, id, 18));
    }

    function claimWithWrongProof(uint256 pick, uint8 at) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        AuditBounty.Bounty memory b = bounty.getBounty(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (b.status != AuditBounty.Status.Open || block.timestamp > b.deadline) return;
        uint256[] memory x = passing(b);
        bytes memory proof = verifier.proofFor(x);
        proof[at % proof.length] ^= 0x01;
        tryClaim(id, proof, x, abi.encodeWithSelector(AuditBounty.ProofRejected.selector, id));
    }

    function claimLate(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        AuditBounty.Bounty memory b = bounty.getBounty(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (b.status != AuditBounty.Status.Open || block.timestamp <= b.deadline) return;
        uint256[] memory x = passing(b);
        bytes memory expected = abi.encodeWithSelector(AuditBounty.DeadlinePassed.selector, id, b.deadline);
        tryClaim(id, verifier.proofFor(x), x, expected);
    }

    function reclaimEarly(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        AuditBounty.Bounty memory b = bounty.getBounty(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (b.status != AuditBounty.Status.Open || block.timestamp > b.deadline) return;
        tryReclaim(id, abi.encodeWithSelector(AuditBounty.DeadlineNotReached.selector, id, b.deadline));
    }

    /// @dev Claims and reclaims a bounty already settled.
    function settleAgain(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        AuditBounty.Bounty memory b = bounty.getBounty(id);
        if (b.status == AuditBounty.Status.Open) return;
        bytes memory expected = abi.encodeWithSelector(AuditBounty.NotOpen.selector, id, b.status);
        uint256[] memory x = passing(b);
        tryClaim(id, verifier.proofFor(x), x, expected);
        tryReclaim(id, expected);
    }

    function settleUnknown(uint256 id, bool zero) external {
        id = zero ? 0 : bound(id, ids.length + 1, type(uint256).max);
        bytes memory expected = abi.encodeWithSelector(AuditBounty.UnknownBounty.selector, id);
        uint256[] memory x = new uint256[](17);
        tryClaim(id, "", x, expected);
        tryReclaim(id, expected);
    }

    function bountyIds() external view returns (uint256[] memory) {
        return ids;
    }
}

contract AuditBountyInvariantTest is Test {
    ModelRegistry internal registry = new ModelRegistry();
    AuditBounty internal bounty = new AuditBounty(registry);
    MockVerifier internal verifier = new MockVerifier("audit", 17);
    BountyHandler internal handler;

    function setUp() public {
        vm.prank(address(0x0B0B));
        uint256 modelId = registry.register(verifier, 31337, "");
        handler = new BountyHandler(bounty, verifier, modelId, 31337);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_BalanceIsOpenRewardsPlusCredit() public view {
        assertEq(address(bounty).balance, bounty.openRewards() + bounty.totalCredit(), "solvency");
        assertEq(bounty.openRewards(), handler.ghostOpen(), "open rewards are the sum of open bounties");
    }

    function invariant_EachBountyPaysAtMostOnce() public view {
        uint256[] memory ids = handler.bountyIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            assertTrue(handler.settlements(ids[i]) <= 1, "settled twice");
        }
    }

    function invariant_EveryInvalidCallIsRefused() public view {
        assertEq(handler.invalidAccepted(), 0, "an invalid call succeeded");
        assertEq(handler.wronglyRefused(), 0, "an invalid call was refused with another error");
    }
}
