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
    MockVerifier internal verifierA = new MockVerifier("model A");
    MockVerifier internal verifierB = new MockVerifier("model B");
    uint256 internal modelA;
    uint256 internal modelB;

    function setUp() public {
        vm.warp(100);
        vm.prank(PROVIDER);
        modelA = registry.register(verifierA, "vkA", 0, "ipfs://a");
        vm.prank(PROVIDER);
        modelB = registry.register(verifierB, "vkB", 0, "ipfs://b");
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
        proof = verifierA.proofFor(single(11));
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.InputMismatch.selector, id));
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

    function test_WeightsCommitmentMustBeTheRegisteredOne() public {
        vm.prank(PROVIDER);
        uint256 hashed = registry.register(verifierA, "vkA", 4242, "ipfs://hashed");
        vm.prank(REQUESTER);
        uint256 id = escrow.request{value: FEE}(hashed, input(), DEADLINE);
        // Same circuit, other weights: the verifier accepts, the commitment does not match.
        uint256[] memory other = new uint256[](4);
        (other[0], other[1], other[2], other[3]) = (11, 22, 33, 4243);
        bytes memory proof = verifierA.proofFor(other);
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.WeightsMismatch.selector, id));
        escrow.fulfill(id, proof, other);
        proof = verifierA.proofFor(input());
        vm.expectRevert(abi.encodeWithSelector(InferenceEscrow.WeightsMismatch.selector, id));
        escrow.fulfill(id, proof, input());
        uint256[] memory honest = new uint256[](4);
        (honest[0], honest[1], honest[2], honest[3]) = (11, 22, 33, 4242);
        proof = verifierA.proofFor(honest);
        vm.expectEmit(true, true, false, true);
        emit RequestFulfilled(id, PROVIDER, single(33)); // the commitment is not an output
        escrow.fulfill(id, proof, honest);
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
/// withdrawals, keeping ghost totals for the invariants.
contract EscrowHandler is Test {
    InferenceEscrow public immutable escrow;
    MockVerifier public immutable verifier;
    uint256 public immutable modelId;
    address[3] internal actors = [address(0x1001), address(0x1002), address(0x1003)];
    uint256[] internal ids;
    uint256 public ghostOpen;
    uint256 public ghostSettled;
    uint256 public ghostOpened;
    mapping(uint256 => uint256) public settlements;

    constructor(InferenceEscrow escrow_, MockVerifier verifier_, uint256 modelId_) {
        escrow = escrow_;
        verifier = verifier_;
        modelId = modelId_;
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

    function fulfil(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        InferenceEscrow.Request memory r = escrow.getRequest(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (r.status != InferenceEscrow.Status.Open || block.timestamp > r.deadline) return;
        uint256[] memory all = new uint256[](2);
        all[0] = id - 1;
        all[1] = 7;
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

    function requestIds() external view returns (uint256[] memory) {
        return ids;
    }
}

contract InferenceEscrowInvariantTest is Test {
    ModelRegistry internal registry = new ModelRegistry();
    InferenceEscrow internal escrow = new InferenceEscrow(registry);
    MockVerifier internal verifier = new MockVerifier("model");
    EscrowHandler internal handler;

    function setUp() public {
        vm.prank(address(0x0B0B));
        uint256 modelId = registry.register(verifier, "vk", 0, "");
        handler = new EscrowHandler(escrow, verifier, modelId);
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
}
