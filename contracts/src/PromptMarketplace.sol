// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {IVerifier} from "./IVerifier.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {PullPayments} from "./PullPayments.sol";

/// @title PromptMarketplace
/// @notice Pay-on-delivery of a secret prompt, proven. A seller lists a prompt for a registered
/// model with an inference proof, checked by the model's registered verifier, whose input is
/// hashed: its public instances are the prompt commitment C_p = Poseidon(prompt ‖ salt), then
/// the advertised output, then the model's weights commitment (when it has one). A buyer
/// escrows the price with a Grumpkin public key. The seller delivers with a proof, checked by
/// the delivery verifier for the prompt's length, that a ciphertext encrypts exactly the prompt
/// behind C_p to the buyer's key, for this order: its instances are
/// (C_p, PK.x, PK.y, orderId, R.x, R.y, ciphertext…). The same transaction pays the seller and
/// publishes the ciphertext and R; the buyer decrypts off-chain. An order not delivered by its
/// deadline is refunded to the buyer. Each order is paid or refunded exactly once; payments are
/// pulled with `withdraw`.
///
/// Delivery verifiers are fixed at deployment, one per prompt length: a seller cannot bring a
/// verifier of its own, and anyone can regenerate and compare them.
contract PromptMarketplace is PullPayments {
    /// @notice Where an order stands.
    enum Status {
        None,
        Open,
        Delivered,
        Refunded
    }

    /// @notice A listed prompt.
    struct Listing {
        /// @notice Who is paid for deliveries.
        address seller;
        /// @notice Whether new orders are accepted.
        bool active;
        /// @notice The model (in the registry) the prompt is for.
        uint256 modelId;
        /// @notice C_p, the Poseidon commitment of the prompt and its salt.
        uint256 promptCommitment;
        /// @notice How many values the prompt has.
        uint256 promptLength;
        /// @notice keccak256 of the advertised output instances.
        bytes32 outputDigest;
        /// @notice The price of one delivery, in wei.
        uint256 price;
    }

    /// @notice A purchase.
    struct Order {
        /// @notice Who paid, and gets the price back on refund.
        address buyer;
        /// @notice Last timestamp at which the order can be delivered.
        uint64 deadline;
        /// @notice Where it stands.
        Status status;
        /// @notice The listing bought.
        uint256 listingId;
        /// @notice The escrowed price, in wei.
        uint256 price;
        /// @notice The buyer's Grumpkin public key, x.
        uint256 keyX;
        /// @notice The buyer's Grumpkin public key, y.
        uint256 keyY;
    }

    /// @notice The BN254 scalar field modulus: Grumpkin's base field.
    uint256 public constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Instances of a delivery proof before the ciphertext.
    uint256 public constant DELIVERY_HEADER = 6;

    /// @notice The registry that names models.
    ModelRegistry public immutable registry;
    /// @notice The number of listings; ids are 1..listingCount.
    uint256 public listingCount;
    /// @notice The number of orders; ids are 1..orderCount.
    uint256 public orderCount;
    /// @notice Prices of open orders, in wei.
    uint256 public openEscrow;
    /// @notice The delivery verifier of each prompt length (none: that length cannot be listed).
    mapping(uint256 => IVerifier) public deliveryVerifier;

    mapping(uint256 => Listing) private listings;
    mapping(uint256 => Order) private orders;

    /// @notice A delivery verifier was installed at deployment.
    event DeliveryVerifier(uint256 indexed promptLength, address verifier);
    /// @notice A prompt was listed, its proven output published.
    event Listed(
        uint256 indexed listingId,
        address indexed seller,
        uint256 indexed modelId,
        uint256 promptCommitment,
        uint256 promptLength,
        uint256 price,
        uint256[] output
    );
    /// @notice A listing stopped taking orders.
    event Delisted(uint256 indexed listingId);
    /// @notice A buyer escrowed the price of a listing with its public key.
    event Ordered(
        uint256 indexed orderId,
        uint256 indexed listingId,
        address indexed buyer,
        uint256 keyX,
        uint256 keyY,
        uint64 deadline
    );
    /// @notice An order was delivered: the buyer decrypts `ciphertext` with its key and R.
    event Delivered(uint256 indexed orderId, address indexed seller, uint256 rX, uint256 rY, uint256[] ciphertext);
    /// @notice An undelivered order expired and its price was credited back to the buyer.
    event Refunded(uint256 indexed orderId, address indexed buyer);

    /// @notice The constructor's length and verifier lists differ, or a length repeats.
    error BadDeliveryVerifiers();
    /// @notice The verifier address holds no code.
    error VerifierNotAContract(address verifier);
    /// @notice No delivery verifier is installed for prompts of this length.
    error UnsupportedPromptLength(uint256 promptLength);
    /// @notice A listing must have a price.
    error ZeroPrice();
    /// @notice The listing proof's instances are not C_p, an output and the weights commitment.
    error BadListingInstances();
    /// @notice The listing proof does not have the model's number of instances.
    error WrongListingInstanceCount(uint256 modelId, uint256 expected, uint256 got);
    /// @notice A delivery verifier's instance count is not the delivery layout's for its length.
    error WrongDeliveryVerifier(uint256 promptLength, uint256 instanceCount);
    /// @notice The model's verifier rejected the listing proof.
    error ListingProofRejected();
    /// @notice No listing has this id.
    error UnknownListing(uint256 listingId);
    /// @notice The listing takes no new orders.
    error ListingInactive(uint256 listingId);
    /// @notice Only the seller may do this.
    error NotSeller(uint256 listingId, address caller);
    /// @notice The payment is not the listing's price.
    error WrongPayment(uint256 listingId, uint256 price, uint256 paid);
    /// @notice The deadline is not in the future.
    error DeadlineNotInFuture(uint64 deadline);
    /// @notice The key is not a point of Grumpkin (y² = x³ − 17 over the BN254 scalar field).
    error NotOnCurve(uint256 x, uint256 y);
    /// @notice No order has this id.
    error UnknownOrder(uint256 orderId);
    /// @notice The order was already delivered or refunded.
    error NotOpen(uint256 orderId, Status status);
    /// @notice The order's deadline passed: it can only be refunded.
    error DeadlinePassed(uint256 orderId, uint64 deadline);
    /// @notice The order's deadline has not passed yet.
    error DeadlineNotReached(uint256 orderId, uint64 deadline);
    /// @notice The delivery proof does not have the listing's number of instances.
    error WrongInstanceCount(uint256 orderId, uint256 got);
    /// @notice The delivery is of another prompt commitment.
    error WrongPrompt(uint256 orderId, uint256 promptCommitment);
    /// @notice The delivery is encrypted to another key.
    error WrongKey(uint256 orderId);
    /// @notice The delivery is for another order.
    error WrongNonce(uint256 orderId, uint256 nonce);
    /// @notice The delivery verifier rejected the proof.
    error DeliveryProofRejected(uint256 orderId);

    /// @param registry_ The model registry.
    /// @param promptLengths The prompt lengths that can be listed.
    /// @param verifiers The delivery verifier of each length.
    constructor(ModelRegistry registry_, uint256[] memory promptLengths, IVerifier[] memory verifiers) {
        if (promptLengths.length != verifiers.length) revert BadDeliveryVerifiers();
        registry = registry_;
        for (uint256 i = 0; i < verifiers.length; ++i) {
            if (address(deliveryVerifier[promptLengths[i]]) != address(0)) revert BadDeliveryVerifiers();
            if (address(verifiers[i]).code.length == 0) revert VerifierNotAContract(address(verifiers[i]));
            uint256 count = verifiers[i].instanceCount();
            if (count != DELIVERY_HEADER + ciphertextLength(promptLengths[i])) {
                revert WrongDeliveryVerifier(promptLengths[i], count);
            }
            deliveryVerifier[promptLengths[i]] = verifiers[i];
            emit DeliveryVerifier(promptLengths[i], address(verifiers[i]));
        }
    }

    /// @notice Lists a prompt of `promptLength` values for model `modelId` at `price` wei, with
    /// an inference proof whose instances are C_p, the advertised output, and the model's
    /// weights commitment when it has one.
    /// @return listingId The new listing's id.
    function list(
        uint256 modelId,
        bytes calldata proof,
        uint256[] calldata instances,
        uint256 promptLength,
        uint256 price
    ) external returns (uint256 listingId) {
        if (address(deliveryVerifier[promptLength]) == address(0)) {
            revert UnsupportedPromptLength(promptLength);
        }
        if (price == 0) revert ZeroPrice();
        uint256 expected = registry.instanceCountOf(modelId);
        if (instances.length != expected) revert WrongListingInstanceCount(modelId, expected, instances.length);
        uint256 end = instances.length;
        uint256 weights = registry.weightsCommitmentOf(modelId);
        if (weights != 0) {
            if (end < 2 || instances[end - 1] != weights) revert BadListingInstances();
            end -= 1;
        }
        if (end < 2) revert BadListingInstances();
        if (!registry.verifierOf(modelId).verifyProof(proof, instances)) revert ListingProofRejected();
        listingId = ++listingCount;
        listings[listingId] = Listing({
            seller: msg.sender,
            active: true,
            modelId: modelId,
            promptCommitment: instances[0],
            promptLength: promptLength,
            outputDigest: keccak256(abi.encodePacked(instances[1:end])),
            price: price
        });
        emit Listed(listingId, msg.sender, modelId, instances[0], promptLength, price, instances[1:end]);
    }

    /// @notice Stops listing `listingId` taking new orders; open orders stay deliverable.
    function delist(uint256 listingId) external {
        Listing storage l = getListingStorage(listingId);
        if (msg.sender != l.seller) revert NotSeller(listingId, msg.sender);
        l.active = false;
        emit Delisted(listingId);
    }

    /// @notice Buys one delivery of listing `listingId`, escrowing its price, for the Grumpkin
    /// public key (keyX, keyY), to be delivered by `deadline`.
    /// @return orderId The new order's id.
    function buy(uint256 listingId, uint256 keyX, uint256 keyY, uint64 deadline)
        external
        payable
        returns (uint256 orderId)
    {
        Listing storage l = getListingStorage(listingId);
        if (!l.active) revert ListingInactive(listingId);
        if (msg.value != l.price) revert WrongPayment(listingId, l.price, msg.value);
        // Deadlines are coarse (minutes or more): validator timestamp drift does not matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (deadline <= block.timestamp) revert DeadlineNotInFuture(deadline);
        if (!onGrumpkin(keyX, keyY)) revert NotOnCurve(keyX, keyY);
        orderId = ++orderCount;
        orders[orderId] = Order({
            buyer: msg.sender,
            deadline: deadline,
            status: Status.Open,
            listingId: listingId,
            price: msg.value,
            keyX: keyX,
            keyY: keyY
        });
        openEscrow += msg.value;
        emit Ordered(orderId, listingId, msg.sender, keyX, keyY, deadline);
    }

    /// @notice Delivers order `orderId` with a delivery proof; credits the price to the seller
    /// and publishes the ciphertext.
    function deliver(uint256 orderId, bytes calldata proof, uint256[] calldata instances) external {
        Order storage o = openOrder(orderId);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > o.deadline) revert DeadlinePassed(orderId, o.deadline);
        Listing storage l = listings[o.listingId];
        if (instances.length != DELIVERY_HEADER + ciphertextLength(l.promptLength)) {
            revert WrongInstanceCount(orderId, instances.length);
        }
        if (instances[0] != l.promptCommitment) revert WrongPrompt(orderId, instances[0]);
        if (instances[1] != o.keyX || instances[2] != o.keyY) revert WrongKey(orderId);
        if (instances[3] != orderId) revert WrongNonce(orderId, instances[3]);
        if (!deliveryVerifier[l.promptLength].verifyProof(proof, instances)) revert DeliveryProofRejected(orderId);
        o.status = Status.Delivered;
        openEscrow -= o.price;
        _credit(l.seller, o.price);
        emit Delivered(orderId, l.seller, instances[4], instances[5], instances[DELIVERY_HEADER:]);
    }

    /// @notice Credits the price of an expired, undelivered order back to its buyer (anyone may
    /// call it).
    function refund(uint256 orderId) external {
        Order storage o = openOrder(orderId);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= o.deadline) revert DeadlineNotReached(orderId, o.deadline);
        o.status = Status.Refunded;
        openEscrow -= o.price;
        _credit(o.buyer, o.price);
        emit Refunded(orderId, o.buyer);
    }

    /// @notice Listing `listingId`.
    function getListing(uint256 listingId) external view returns (Listing memory) {
        return getListingStorage(listingId);
    }

    /// @notice Order `orderId`.
    function getOrder(uint256 orderId) external view returns (Order memory) {
        Order storage o = orders[orderId];
        if (o.status == Status.None) revert UnknownOrder(orderId);
        return o;
    }

    /// @notice Ciphertext elements of a delivery of a `promptLength`-value prompt: the prompt
    /// and its salt in pairs, then the tag.
    function ciphertextLength(uint256 promptLength) public pure returns (uint256) {
        return ((promptLength + 2) / 2) * 2 + 1;
    }

    /// @notice Whether (x, y) is a point of Grumpkin: y² = x³ − 17 over the BN254 scalar field.
    function onGrumpkin(uint256 x, uint256 y) public pure returns (bool) {
        if (x >= FIELD || y >= FIELD) return false;
        uint256 x3 = mulmod(mulmod(x, x, FIELD), x, FIELD);
        return mulmod(y, y, FIELD) == addmod(x3, FIELD - 17, FIELD);
    }

    function getListingStorage(uint256 listingId) private view returns (Listing storage l) {
        l = listings[listingId];
        if (l.seller == address(0)) revert UnknownListing(listingId);
    }

    function openOrder(uint256 orderId) private view returns (Order storage o) {
        o = orders[orderId];
        if (o.status == Status.None) revert UnknownOrder(orderId);
        if (o.status != Status.Open) revert NotOpen(orderId, o.status);
    }
}
