// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

/// @title Vm
/// @notice The few Forge cheatcodes snarkml's tests use. Forge answers calls to `VM_ADDRESS`.
interface Vm {
    function expectRevert(bytes calldata revertData) external;
    function expectCall(address callee, bytes calldata data) external;
    function expectCall(address callee, bytes calldata data, uint64 count) external;
    function toString(uint256 value) external pure returns (string memory);
    function toString(bytes32 value) external pure returns (string memory);
    function toString(address value) external pure returns (string memory);
    function toString(bytes calldata value) external pure returns (string memory);
    function deal(address account, uint256 balance) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function warp(uint256 timestamp) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
}

/// @title Test
/// @notice A minimal base for Forge tests: the cheatcode handle, assertions that revert with a
/// message naming both sides, and `bound` for fuzz inputs. (forge-std is not available offline.)
abstract contract Test {
    /// @dev keccak256("hevm cheat code") truncated to 20 bytes, where Forge serves cheatcodes.
    address internal constant VM_ADDRESS = address(uint160(uint256(keccak256("hevm cheat code"))));

    Vm internal constant vm = Vm(VM_ADDRESS);

    function fail(string memory message) internal pure {
        revert(string.concat("assertion failed: ", message));
    }

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) fail(message);
    }

    function assertFalse(bool condition, string memory message) internal pure {
        if (condition) fail(message);
    }

    function assertEq(bool left, bool right, string memory message) internal pure {
        if (left != right) {
            fail(string.concat(message, ": ", left ? "true" : "false", " != ", right ? "true" : "false"));
        }
    }

    function assertEq(uint256 left, uint256 right, string memory message) internal pure {
        if (left != right) fail(string.concat(message, ": ", vm.toString(left), " != ", vm.toString(right)));
    }

    function assertEq(bytes32 left, bytes32 right, string memory message) internal pure {
        if (left != right) fail(string.concat(message, ": ", vm.toString(left), " != ", vm.toString(right)));
    }

    function assertEq(address left, address right, string memory message) internal pure {
        if (left != right) fail(string.concat(message, ": ", vm.toString(left), " != ", vm.toString(right)));
    }

    function assertEq(bytes memory left, bytes memory right, string memory message) internal pure {
        if (keccak256(left) != keccak256(right)) {
            fail(string.concat(message, ": ", vm.toString(left), " != ", vm.toString(right)));
        }
    }

    /// @notice Maps any `x` into the closed range [`min`, `max`].
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + x % (size + 1);
    }
}
