// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";
import {IUpkeeping} from "./interfaces/IUpkeeping.sol";
import {UpkeepingConfig} from "./modules/UpkeepingConfig.sol";
import {UpkeepingFunds} from "./modules/UpkeepingFunds.sol";
import {UpkeepingGroup} from "./modules/UpkeepingGroup.sol";
import {UpkeepingPayments} from "./modules/UpkeepingPayments.sol";
import {UpkeepingProviders} from "./modules/UpkeepingProviders.sol";
import {UpkeepingViews} from "./modules/UpkeepingViews.sol";

/**
 * @title Upkeeping
 * @notice One user's storage upkeep account (SPEC section 8): the user funds it, names its keeper group
 * (each keeper with a BLS12-381 public key proven by a proof of possession) and its providers; the keeper
 * leading a payment window submits {payBatch} (or {pay}, a list of one) with the group's aggregate BLS
 * signature over the batch message, and the amounts are credited to the providers and the keepers, who
 * withdraw them (pull payments).
 *
 * Deployed as an EIP-1167 clone by {UpkeepingFactory}; {initialize} replaces the constructor. The behaviour
 * lives in abstract modules by concern over one layout ({UpkeepingStorage}): {UpkeepingConfig},
 * {UpkeepingGroup}, {UpkeepingProviders}, {UpkeepingFunds}, {UpkeepingPayments}, {UpkeepingViews}; the
 * external surface is {IUpkeeping}.
 */
contract Upkeeping is
    Initializable,
    IUpkeeping,
    UpkeepingConfig,
    UpkeepingGroup,
    UpkeepingProviders,
    UpkeepingFunds,
    UpkeepingPayments,
    UpkeepingViews
{
    /// @dev The implementation itself is never used directly.
    constructor() {
        _disableInitializers();
    }

    /// @inheritdoc IUpkeeping
    function initialize(address owner, Config calldata initialConfig) external initializer {
        // The user is the clone's immutable argument (UpkeepingStorage._user); the factory passes the same.
        if (owner != _user()) revert UpkeepingUnauthorized(owner);
        _setConfig(initialConfig);
        _groupCommitment = keccak256("");
        // The accumulator starts at 1, not 0: its slot (shared with `_reserved`) is then non-zero before the
        // first payment, which updates it instead of creating it. Keepers are owed `_poolPerKeeper` minus
        // their baseline (set to the accumulator when they join), so the starting value cancels out.
        _poolPerKeeper = _PLACEHOLDER;
    }
}
