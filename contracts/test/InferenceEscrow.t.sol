// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {Test} from "./utils/Test.sol";
import {MockVerifier} from "./mocks/MockVerifier.sol";
import {PullPayments} from "../src/PullPayments.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {InferenceEscrow} from "../src/InferenceEscrow.sol";

/// @dev An account that refuses ETH.
contract Refuser {
    function withdrawFrom(InferenceEscrow escrow) external {
        escrow.withdraw();
    }
}

contract InferenceEscrowTest is Test {
    event RequestOpened(
        uint256 indexed requestId,
        address indexed requester,
        uint256 indexed modelId,
        uint256 fee,
        uint64 deadline,
        uint256[] inputInstances
    );
    event RequestFulfilled(uint256 indexed requestId, address indexed payee, uint256[] outputInstances);
    event RequestRefunded(uint256 indexed requestId, address indexed requester);
    event Withdrawn(address indexed account, uint256 amount);

    address internal constant PROVIDER = address(0xB0B);
    address internal constant REQUESTER = address(0xCAFE);
    address internal constant STRANGER = address(0x5757);
    uint256 internal constant FEE = 1 ether;
    uint64 internal constant DEADLINE = 1000;

    ModelRegistry internal registry = new ModelRegistry();
    InferenceEscrow internal escrow = new InferenceEscrow(registry);
    /// @dev Models A and B: two input instances, one output instance.
    MockVerifier internal verifierA = new MockVerifier("model A", 3);
    MockVerifier internal verifierB = new MockVerifier("model B", 3);
    /// @dev A model with private weights: two inputs, one output, the weights commitment.
    MockVerifier internal verifierHashed = new MockVerifier("hashed model", 4);
    uint256 internal constant C_W = 4242;
    uint256 internal modelA;
    uint256 internal modelB;

    function setUp() public {
        vm.warp(100);
        vm.prank(PROVIDER);
        modelA = registry.register(verifierA, 0, "ipfs://a");
        vm.prank(PROVIDER);
        modelB = registry.register(verifierB, 0, "ipfs://b");
        vm.deal(REQUESTER, 100 ether);
    }

    function input() internal pure returns (uint256[] memory x) {
        x = new uint256[](2);
        x[0] = 11;
        x[1] = 22;
    }

    /// @dev The input instances followed by the output instance `out`.
    function instances(uint256 out) internal pure returns (uint256[] memory all) {
        all = new uint256[](3);
        all[0] = 11;
        all[1] = 22;
        all[2] = out;
    }

    function single(uint256 v) internal pure returns (uint256[] memory a) {
        a = new uint256[](1);
        a[0] = v;
    }

    function openRequest(uint256 modelId) internal returns (uint256 id) {
        vm.prank(REQUESTER);
        id = escrow.request{value: FEE}(modelId, input(), DEADLINE);
    }

    function test_RequestFulfilPaysTheModelOwner() public {
        vm.expectEmit(true, true, true, true);
        emit RequestOpened(1, REQUESTER, modelA, FEE, DEADLINE, input());
        uint256 id = openRequest(modelA);
        assertEq(escrow.openFees(), FEE, "escrowed");
        assertEq(address(escrow).balance, FEE, "balance");

        vm.expectEmit(true, true, false, true);
        emit RequestFulfilled(id, PROVIDER, single(33));
        vm.prank(STRANGER); // anyone may submit; the owner is paid
        escrow.fulfill(id, verifierA.proofFor(instances(33)), instances(33));
        assertEq(uint256(escrow.getRequest(id).status), uint256(InferenceEscrow.Status.Fulfilled), "status");
        assertEq(escrow.credit(PROVIDER), FEE, "credited");
        assertEq(escrow.openFees(), 0, "no open fees");

        vm.expectEmit(true, false, false, true);
        emit Withdrawn(PROVIDER, FEE);
        vm.prank(PROVIDER);
        escrow.withdraw();
        assertEq(PROVIDER.balance, FEE, "paid");
        assertEq(address(escrow).balance, 0, "emptied");
    }

    function test_RevertWhen_InputDiffers() public {
        uint256 id = openRequest(modelA);
        uint256[] memory other = instances(33);
        other[1] = 23;
        bytes memory proof = verifierA.proofFor(other);
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.InputMismatch.selector, id));
        escrow.fulfill(id, proof, other);
        // The input instances in another order.
        (other[0], other[1]) = (22, 11);
        proof = verifierA.proofFor(other);
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.InputMismatch.selector, id));
        escrow.fulfill(id, proof, other);
        // Fewer instances than the input: refused by the count before the input is read.
        proof = verifierA.proofFor(single(11));
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.InstanceCountMismatch.selector, id, 3, 1));
        escrow.fulfill(id, proof, single(11));
    }

    function test_RevertWhen_ProofIsForAnotherModel() public {
        uint256 id = openRequest(modelA);
        bytes memory proof = verifierB.proofFor(instances(33));
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.ProofRejected.selector, id));
        escrow.fulfill(id, proof, instances(33));
    }

    function test_RevertWhen_OutputIsNotTheProvenOne() public {
        uint256 id = openRequest(modelA);
        bytes memory proof = verifierA.proofFor(instances(33));
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.ProofRejected.selector, id));
        escrow.fulfill(id, proof, instances(34));
    }

    function test_RevertWhen_ProofIsTampered() public {
        uint256 id = openRequest(modelA);
        bytes memory proof = verifierA.proofFor(instances(33));
        proof[40] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.ProofRejected.selector, id));
        escrow.fulfill(id, proof, instances(33));
    }

    function openHashedRequest() internal returns (uint256 hashed, uint256 id) {
        vm.prank(PROVIDER);
        hashed = registry.register(verifierHashed, C_W, "ipfs://hashed");
        vm.prank(REQUESTER);
        id = escrow.request{value: FEE}(hashed, input(), DEADLINE);
    }

    function test_WeightsCommitmentMustBeTheRegisteredOne() public {
        (, uint256 id) = openHashedRequest();
        // Same circuit, other weights: the verifier accepts, the commitment does not match.
        uint256[] memory other = new uint256[](4);
        (other[0], other[1], other[2], other[3]) = (11, 22, 33, C_W + 1);
        bytes memory proof = verifierHashed.proofFor(other);
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.WeightsMismatch.selector, id));
        escrow.fulfill(id, proof, other);
        // The commitment present, but not last.
        (other[2], other[3]) = (C_W, 33);
        proof = verifierHashed.proofFor(other);
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.WeightsMismatch.selector, id));
        escrow.fulfill(id, proof, other);
        uint256[] memory honest = new uint256[](4);
        (honest[0], honest[1], honest[2], honest[3]) = (11, 22, 33, C_W);
        proof = verifierHashed.proofFor(honest);
        vm.expectEmit(true, true, false, true);
        emit RequestFulfilled(id, PROVIDER, single(33)); // the commitment is not an output
        escrow.fulfill(id, proof, honest);
    }

    /// @dev Issue #23 (1): a proof made with other weights, whose instances are the input, the
    /// output, the other weights' commitment and then the registered commitment appended. The
    /// verifier does not check the count (snark-verifier's reads fixed offsets), so it accepts;
    /// the escrow refuses the count before anything else, and no fee moves.
    function test_RevertWhen_RegisteredCommitmentIsAppendedAfterExtraInstances() public {
        (, uint256 id) = openHashedRequest();
        uint256[] memory forged = new uint256[](5);
        (forged[0], forged[1], forged[2], forged[3], forged[4]) = (11, 22, 33, C_W + 1, C_W);
        bytes memory proof = verifierHashed.proofFor(forged);
        assertTrue(verifierHashed.verifyProof(proof, forged), "the verifier alone accepts the forgery");
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.InstanceCountMismatch.selector, id, 4, 5));
        escrow.fulfill(id, proof, forged);
        assertEq(uint256(escrow.getRequest(id).status), uint256(InferenceEscrow.Status.Open), "still open");
        assertEq(escrow.credit(PROVIDER), 0, "nothing credited");
        assertEq(escrow.totalCredit(), 0, "no credit at all");
        assertEq(escrow.openFees(), FEE, "the fee stays escrowed");
        assertEq(address(escrow).balance, FEE, "balance unchanged");
    }

    function test_RevertWhen_InputIsTooLongForTheModel() public {
        uint256[] memory four = new uint256[](4);
        vm.startPrank(REQUESTER);
        // Model A's proofs have 3 instances: 4 input instances cannot fit.
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.InputTooLong.selector, modelA, 4, 3));
        escrow.request{value: FEE}(modelA, four, DEADLINE);
        vm.stopPrank();
        vm.prank(PROVIDER);
        uint256 hashed = registry.register(verifierHashed, C_W, "ipfs://hashed");
        uint256[] memory three = new uint256[](3);
        vm.startPrank(REQUESTER);
        // 4 instances, one of them the weights commitment: 4 inputs and the commitment do not fit.
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.InputTooLong.selector, hashed, 4, 4));
        escrow.request{value: FEE}(hashed, four, DEADLINE);
        // Exactly filling the instances is allowed (an empty output).
        escrow.request{value: FEE}(hashed, three, DEADLINE);
        vm.stopPrank();
        assertEq(escrow.requestCount(), 1, "only the fitting request opened");
        assertEq(address(escrow).balance, FEE, "only its fee kept");
    }

    function test_RevertWhen_FulfilledLate() public {
        uint256 id = openRequest(modelA);
        vm.warp(DEADLINE + 1);
        bytes memory proof = verifierA.proofFor(instances(33));
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.DeadlinePassed.selector, id, DEADLINE));
        escrow.fulfill(id, proof, instances(33));
    }

    function test_EachRequestIsPaidOrRefundedOnce() public {
        uint256 id = openRequest(modelA);
        bytes memory proof = verifierA.proofFor(instances(33));
        escrow.fulfill(id, proof, instances(33));
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.NotOpen.selector, id, InferenceEscrow.Status.Fulfilled));
        escrow.fulfill(id, proof, instances(33));
        vm.warp(DEADLINE + 1);
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.NotOpen.selector, id, InferenceEscrow.Status.Fulfilled));
        escrow.refund(id);
    }

    function test_RefundOnlyAfterTheDeadline() public {
        uint256 id = openRequest(modelA);
        vm.warp(DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.DeadlineNotReached.selector, id, DEADLINE));
        escrow.refund(id);
        vm.warp(DEADLINE + 1);
        vm.expectEmit(true, true, false, true);
        emit RequestRefunded(id, REQUESTER);
        vm.prank(STRANGER);
        escrow.refund(id);
        assertEq(escrow.credit(REQUESTER), FEE, "credited back");
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.NotOpen.selector, id, InferenceEscrow.Status.Refunded));
        escrow.refund(id);
        uint256 before = REQUESTER.balance;
        vm.prank(REQUESTER);
        escrow.withdraw();
        assertEq(REQUESTER.balance, before + FEE, "refunded");
    }

    function test_RevertWhen_RequestIsMalformed() public {
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.ZeroFee.selector));
        escrow.request(modelA, input(), DEADLINE);
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.DeadlineNotInFuture.selector, uint64(100)));
        escrow.request{value: FEE}(modelA, input(), 100);
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, 9));
        escrow.request{value: FEE}(9, input(), DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.UnknownRequest.selector, 5));
        escrow.fulfill(5, "", input());
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.UnknownRequest.selector, 5));
        escrow.getRequest(5);
        assertEq(address(escrow).balance, 0, "nothing kept");
    }

    function test_RevertWhen_NothingToWithdrawOrTransferFails() public {
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(PullPayments.NothingToWithdraw.selector, STRANGER));
        escrow.withdraw();

        // A model owner that refuses ETH keeps its credit: nothing is lost.
        Refuser refuser = new Refuser();
        vm.prank(PROVIDER);
        registry.transferOwnership(modelA, address(refuser));
        uint256 id = openRequest(modelA);
        escrow.fulfill(id, verifierA.proofFor(instances(1)), instances(1));
        vm.expectRevert(abi.encodeWithSelector(PullPayments.TransferFailed.selector, address(refuser), FEE));
        refuser.withdrawFrom(escrow);
        assertEq(escrow.credit(address(refuser)), FEE, "credit kept");
        assertEq(address(escrow).balance, FEE, "funds kept");
    }

    function testFuzz_FeesAreEscrowedAndReturnedExactly(uint96 fee, uint64 deadline, bool fulfil) public {
        fee = uint96(bound(fee, 1, 50 ether));
        deadline = uint64(bound(deadline, 101, type(uint64).max - 1));
        vm.prank(REQUESTER);
        uint256 id = escrow.request{value: fee}(modelA, input(), deadline);
        assertEq(escrow.getRequest(id).fee, fee, "fee");
        address payee = fulfil ? PROVIDER : REQUESTER;
        if (fulfil) {
            escrow.fulfill(id, verifierA.proofFor(instances(5)), instances(5));
        } else {
            vm.warp(uint256(deadline) + 1);
            escrow.refund(id);
        }
        assertEq(escrow.credit(payee), fee, "credited once");
        assertEq(escrow.openFees(), 0, "settled");
        uint256 before = payee.balance;
        vm.prank(payee);
        escrow.withdraw();
        assertEq(payee.balance, before + fee, "paid");
        assertEq(address(escrow).balance, 0, "emptied");
    }
}

/// @dev Drives the escrow through random sequences of requests, fulfilments, refunds, time and
/// withdrawals, keeping ghost totals for the invariants; and through invalid calls (an input
/// too long, a proof with an extra instance, a wrong proof, a late fulfilment, an early refund,
/// a second settlement, an unknown id), each caught here: `refused` counts those refused with
/// exactly the expected error, `wronglyRefused` those refused with another, `invalidAccepted`
/// those that succeeded.
contract EscrowHandler is Test {
    InferenceEscrow public immutable escrow;
    MockVerifier public immutable verifier;
    uint256 public immutable modelId;
    uint256 public immutable weights;
    address[3] internal actors = [address(0x1001), address(0x1002), address(0x1003)];
    uint256[] internal ids;
    uint256 public ghostOpen;
    uint256 public ghostSettled;
    uint256 public ghostOpened;
    mapping(uint256 => uint256) public settlements;
    uint256 public refused;
    uint256 public wronglyRefused;
    uint256 public invalidAccepted;

    constructor(InferenceEscrow escrow_, MockVerifier verifier_, uint256 modelId_, uint256 weights_) {
        escrow = escrow_;
        verifier = verifier_;
        modelId = modelId_;
        weights = weights_;
    }

    function request(uint256 actor, uint96 fee, uint32 ttl) external {
        address who = actors[actor % 3];
        fee = uint96(bound(fee, 1, 10 ether));
        vm.deal(who, who.balance + fee);
        uint256[] memory x = new uint256[](1);
        x[0] = ids.length;
        vm.prank(who);
        ids.push(escrow.request{value: fee}(modelId, x, uint64(block.timestamp + bound(ttl, 1, 1 days))));
        ghostOpen += fee;
        ghostOpened += 1;
    }

    /// @dev The valid instances for request `id`: its input, an output, the weights commitment.
    function valid(uint256 id) internal view returns (uint256[] memory all) {
        all = new uint256[](3);
        (all[0], all[1], all[2]) = (id - 1, 7, weights);
    }

    function fulfil(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        InferenceEscrow.Request memory r = escrow.getRequest(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (r.status != InferenceEscrow.Status.Open || block.timestamp > r.deadline) return;
        uint256[] memory all = valid(id);
        escrow.fulfill(id, verifier.proofFor(all), all);
        ghostOpen -= r.fee;
        ghostSettled += 1;
        settlements[id] += 1;
    }

    function refund(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        InferenceEscrow.Request memory r = escrow.getRequest(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (r.status != InferenceEscrow.Status.Open || block.timestamp <= r.deadline) return;
        escrow.refund(id);
        ghostOpen -= r.fee;
        ghostSettled += 1;
        settlements[id] += 1;
    }

    function wait(uint32 dt) external {
        vm.warp(block.timestamp + bound(dt, 1, 2 days));
    }

    function withdraw(uint256 actor) external {
        address who = actor % 4 == 3 ? escrow.registry().ownerOf(modelId) : actors[actor % 3];
        if (escrow.credit(who) == 0) return;
        vm.prank(who);
        escrow.withdraw();
    }

    /// @dev Records the outcome of an invalid call that should revert with `expected`.
    function record(bool ok, bytes memory reason, bytes memory expected) internal {
        if (ok) invalidAccepted += 1;
        else if (keccak256(reason) == keccak256(expected)) refused += 1;
        else wronglyRefused += 1;
    }

    /// @dev Fulfils `id` with `proof` and `all`, expecting the revert `expected`.
    function tryFulfil(uint256 id, bytes memory proof, uint256[] memory all, bytes memory expected) internal {
        try escrow.fulfill(id, proof, all) {
            record(true, "", expected);
        } catch (bytes memory reason) {
            record(false, reason, expected);
        }
    }

    /// @dev Refunds `id`, expecting the revert `expected`.
    function tryRefund(uint256 id, bytes memory expected) internal {
        try escrow.refund(id) {
            record(true, "", expected);
        } catch (bytes memory reason) {
            record(false, reason, expected);
        }
    }

    /// @dev The model's proofs have 3 instances, one of them the weights commitment: an input of
    /// 3 or more does not fit.
    function requestTooLong(uint256 actor, uint96 fee, uint8 extra) external {
        address who = actors[actor % 3];
        fee = uint96(bound(fee, 1, 10 ether));
        vm.deal(who, who.balance + fee);
        uint256[] memory x = new uint256[](bound(extra, 3, 8));
        bytes memory expected = abi.encodeWithSelector(InferenceEscrow.InputTooLong.selector, modelId, x.length, 3);
        vm.prank(who);
        try escrow.request{value: fee}(modelId, x, uint64(block.timestamp + 1)) {
            record(true, "", expected);
        } catch (bytes memory reason) {
            record(false, reason, expected);
        }
    }

    /// @dev Issue #23 (1): the valid instances with the other weights' commitment inserted
    /// before the registered one, and a proof the verifier accepts for them.
    function fulfilWithExtraInstance(uint256 pick, uint256 otherWeights) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        InferenceEscrow.Request memory r = escrow.getRequest(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (r.status != InferenceEscrow.Status.Open || block.timestamp > r.deadline) return;
        uint256[] memory all = new uint256[](4);
        (all[0], all[1], all[2], all[3]) = (id - 1, 7, otherWeights, weights);
        bytes memory expected = abi.encodeWithSelector(InferenceEscrow.InstanceCountMismatch.selector, id, 3, 4);
        tryFulfil(id, verifier.proofFor(all), all, expected);
    }

    function fulfilWithWrongProof(uint256 pick, uint256 output) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        InferenceEscrow.Request memory r = escrow.getRequest(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (r.status != InferenceEscrow.Status.Open || block.timestamp > r.deadline) return;
        uint256[] memory all = valid(id);
        bytes memory proof = verifier.proofFor(all);
        all[1] = output == 7 ? 8 : output; // the proof is for output 7
        tryFulfil(id, proof, all, abi.encodeWithSelector(InferenceEscrow.ProofRejected.selector, id));
    }

    function fulfilLate(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        InferenceEscrow.Request memory r = escrow.getRequest(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (r.status != InferenceEscrow.Status.Open || block.timestamp <= r.deadline) return;
        uint256[] memory all = valid(id);
        bytes memory expected = abi.encodeWithSelector(InferenceEscrow.DeadlinePassed.selector, id, r.deadline);
        tryFulfil(id, verifier.proofFor(all), all, expected);
    }

    function refundEarly(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        InferenceEscrow.Request memory r = escrow.getRequest(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (r.status != InferenceEscrow.Status.Open || block.timestamp > r.deadline) return;
        tryRefund(id, abi.encodeWithSelector(InferenceEscrow.DeadlineNotReached.selector, id, r.deadline));
    }

    /// @dev Fulfils and refunds a request already settled.
    function settleAgain(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        InferenceEscrow.Request memory r = escrow.getRequest(id);
        if (r.status == InferenceEscrow.Status.Open) return;
        bytes memory expected = abi.encodeWithSelector(InferenceEscrow.NotOpen.selector, id, r.status);
        uint256[] memory all = valid(id);
        tryFulfil(id, verifier.proofFor(all), all, expected);
        tryRefund(id, expected);
    }

    function settleUnknown(uint256 id, bool zero) external {
        id = zero ? 0 : bound(id, ids.length + 1, type(uint256).max);
        bytes memory expected = abi.encodeWithSelector(InferenceEscrow.UnknownRequest.selector, id);
        uint256[] memory all = new uint256[](3);
        tryFulfil(id, "", all, expected);
        tryRefund(id, expected);
    }

    function requestIds() external view returns (uint256[] memory) {
        return ids;
    }
}

contract InferenceEscrowInvariantTest is Test {
    uint256 internal constant C_W = 31337;

    ModelRegistry internal registry = new ModelRegistry();
    InferenceEscrow internal escrow = new InferenceEscrow(registry);
    /// @dev One input, one output, the weights commitment.
    MockVerifier internal verifier = new MockVerifier("model", 3);
    EscrowHandler internal handler;

    function setUp() public {
        vm.prank(address(0x0B0B));
        uint256 modelId = registry.register(verifier, C_W, "");
        handler = new EscrowHandler(escrow, verifier, modelId, C_W);
    }

    /// @dev Forge fuzzes calls to these contracts only.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_BalanceIsOpenFeesPlusCredit() public view {
        assertEq(address(escrow).balance, escrow.openFees() + escrow.totalCredit(), "solvency");
        assertEq(escrow.openFees(), handler.ghostOpen(), "open fees are the sum of open requests");
    }

    function invariant_EachRequestSettledAtMostOnce() public view {
        uint256[] memory ids = handler.requestIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            assertTrue(handler.settlements(ids[i]) <= 1, "settled twice");
        }
        assertEq(escrow.requestCount(), handler.ghostOpened(), "requests");
    }

    function invariant_EveryInvalidCallIsRefused() public view {
        assertEq(handler.invalidAccepted(), 0, "an invalid call succeeded");
        assertEq(handler.wronglyRefused(), 0, "an invalid call was refused with another error");
    }
}
