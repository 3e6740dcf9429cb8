// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {Test} from "./utils/Test.sol";
import {MockVerifier} from "./mocks/MockVerifier.sol";
import {IVerifier} from "../src/IVerifier.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";

/// @dev A contract that answers `vkHash()` but not `instanceCount()`: not an `IVerifier`.
contract HalfVerifier {
    function vkHash() external pure returns (bytes32) {
        return "half";
    }
}

/// @dev Answers every call, and with nothing.
contract SilentFallback {
    fallback() external {}
}

/// @dev A dishonest verifier: it accepts every proof, and claims whatever key hash and instance
/// count its deployer chose (here, an honest verifier's).
contract AlwaysTrueVerifier is IVerifier {
    bytes32 public immutable vkHash;
    uint256 public immutable instanceCount;

    constructor(bytes32 vkHash_, uint256 instanceCount_) {
        vkHash = vkHash_;
        instanceCount = instanceCount_;
    }

    function verifyProof(bytes calldata, uint256[] calldata) external pure returns (bool) {
        return true;
    }
}

contract ModelRegistryTest is Test {
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
    event OwnershipTransferred(uint256 indexed modelId, address indexed from, address indexed to);

    ModelRegistry internal registry = new ModelRegistry();
    MockVerifier internal verifier = new MockVerifier("a", 3);
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    function test_RegisterStoresTheModelAndEmits() public {
        vm.expectEmit(true, true, false, true);
        emit ModelRegistered(1, ALICE, address(verifier), "a", address(verifier).codehash, 3, 42, "ipfs://m");
        vm.prank(ALICE);
        uint256 id = registry.register(verifier, 42, "ipfs://m");
        assertEq(id, 1, "first id");
        assertEq(registry.modelCount(), 1, "count");
        ModelRegistry.Model memory m = registry.model(id);
        assertEq(m.owner, ALICE, "owner");
        assertEq(address(m.verifier), address(verifier), "verifier");
        assertEq(m.vkHash, "a", "vk hash");
        assertEq(m.codeHash, address(verifier).codehash, "code hash");
        assertEq(m.instanceCount, 3, "instance count");
        assertEq(m.weightsCommitment, 42, "weights commitment");
        assertEq(bytes(m.metadataURI), bytes("ipfs://m"), "metadata");
        assertEq(registry.ownerOf(id), ALICE, "ownerOf");
        assertEq(address(registry.verifierOf(id)), address(verifier), "verifierOf");
        assertEq(registry.instanceCountOf(id), 3, "instanceCountOf");
    }

    /// @dev The key hash, the instance count and the code hash are the verifier's answers and
    /// code, whoever registers it: two callers registering two verifiers get each verifier's.
    function test_RegisterReadsKeyCountAndCodeFromTheVerifier() public {
        MockVerifier other = new MockVerifier("b", 17);
        vm.prank(ALICE);
        uint256 a = registry.register(verifier, 0, "");
        vm.prank(BOB);
        uint256 b = registry.register(other, 0, "");
        vm.prank(BOB);
        uint256 a2 = registry.register(verifier, 5, "");
        ModelRegistry.Model memory ma = registry.model(a);
        ModelRegistry.Model memory mb = registry.model(b);
        ModelRegistry.Model memory ma2 = registry.model(a2);
        assertEq(ma.vkHash, verifier.vkHash(), "a: vk hash is the verifier's");
        assertEq(ma.instanceCount, verifier.instanceCount(), "a: instance count is the verifier's");
        assertEq(ma.codeHash, address(verifier).codehash, "a: code hash is the verifier's");
        assertEq(mb.vkHash, "b", "b: vk hash is the verifier's");
        assertEq(mb.instanceCount, 17, "b: instance count is the verifier's");
        assertEq(mb.codeHash, address(other).codehash, "b: code hash is the verifier's");
        assertTrue(ma.codeHash != mb.codeHash, "other key, other code");
        assertEq(ma2.vkHash, ma.vkHash, "another caller, the same vk hash");
        assertEq(ma2.instanceCount, ma.instanceCount, "another caller, the same instance count");
        assertEq(ma2.codeHash, ma.codeHash, "another caller, the same code hash");
    }

    function test_RevertWhen_ModelIsUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, 3));
        registry.model(3);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, 3));
        registry.instanceCountOf(3);
    }

    function test_RevertWhen_VerifierIsNotAContract() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.VerifierNotAContract.selector, BOB));
        registry.register(IVerifier(BOB), 0, "");
    }

    function test_RevertWhen_ContractIsNotAVerifier() public {
        // A contract with neither function (the registry itself).
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotAVerifier.selector, address(registry)));
        registry.register(IVerifier(address(registry)), 0, "");
        // A contract with vkHash() but no instanceCount().
        HalfVerifier half = new HalfVerifier();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotAVerifier.selector, address(half)));
        registry.register(IVerifier(address(half)), 0, "");
        // A contract whose fallback answers every getter with no data.
        SilentFallback silent = new SilentFallback();
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotAVerifier.selector, address(silent)));
        registry.register(IVerifier(address(silent)), 0, "");
        assertEq(registry.modelCount(), 0, "nothing registered");
    }

    function test_RevertWhen_InstanceCountIsZero() public {
        MockVerifier empty = new MockVerifier("a", 0);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadInstanceCount.selector, address(empty), 0));
        registry.register(empty, 0, "");
        assertEq(registry.modelCount(), 0, "nothing registered");
    }

    /// @dev The registry cannot judge a verifier's code: a contract that accepts every proof and
    /// claims an honest verifier's key hash and instance count registers like the honest one,
    /// and would pay for garbage proofs. What gives it away is its code: the registry records
    /// `codeHash` (extcodehash at registration), and clients compare it with the code hash of
    /// the verifier they generate themselves for the model before paying. The same code always
    /// has the same hash, so an honest verifier is recognised and this one is not.
    function test_AlwaysTrueVerifierRegistersButItsCodeHashDiffers() public {
        AlwaysTrueVerifier liar = new AlwaysTrueVerifier(verifier.vkHash(), verifier.instanceCount());
        assertTrue(liar.verifyProof("garbage", new uint256[](3)), "accepts anything");
        vm.prank(ALICE);
        uint256 honestId = registry.register(verifier, 42, "ipfs://m");
        vm.prank(BOB);
        uint256 liarId = registry.register(liar, 42, "ipfs://m");
        ModelRegistry.Model memory honest = registry.model(honestId);
        ModelRegistry.Model memory dishonest = registry.model(liarId);
        assertEq(dishonest.vkHash, honest.vkHash, "the claimed key hash cannot tell them apart");
        assertEq(dishonest.instanceCount, honest.instanceCount, "nor can the instance count");
        assertEq(dishonest.codeHash, address(liar).codehash, "the liar's own code is recorded");
        assertTrue(dishonest.codeHash != honest.codeHash, "the code hash tells them apart");
        // A client regenerating the honest verifier gets the honest code hash.
        MockVerifier regenerated = new MockVerifier("a", 3);
        assertEq(address(regenerated).codehash, honest.codeHash, "same code, same hash");
    }

    function test_OwnerTransfersAndOthersCannot() public {
        vm.prank(ALICE);
        uint256 id = registry.register(verifier, 0, "");
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotOwner.selector, id, BOB));
        registry.transferOwnership(id, BOB);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ZeroOwner.selector));
        registry.transferOwnership(id, address(0));
        vm.expectEmit(true, true, true, true);
        emit OwnershipTransferred(id, ALICE, BOB);
        vm.prank(ALICE);
        registry.transferOwnership(id, BOB);
        assertEq(registry.ownerOf(id), BOB, "new owner");
    }

    function testFuzz_IdsAreSequential(uint8 n) public {
        for (uint256 i = 1; i <= n; ++i) {
            assertEq(registry.register(verifier, i, ""), i, "id");
        }
        assertEq(registry.modelCount(), n, "count");
    }
}
