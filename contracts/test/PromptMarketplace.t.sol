// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {Test} from "./utils/Test.sol";
import {MockVerifier} from "./mocks/MockVerifier.sol";
import {IVerifier} from "../src/IVerifier.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {PromptMarketplace} from "../src/PromptMarketplace.sol";

/// @dev A marketplace over a registry with one model (with a weights commitment) and mock
/// verifiers: one for the model's inference proofs, one delivery verifier for 4-value prompts.
abstract contract MarketFixture is Test {
    /// @dev Grumpkin's generator G = (1, √−16); (1, −√−16) is −G.
    uint256 internal constant GX = 1;
    uint256 internal constant GY = 17631683881184975370165255887551781615748388533673675138860;
    uint256 internal constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant C_W = 1111;
    uint256 internal constant C_P = 4242;
    uint256 internal constant LEN = 4;
    uint256 internal constant PRICE = 1 ether;

    address internal constant OWNER = address(0xB0B);
    address internal constant SELLER = address(0x5E11);
    address internal constant BUYER = address(0xB0E);

    ModelRegistry internal registry = new ModelRegistry();
    /// @dev The model's inference proofs: C_p, a two-value output, the weights commitment.
    MockVerifier internal inference = new MockVerifier("inference", 4);
    /// @dev Deliveries of 4-value prompts: the 6-instance header and 7 ciphertext elements.
    MockVerifier internal delivery = new MockVerifier("delivery", 13);
    PromptMarketplace internal market;
    uint256 internal model;

    function deployMarket() internal {
        vm.warp(100);
        vm.prank(OWNER);
        model = registry.register(inference, C_W, "ipfs://tiny-text");
        uint256[] memory lengths = new uint256[](1);
        lengths[0] = LEN;
        IVerifier[] memory verifiers = new IVerifier[](1);
        verifiers[0] = delivery;
        market = new PromptMarketplace(registry, lengths, verifiers);
    }

    /// @dev An inference proof's instances: C_p, a two-value output, the weights commitment.
    function listing(uint256 cp, uint256 weights) internal pure returns (uint256[] memory x) {
        x = new uint256[](4);
        (x[0], x[1], x[2], x[3]) = (cp, 7, 9, weights);
    }

    function listPrompt() internal returns (uint256 id) {
        uint256[] memory x = listing(C_P, C_W);
        bytes memory proof = inference.proofFor(x);
        vm.prank(SELLER);
        id = market.list(model, proof, x, LEN, PRICE);
    }

    function buyAs(address buyer, uint256 listingId, uint64 deadline) internal returns (uint256 id) {
        vm.deal(buyer, buyer.balance + PRICE);
        vm.prank(buyer);
        id = market.buy{value: PRICE}(listingId, GX, GY, deadline);
    }

    /// @dev A delivery proof's instances for `order`: C_p, the key, the nonce, R, ciphertext.
    function delivered(uint256 cp, uint256 kx, uint256 ky, uint256 nonce) internal pure returns (uint256[] memory x) {
        x = new uint256[](6 + 7);
        (x[0], x[1], x[2], x[3], x[4], x[5]) = (cp, kx, ky, nonce, GX, FIELD - GY);
        for (uint256 i = 6; i < x.length; ++i) {
            x[i] = 500 + i;
        }
    }
}

contract PromptMarketplaceTest is MarketFixture {
    event Delivered(uint256 indexed orderId, address indexed seller, uint256 rX, uint256 rY, uint256[] ciphertext);
    event Refunded(uint256 indexed orderId, address indexed buyer);

    uint64 internal constant DEADLINE = 5000;

    function setUp() public {
        deployMarket();
    }

    function deliverReverts(uint256 id, uint256[] memory x, bytes memory expected) internal {
        bytes memory proof = delivery.proofFor(x);
        vm.expectRevert(expected);
        market.deliver(id, proof, x);
    }

    function test_ListBuyDeliverPaysTheSellerOnceAndPublishesTheCiphertext() public {
        uint256 l = listPrompt();
        PromptMarketplace.Listing memory info = market.getListing(l);
        assertEq(info.promptCommitment, C_P, "C_p from the inference proof");
        assertEq(info.seller, SELLER, "the lister is the seller");
        uint256 id = buyAs(BUYER, l, DEADLINE);
        assertEq(address(market).balance, PRICE, "escrowed");
        uint256[] memory x = delivered(C_P, GX, GY, id);
        uint256[] memory c = new uint256[](7);
        for (uint256 i = 0; i < 7; ++i) {
            c[i] = x[6 + i];
        }
        vm.expectEmit(true, true, false, true);
        emit Delivered(id, SELLER, GX, FIELD - GY, c);
        market.deliver(id, delivery.proofFor(x), x);
        assertEq(market.credit(SELLER), PRICE, "seller credited");
        assertEq(market.openEscrow(), 0, "nothing left in escrow");
        assertEq(uint256(market.getOrder(id).status), uint256(PromptMarketplace.Status.Delivered), "delivered");
        deliverReverts(
            id, x, abi.encodeWithSelector(PromptMarketplace.NotOpen.selector, id, PromptMarketplace.Status.Delivered)
        );
        vm.warp(DEADLINE + 1);
        vm.expectRevert(
            abi.encodeWithSelector(PromptMarketplace.NotOpen.selector, id, PromptMarketplace.Status.Delivered)
        );
        market.refund(id);
        vm.prank(SELLER);
        market.withdraw();
        assertEq(SELLER.balance, PRICE, "withdrawn");
        assertEq(address(market).balance, 0, "emptied");
    }

    function test_RevertWhen_DeliveryDoesNotMatchTheOrder() public {
        uint256 id = buyAs(BUYER, listPrompt(), DEADLINE);
        deliverReverts(
            id,
            delivered(C_P + 1, GX, GY, id),
            abi.encodeWithSelector(PromptMarketplace.WrongPrompt.selector, id, C_P + 1)
        );
        deliverReverts(
            id, delivered(C_P, GX, FIELD - GY, id), abi.encodeWithSelector(PromptMarketplace.WrongKey.selector, id)
        );
        deliverReverts(
            id,
            delivered(C_P, GX, GY, id + 1),
            abi.encodeWithSelector(PromptMarketplace.WrongNonce.selector, id, id + 1)
        );
        uint256[] memory short = new uint256[](12);
        deliverReverts(id, short, abi.encodeWithSelector(PromptMarketplace.WrongInstanceCount.selector, id, 12));
        // A proof for other instances (or another circuit's proof) is rejected.
        uint256[] memory x = delivered(C_P, GX, GY, id);
        bytes memory proof = delivery.proofFor(x);
        x[7] += 1;
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.DeliveryProofRejected.selector, id));
        market.deliver(id, proof, x);
        x[7] -= 1;
        bytes memory inferenceProof = inference.proofFor(x);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.DeliveryProofRejected.selector, id));
        market.deliver(id, inferenceProof, x);
        assertEq(market.credit(SELLER), 0, "nothing paid");
        assertEq(market.openEscrow(), PRICE, "still escrowed");
    }

    function test_LateDeliveryIsRefusedAndTheBuyerIsRefundedOnlyAfterTheDeadline() public {
        uint256 id = buyAs(BUYER, listPrompt(), DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.DeadlineNotReached.selector, id, DEADLINE));
        market.refund(id);
        vm.warp(DEADLINE + 1);
        deliverReverts(
            id,
            delivered(C_P, GX, GY, id),
            abi.encodeWithSelector(PromptMarketplace.DeadlinePassed.selector, id, DEADLINE)
        );
        vm.expectEmit(true, true, false, true);
        emit Refunded(id, BUYER);
        market.refund(id);
        assertEq(market.credit(BUYER), PRICE, "buyer refunded");
        vm.expectRevert(
            abi.encodeWithSelector(PromptMarketplace.NotOpen.selector, id, PromptMarketplace.Status.Refunded)
        );
        market.refund(id);
    }

    function test_RevertWhen_ListingIsNotProvenOrNotSupported() public {
        uint256[] memory x = listing(C_P, C_W + 1);
        bytes memory proof = inference.proofFor(x);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.BadListingInstances.selector));
        market.list(model, proof, x, LEN, PRICE);
        x = listing(C_P, C_W);
        bytes memory deliveryProof = delivery.proofFor(x);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.ListingProofRejected.selector));
        market.list(model, deliveryProof, x, LEN, PRICE);
        proof = inference.proofFor(x);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.UnsupportedPromptLength.selector, LEN + 1));
        market.list(model, proof, x, LEN + 1, PRICE);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.ZeroPrice.selector));
        market.list(model, proof, x, LEN, 0);
        uint256[] memory tooShort = new uint256[](2);
        (tooShort[0], tooShort[1]) = (C_P, C_W);
        proof = inference.proofFor(tooShort);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.WrongListingInstanceCount.selector, model, 4, 2));
        market.list(model, proof, tooShort, LEN, PRICE);
        // The weights commitment present, but not last.
        (x[0], x[1], x[2], x[3]) = (C_P, 7, C_W, 9);
        proof = inference.proofFor(x);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.BadListingInstances.selector));
        market.list(model, proof, x, LEN, PRICE);
        assertEq(market.listingCount(), 0, "nothing listed");
    }

    /// @dev Issue #23 (1): an inference proof made with other weights, whose instances are C_p,
    /// the output, the other weights' commitment and then the registered commitment appended.
    /// The verifier does not check the count, so it accepts; the marketplace refuses the count.
    function test_RevertWhen_ListingHasExtraInstancesBeforeTheCommitment() public {
        uint256[] memory forged = new uint256[](5);
        (forged[0], forged[1], forged[2], forged[3], forged[4]) = (C_P, 7, 9, C_W + 1, C_W);
        bytes memory proof = inference.proofFor(forged);
        assertTrue(inference.verifyProof(proof, forged), "the verifier alone accepts the forgery");
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.WrongListingInstanceCount.selector, model, 4, 5));
        market.list(model, proof, forged, LEN, PRICE);
        assertEq(market.listingCount(), 0, "nothing listed");
    }

    /// @dev A delivery verifier must have the delivery layout's instance count for its length:
    /// 6 + 7 for 4 values; a verifier with one more (or one fewer) is refused at deployment.
    function test_ConstructorRefusesADeliveryVerifierWithTheWrongInstanceCount() public {
        uint256[] memory lengths = new uint256[](1);
        lengths[0] = LEN;
        IVerifier[] memory verifiers = new IVerifier[](1);
        verifiers[0] = new MockVerifier("delivery", 14);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.WrongDeliveryVerifier.selector, LEN, 14));
        new PromptMarketplace(registry, lengths, verifiers);
        verifiers[0] = new MockVerifier("delivery", 12);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.WrongDeliveryVerifier.selector, LEN, 12));
        new PromptMarketplace(registry, lengths, verifiers);
        // The model's inference verifier is no delivery verifier.
        verifiers[0] = inference;
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.WrongDeliveryVerifier.selector, LEN, 4));
        new PromptMarketplace(registry, lengths, verifiers);
        // 5 values have the same ciphertext length as 4: the same verifier count fits both.
        lengths[0] = 5;
        verifiers[0] = delivery;
        PromptMarketplace five = new PromptMarketplace(registry, lengths, verifiers);
        assertEq(address(five.deliveryVerifier(5)), address(delivery), "installed for 5 values");
    }

    function test_RevertWhen_PurchaseIsMalformed() public {
        uint256 l = listPrompt();
        vm.deal(BUYER, 10 ether);
        vm.startPrank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.WrongPayment.selector, l, PRICE, PRICE - 1));
        market.buy{value: PRICE - 1}(l, GX, GY, DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.NotOnCurve.selector, GX, GY + 1));
        market.buy{value: PRICE}(l, GX, GY + 1, DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.NotOnCurve.selector, GX + FIELD, GY));
        market.buy{value: PRICE}(l, GX + FIELD, GY, DEADLINE);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.DeadlineNotInFuture.selector, uint64(100)));
        market.buy{value: PRICE}(l, GX, GY, 100);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.UnknownListing.selector, l + 1));
        market.buy{value: PRICE}(l + 1, GX, GY, DEADLINE);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.NotSeller.selector, l, address(this)));
        market.delist(l);
        uint256 id = buyAs(BUYER, l, DEADLINE);
        vm.prank(SELLER);
        market.delist(l);
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.ListingInactive.selector, l));
        market.buy{value: PRICE}(l, GX, GY, DEADLINE);
        // An order taken before delisting is still delivered.
        uint256[] memory x = delivered(C_P, GX, GY, id);
        market.deliver(id, delivery.proofFor(x), x);
        assertEq(market.credit(SELLER), PRICE, "seller paid");
    }

    function test_ConstructorRefusesBadVerifierLists() public {
        uint256[] memory lengths = new uint256[](2);
        (lengths[0], lengths[1]) = (4, 4);
        IVerifier[] memory verifiers = new IVerifier[](2);
        (verifiers[0], verifiers[1]) = (delivery, delivery);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.BadDeliveryVerifiers.selector));
        new PromptMarketplace(registry, lengths, verifiers);
        lengths[1] = 5;
        verifiers[1] = IVerifier(address(0x1234));
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.VerifierNotAContract.selector, address(0x1234)));
        new PromptMarketplace(registry, lengths, verifiers);
        vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.BadDeliveryVerifiers.selector));
        new PromptMarketplace(registry, new uint256[](1), verifiers);
    }

    function test_GrumpkinCheckAcceptsCurvePointsOnly() public view {
        assertTrue(market.onGrumpkin(GX, GY), "G");
        assertTrue(market.onGrumpkin(GX, FIELD - GY), "-G");
        assertFalse(market.onGrumpkin(0, 0), "the identity has no affine form");
        assertFalse(market.onGrumpkin(GX, GY + FIELD), "coordinates are reduced");
        assertEq(market.ciphertextLength(4), 7, "4 values and the salt: 3 pairs and the tag");
        assertEq(market.ciphertextLength(5), 7, "5 values and the salt: 3 pairs and the tag");
        assertEq(market.ciphertextLength(0), 3, "the salt alone: 1 pair and the tag");
    }

    function testFuzz_PaidToTheSellerBeforeTheDeadlineElseRefundedToTheBuyer(uint64 deadline, uint64 at) public {
        deadline = uint64(bound(deadline, 101, type(uint32).max));
        at = uint64(bound(at, 100, type(uint32).max));
        uint256 id = buyAs(BUYER, listPrompt(), deadline);
        vm.warp(at);
        uint256[] memory x = delivered(C_P, GX, GY, id);
        bytes memory proof = delivery.proofFor(x);
        if (at <= deadline) {
            market.deliver(id, proof, x);
            assertEq(market.credit(SELLER), PRICE, "seller paid in time");
        } else {
            vm.expectRevert(abi.encodeWithSelector(PromptMarketplace.DeadlinePassed.selector, id, deadline));
            market.deliver(id, proof, x);
            market.refund(id);
            assertEq(market.credit(BUYER), PRICE, "buyer refunded when late");
        }
        assertEq(market.credit(SELLER) + market.credit(BUYER), PRICE, "no wei created or lost");
        assertEq(address(market).balance, market.openEscrow() + market.totalCredit(), "solvent");
    }
}

/// @dev Drives orders through random purchases, deliveries, refunds, withdrawals and time; and
/// through invalid calls (a listing with an extra instance, a delivery with an extra instance, a
/// wrong proof, a late delivery, an early refund, a second settlement, an unknown id), each
/// caught here: `refused` counts those refused with exactly the expected error,
/// `wronglyRefused` those refused with another, `invalidAccepted` those that succeeded.
contract MarketHandler is Test {
    PromptMarketplace public immutable market;
    MockVerifier public immutable delivery;
    MockVerifier public immutable inference;
    uint256 public immutable listingId;
    uint256 public immutable gy;
    uint256[] internal ids;
    uint256 public ghostOpen;
    mapping(uint256 => uint256) public settlements;
    uint256 public refused;
    uint256 public wronglyRefused;
    uint256 public invalidAccepted;

    constructor(
        PromptMarketplace market_,
        MockVerifier delivery_,
        MockVerifier inference_,
        uint256 listingId_,
        uint256 gy_
    ) {
        market = market_;
        delivery = delivery_;
        inference = inference_;
        listingId = listingId_;
        gy = gy_;
    }

    function buy(uint32 ttl, bool second) external {
        address buyer = second ? address(0xB2) : address(0xB1);
        uint256 price = market.getListing(listingId).price;
        vm.deal(buyer, buyer.balance + price);
        vm.prank(buyer);
        ids.push(market.buy{value: price}(listingId, 1, gy, uint64(block.timestamp + bound(ttl, 1, 1 days))));
        ghostOpen += price;
    }

    /// @dev The valid delivery instances for order `id`.
    function valid(uint256 id, PromptMarketplace.Order memory o) internal view returns (uint256[] memory x) {
        x = new uint256[](13);
        (x[0], x[1], x[2], x[3]) = (market.getListing(listingId).promptCommitment, o.keyX, o.keyY, id);
    }

    function deliver(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        PromptMarketplace.Order memory o = market.getOrder(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (o.status != PromptMarketplace.Status.Open || block.timestamp > o.deadline) return;
        uint256[] memory x = valid(id, o);
        market.deliver(id, delivery.proofFor(x), x);
        ghostOpen -= o.price;
        settlements[id] += 1;
    }

    function refund(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        PromptMarketplace.Order memory o = market.getOrder(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (o.status != PromptMarketplace.Status.Open || block.timestamp <= o.deadline) return;
        market.refund(id);
        ghostOpen -= o.price;
        settlements[id] += 1;
    }

    function wait(uint32 dt) external {
        vm.warp(block.timestamp + bound(dt, 1, 2 days));
    }

    function withdraw(uint8 who) external {
        address[3] memory accounts = [market.getListing(listingId).seller, address(0xB1), address(0xB2)];
        address a = accounts[who % 3];
        if (market.credit(a) == 0) return;
        vm.prank(a);
        market.withdraw();
    }

    /// @dev Records the outcome of an invalid call that should revert with `expected`.
    function record(bool ok, bytes memory reason, bytes memory expected) internal {
        if (ok) invalidAccepted += 1;
        else if (keccak256(reason) == keccak256(expected)) refused += 1;
        else wronglyRefused += 1;
    }

    /// @dev Delivers `id` with `proof` and `x`, expecting the revert `expected`.
    function tryDeliver(uint256 id, bytes memory proof, uint256[] memory x, bytes memory expected) internal {
        try market.deliver(id, proof, x) {
            record(true, "", expected);
        } catch (bytes memory reason) {
            record(false, reason, expected);
        }
    }

    /// @dev Refunds `id`, expecting the revert `expected`.
    function tryRefund(uint256 id, bytes memory expected) internal {
        try market.refund(id) {
            record(true, "", expected);
        } catch (bytes memory reason) {
            record(false, reason, expected);
        }
    }

    /// @dev Issue #23 (1): a listing proof with the other weights' commitment inserted before
    /// the registered one, which the inference verifier accepts.
    function listWithExtraInstance(uint256 promptCommitment, uint256 otherWeights) external {
        PromptMarketplace.Listing memory l = market.getListing(listingId);
        uint256 weights = market.registry().weightsCommitmentOf(l.modelId);
        uint256[] memory x = new uint256[](5);
        (x[0], x[1], x[2], x[3], x[4]) = (promptCommitment, 7, 9, otherWeights, weights);
        bytes memory proof = inference.proofFor(x);
        bytes memory expected =
            abi.encodeWithSelector(PromptMarketplace.WrongListingInstanceCount.selector, l.modelId, 4, 5);
        vm.prank(l.seller);
        try market.list(l.modelId, proof, x, l.promptLength, l.price) {
            record(true, "", expected);
        } catch (bytes memory reason) {
            record(false, reason, expected);
        }
    }

    /// @dev A valid delivery with one more ciphertext element appended, proven for those.
    function deliverWithExtraInstance(uint256 pick, uint256 extra) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        PromptMarketplace.Order memory o = market.getOrder(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (o.status != PromptMarketplace.Status.Open || block.timestamp > o.deadline) return;
        uint256[] memory v = valid(id, o);
        uint256[] memory x = new uint256[](14);
        for (uint256 i = 0; i < 13; ++i) {
            x[i] = v[i];
        }
        x[13] = extra;
        bytes memory expected = abi.encodeWithSelector(PromptMarketplace.WrongInstanceCount.selector, id, 14);
        tryDeliver(id, delivery.proofFor(x), x, expected);
    }

    function deliverWithWrongProof(uint256 pick, uint8 at) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        PromptMarketplace.Order memory o = market.getOrder(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (o.status != PromptMarketplace.Status.Open || block.timestamp > o.deadline) return;
        uint256[] memory x = valid(id, o);
        bytes memory proof = delivery.proofFor(x);
        proof[at % proof.length] ^= 0x01;
        tryDeliver(id, proof, x, abi.encodeWithSelector(PromptMarketplace.DeliveryProofRejected.selector, id));
    }

    function deliverLate(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        PromptMarketplace.Order memory o = market.getOrder(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (o.status != PromptMarketplace.Status.Open || block.timestamp <= o.deadline) return;
        uint256[] memory x = valid(id, o);
        bytes memory expected = abi.encodeWithSelector(PromptMarketplace.DeadlinePassed.selector, id, o.deadline);
        tryDeliver(id, delivery.proofFor(x), x, expected);
    }

    function refundEarly(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        PromptMarketplace.Order memory o = market.getOrder(id);
        // forge-lint: disable-next-line(block-timestamp)
        if (o.status != PromptMarketplace.Status.Open || block.timestamp > o.deadline) return;
        tryRefund(id, abi.encodeWithSelector(PromptMarketplace.DeadlineNotReached.selector, id, o.deadline));
    }

    /// @dev Delivers and refunds an order already settled.
    function settleAgain(uint256 pick) external {
        if (ids.length == 0) return;
        uint256 id = ids[pick % ids.length];
        PromptMarketplace.Order memory o = market.getOrder(id);
        if (o.status == PromptMarketplace.Status.Open) return;
        bytes memory expected = abi.encodeWithSelector(PromptMarketplace.NotOpen.selector, id, o.status);
        uint256[] memory x = valid(id, o);
        tryDeliver(id, delivery.proofFor(x), x, expected);
        tryRefund(id, expected);
    }

    function settleUnknown(uint256 id, bool zero) external {
        id = zero ? 0 : bound(id, ids.length + 1, type(uint256).max);
        bytes memory expected = abi.encodeWithSelector(PromptMarketplace.UnknownOrder.selector, id);
        uint256[] memory x = new uint256[](13);
        tryDeliver(id, "", x, expected);
        tryRefund(id, expected);
    }

    function orderIds() external view returns (uint256[] memory) {
        return ids;
    }
}

contract PromptMarketplaceInvariantTest is MarketFixture {
    MarketHandler internal handler;

    function setUp() public {
        deployMarket();
        handler = new MarketHandler(market, delivery, inference, listPrompt(), GY);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_BalanceIsOpenOrdersPlusCredit() public view {
        assertEq(address(market).balance, market.openEscrow() + market.totalCredit(), "solvency");
        assertEq(market.openEscrow(), handler.ghostOpen(), "escrow is the sum of open orders");
    }

    function invariant_EachOrderIsPaidOrRefundedAtMostOnce() public view {
        uint256[] memory ids = handler.orderIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            assertTrue(handler.settlements(ids[i]) <= 1, "settled twice");
        }
    }

    function invariant_EveryInvalidCallIsRefused() public view {
        assertEq(handler.invalidAccepted(), 0, "an invalid call succeeded");
        assertEq(handler.wronglyRefused(), 0, "an invalid call was refused with another error");
    }
}
