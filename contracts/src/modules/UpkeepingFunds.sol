// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IUpkeeping} from "../interfaces/IUpkeeping.sol";
import {UpkeepingStorage} from "./UpkeepingStorage.sol";

/**
 * @title UpkeepingFunds
 * @notice Money in and out: funding (anyone), defunding the unreserved balance (the user), and pull payments
 * of the credits (each party withdraws its own).
 */
abstract contract UpkeepingFunds is UpkeepingStorage {
    /// @inheritdoc IUpkeeping
    function fund() external payable {
        emit Funded(msg.sender, msg.value);
    }

    /// @notice Plain transfers fund the account, as {fund}.
    receive() external payable {
        emit Funded(msg.sender, msg.value);
    }

    /// @inheritdoc IUpkeeping
    function defund(uint256 amount) external onlyUser {
        uint256 available = address(this).balance - _reserved;
        if (amount > available) revert UpkeepingInsufficientFunds(available, amount);
        emit Defunded(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @inheritdoc IUpkeeping
    function withdraw() external {
        uint256 amount = _balances[msg.sender];
        if (amount != 0) _balances[msg.sender] = 0;
        ProviderRecord storage rec = _providers[msg.sender];
        uint256 credit = rec.credit;
        if (credit != 0) {
            // The signer bitmap beside it stays non-zero (a payment has at least one signer), so this slot
            // is not freed and the next credit updates it.
            rec.credit = 0;
            amount += credit;
        }
        uint32 keeperId = _keeperOf[msg.sender];
        Keeper storage k = _keepers[keeperId];
        if (k.slot != 0 && k.account == msg.sender) {
            amount += _poolPerKeeper - k.baseline;
            k.baseline = _poolPerKeeper;
        }
        if (amount == 0) revert UpkeepingNothingToWithdraw(msg.sender);
        // Every credit was added to _reserved when it was made, so the total owed covers this amount.
        _reserved -= uint128(amount);
        emit Withdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert UpkeepingTransferFailed(to, amount);
    }
}
