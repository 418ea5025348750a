// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IUpkeeping} from "../interfaces/IUpkeeping.sol";
import {UpkeepingStorage} from "./UpkeepingStorage.sol";

/**
 * @title UpkeepingProviders
 * @notice The providers the account pays: adding (the record's payment slots created once, here) and removing.
 */
abstract contract UpkeepingProviders is UpkeepingStorage {
    /// @inheritdoc IUpkeeping
    function addProvider(address pid) external onlyUser {
        ProviderRecord storage p = _providers[pid];
        if (p.active) revert UpkeepingDuplicateProvider(pid);
        uint64 start = uint64(block.number);
        if (p.addedAt == 0) {
            _providerList.push(pid);
            p.lastSt = _PLACEHOLDER;
            p.lastSigners = _PLACEHOLDER;
        }
        p.active = true;
        p.addedAt = start;
        p.lastTe = start;
        p.lastPosition = 0;
        emit ProviderAdded(pid, start);
    }

    /// @inheritdoc IUpkeeping
    function removeProvider(address pid) external onlyUser {
        ProviderRecord storage p = _providers[pid];
        if (!p.active) revert UpkeepingUnknownProvider(pid);
        p.active = false;
        emit ProviderRemoved(pid);
    }
}
