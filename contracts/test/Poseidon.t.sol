// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {Test} from "./utils/Test.sol";
import {Poseidon} from "../src/Poseidon.sol";
import {PoseidonVectors} from "./PoseidonVectors.sol";

/// @dev External entry points, so reverts of the library can be expected.
contract PoseidonHarness {
    function hash(uint256[] calldata message) external pure returns (uint256) {
        return Poseidon.hash(message);
    }
}

contract PoseidonTest is Test {
    PoseidonHarness internal harness = new PoseidonHarness();

    function test_MatchesTheNativeHashOnEveryVector() public pure {
        for (uint256 i = 0; i < PoseidonVectors.COUNT; ++i) {
            (uint256[] memory message, uint256 digest) = PoseidonVectors.get(i);
            assertEq(Poseidon.hash(message), digest, string.concat("vector ", vm.toString(i)));
        }
    }

    function test_CommitmentMatchesTheNativeOne() public pure {
        uint256[] memory values = new uint256[](3);
        values[0] = 1;
        values[1] = 2;
        values[2] = 3;
        assertEq(Poseidon.commit(values, 42), PoseidonVectors.COMMIT_1_2_3_SALT_42, "commit([1, 2, 3], 42)");
    }

    function test_RevertsOnAnElementOutsideTheField() public {
        uint256[] memory message = new uint256[](3);
        message[2] = Poseidon.R;
        vm.expectRevert(abi.encodeWithSelector(Poseidon.NotAFieldElement.selector, 2, Poseidon.R));
        harness.hash(message);
    }

    function testFuzz_LengthIsPartOfTheHash(uint256 a) public pure {
        a = bound(a, 0, Poseidon.R - 1);
        uint256[] memory one = new uint256[](1);
        one[0] = a;
        uint256[] memory padded = new uint256[](2);
        padded[0] = a;
        assertTrue(Poseidon.hash(one) != Poseidon.hash(padded), "[a] and [a, 0] collide");
    }
}
