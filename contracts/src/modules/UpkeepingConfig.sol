// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IUpkeeping} from "../interfaces/IUpkeeping.sol";
import {UpkeepingStorage} from "./UpkeepingStorage.sol";

/**
 * @title UpkeepingConfig
 * @notice The account's parameters: price, payment period H, leader window T, threshold, shares.
 */
abstract contract UpkeepingConfig is UpkeepingStorage {
    /// @inheritdoc IUpkeeping
    function setConfig(Config calldata newConfig) external onlyUser {
        _setConfig(newConfig);
    }

    function _setConfig(Config calldata c) internal {
        if (c.window == 0 || uint256(c.providerBps) + c.leaderBonusBps > BPS) revert UpkeepingInvalidConfig();
        _checkThreshold(c.threshold, _params.keeperCount);
        _price = c.price;
        Params storage p = _params;
        p.period = c.period;
        p.window = c.window;
        p.threshold = c.threshold;
        p.providerBps = c.providerBps;
        p.leaderBonusBps = c.leaderBonusBps;
        emit ConfigChanged(c.price, c.period, c.window, c.threshold, c.providerBps, c.leaderBonusBps);
    }
}
