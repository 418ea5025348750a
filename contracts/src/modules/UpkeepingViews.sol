// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IUpkeeping} from "../interfaces/IUpkeeping.sol";
import {UpkeepingStorage} from "./UpkeepingStorage.sol";

/**
 * @title UpkeepingViews
 * @notice What the account shows: parameters, members, providers and their states, last payments, balances,
 * the reserve, the leader schedule and the batch message keepers sign.
 */
abstract contract UpkeepingViews is UpkeepingStorage {
    /// @dev Bytes of one provider in {providerStates}: pid (20), nextTs (8), active (1).
    uint256 private constant PROVIDER_STATE_BYTES = 29;

    /// @inheritdoc IUpkeeping
    function user() external view returns (address) {
        return _user();
    }

    /// @inheritdoc IUpkeeping
    function config() external view returns (Config memory) {
        Params memory p = _params;
        return Config({
            price: _price,
            period: p.period,
            window: p.window,
            threshold: p.threshold,
            providerBps: p.providerBps,
            leaderBonusBps: p.leaderBonusBps
        });
    }

    /// @inheritdoc IUpkeeping
    function threshold() external view returns (uint256) {
        return _effectiveThreshold(_params.threshold, _keeperIds.length);
    }

    /// @inheritdoc IUpkeeping
    function members() external view returns (uint32[] memory ids, address[] memory accounts, bytes[] memory keys) {
        uint256 n = _keeperIds.length;
        ids = new uint32[](n);
        accounts = new address[](n);
        keys = new bytes[](n);
        for (uint256 i = 0; i < n; ++i) {
            uint32 id = _keeperIds[i];
            ids[i] = id;
            accounts[i] = _keepers[id].account;
            keys[i] = _keeperKeys[id];
        }
    }

    /// @inheritdoc IUpkeeping
    function groupCommitment() external view returns (bytes32) {
        return _groupCommitment;
    }

    /// @inheritdoc IUpkeeping
    function providers() external view returns (address[] memory) {
        return _providerList;
    }

    /// @inheritdoc IUpkeeping
    function providerStates(uint256 start, uint256 count) external view returns (uint256 total, bytes memory packed) {
        total = _providerList.length;
        uint256 end = start >= total ? start : (total - start < count ? total : start + count);
        uint256 n = end - start;
        // 3 spare bytes: each entry is written as a whole word whose last 3 bytes the next entry overwrites.
        packed = new bytes(n * PROVIDER_STATE_BYTES + 3);
        for (uint256 i = 0; i < n; ++i) {
            address pid = _providerList[start + i];
            ProviderRecord storage p = _providers[pid];
            uint256 word = (uint256(uint160(pid)) << 96) | (uint256(p.lastTe) << 32) | (p.active ? uint256(1) << 24 : 0);
            assembly ("memory-safe") {
                mstore(add(add(packed, 0x20), mul(i, PROVIDER_STATE_BYTES)), word)
            }
        }
        assembly ("memory-safe") {
            mstore(packed, mul(n, PROVIDER_STATE_BYTES))
        }
    }

    /// @inheritdoc IUpkeeping
    function provider(address pid) external view returns (bool active, uint64 addedAt, uint64 nextTs) {
        ProviderRecord storage p = _providers[pid];
        return (p.active, p.addedAt, p.lastTe);
    }

    /// @inheritdoc IUpkeeping
    function lastPayment(address pid) external view returns (Payment memory payment) {
        ProviderRecord storage p = _providers[pid];
        if (p.lastPosition == 0) return payment; // positions are 1-based: 0 = never paid
        payment = Payment({
            ts: p.lastTs,
            te: p.lastTe,
            st: p.lastSt,
            amount: p.lastAmount,
            tid: _tid(p.lastTs, p.lastTe, pid, _user(), p.lastLeaderId, p.lastPosition),
            leaderId: p.lastLeaderId,
            position: p.lastPosition,
            signers: p.lastSigners
        });
    }

    /// @inheritdoc IUpkeeping
    function balanceOf(address account) public view returns (uint256 amount) {
        amount = _balances[account] + _providers[account].credit;
        Keeper storage k = _keepers[_keeperOf[account]];
        if (k.slot != 0 && k.account == account) amount += _poolPerKeeper - k.baseline;
    }

    /// @inheritdoc IUpkeeping
    function reserved() external view returns (uint256) {
        return _reserved;
    }

    /// @inheritdoc IUpkeeping
    function unreservedBalance() public view returns (uint256) {
        return address(this).balance - _reserved;
    }

    /// @inheritdoc IUpkeeping
    function leaderSchedule(address pid, uint64 ts) external view returns (uint32[] memory ids) {
        uint256 n = _keeperIds.length;
        ids = new uint32[](n);
        uint256[] memory hashes = new uint256[](n);
        address u = _user();
        for (uint256 i = 0; i < n; ++i) {
            uint32 id = _keeperIds[i];
            uint256 h = _rankHash(u, pid, ts, id);
            uint256 j = i;
            while (j > 0 && hashes[j - 1] > h) {
                hashes[j] = hashes[j - 1];
                ids[j] = ids[j - 1];
                --j;
            }
            hashes[j] = h;
            ids[j] = id;
        }
    }

    /// @inheritdoc IUpkeeping
    function leaderPosition(uint64 ts, uint64 te) external view returns (uint256) {
        Params memory p = _params;
        return _windowPosition(ts, te, p.period, p.window, p.keeperCount);
    }

    /// @inheritdoc IUpkeeping
    function batchMessage(uint32 leaderId, bytes calldata entries) external view returns (bytes memory) {
        return abi.encode(BATCH_MESSAGE_TAG, block.chainid, address(this), _user(), leaderId, keccak256(entries));
    }
}
