// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {Test} from "./utils/Test.sol";
import {MockVerifier} from "./mocks/MockVerifier.sol";
import {IVerifier} from "../src/IVerifier.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";

contract ModelRegistryTest is Test {
    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        address verifier,
        bytes32 vkHash,
        uint256 weightsCommitment,
        string metadataURI
    );
    event OwnershipTransferred(uint256 indexed modelId, address indexed from, address indexed to);

    ModelRegistry internal registry = new ModelRegistry();
    MockVerifier internal verifier = new MockVerifier("a");
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    function test_RegisterStoresTheModelAndEmits() public {
        vm.expectEmit(true, true, false, true);
        emit ModelRegistered(1, ALICE, address(verifier), bytes32(uint256(7)), 42, "ipfs://m");
        vm.prank(ALICE);
        uint256 id = registry.register(verifier, bytes32(uint256(7)), 42, "ipfs://m");
        assertEq(id, 1, "first id");
        assertEq(registry.modelCount(), 1, "count");
        ModelRegistry.Model memory m = registry.model(id);
        assertEq(m.owner, ALICE, "owner");
        assertEq(address(m.verifier), address(verifier), "verifier");
        assertEq(m.vkHash, bytes32(uint256(7)), "vk hash");
        assertEq(m.weightsCommitment, 42, "weights commitment");
        assertEq(bytes(m.metadataURI), bytes("ipfs://m"), "metadata");
        assertEq(registry.ownerOf(id), ALICE, "ownerOf");
        assertEq(address(registry.verifierOf(id)), address(verifier), "verifierOf");
    }

    function test_RevertWhen_ModelIsUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, 3));
        registry.model(3);
    }

    function test_RevertWhen_VerifierIsNotAContract() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.VerifierNotAContract.selector, BOB));
        registry.register(IVerifier(BOB), 0, 0, "");
    }

    function test_OwnerTransfersAndOthersCannot() public {
        vm.prank(ALICE);
        uint256 id = registry.register(verifier, 0, 0, "");
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
            assertEq(registry.register(verifier, bytes32(i), i, ""), i, "id");
        }
        assertEq(registry.modelCount(), n, "count");
    }
}
