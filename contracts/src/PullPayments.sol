// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

/// @title PullPayments
/// @notice Money owed is credited, never pushed: each account withdraws what it is owed, so a
/// recipient that refuses ETH cannot block a settlement, and a failed send loses nothing.
abstract contract PullPayments {
    /// @notice Credited, not yet withdrawn, in wei.
    uint256 public totalCredit;
    /// @notice What each account can withdraw.
    mapping(address => uint256) public credit;

    /// @notice An account withdrew its credit.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice The caller has nothing to withdraw.
    error NothingToWithdraw(address account);
    /// @notice Sending the withdrawal failed.
    error TransferFailed(address account, uint256 amount);

    /// @notice Sends the caller everything credited to it.
    function withdraw() external {
        uint256 amount = credit[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        credit[msg.sender] = 0;
        totalCredit -= amount;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed(msg.sender, amount);
    }

    /// @dev Owes `amount` wei to `account`.
    function _credit(address account, uint256 amount) internal {
        credit[account] += amount;
        totalCredit += amount;
    }
}
