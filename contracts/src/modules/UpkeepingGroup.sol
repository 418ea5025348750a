// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {BLS12381} from "../BLS12381.sol";
import {IUpkeeping} from "../interfaces/IUpkeeping.sol";
import {UpkeepingStorage} from "./UpkeepingStorage.sol";

/**
 * @title UpkeepingGroup
 * @notice The keeper group: registration with an on-chain proof of possession, removal (accrued shares
 * settled), and the group bytes whose hash every payment's calldata group is checked against.
 */
abstract contract UpkeepingGroup is UpkeepingStorage {
    /// @inheritdoc IUpkeeping
    function addKeeper(uint32 keeperId, address account, bytes calldata publicKey, bytes calldata proofOfPossession)
        external
        onlyUser
    {
        if (_keepers[keeperId].slot != 0) revert UpkeepingDuplicateKeeperId(keeperId);
        if (_keepers[_keeperOf[account]].slot != 0 && _keepers[_keeperOf[account]].account == account) {
            revert UpkeepingDuplicateKeeperAccount(account);
        }
        bytes32 keyHash = keccak256(publicKey);
        if (_keyUsed[keyHash]) revert UpkeepingDuplicateKey(keeperId);
        if (_keeperIds.length >= MAX_KEEPERS) revert UpkeepingTooManyKeepers();
        // One more member raises f every third keeper: a threshold of f + 1 before may be f then.
        _checkThreshold(_params.threshold, _keeperIds.length + 1);
        if (!_verifyPossession(publicKey, proofOfPossession)) revert UpkeepingInvalidProofOfPossession(keeperId);

        _keeperIds.push(keeperId);
        // The group holds at most MAX_KEEPERS (128) ids, so the length fits in uint32 and uint8 casts below.
        _keepers[keeperId] = Keeper({account: account, slot: uint32(_keeperIds.length), baseline: _poolPerKeeper});
        _keeperKeys[keeperId] = publicKey;
        _keeperOf[account] = keeperId;
        _keyUsed[keyHash] = true;
        _params.keeperCount = uint8(_keeperIds.length);
        _groupCommitment = keccak256(group());
        emit KeeperAdded(keeperId, account, publicKey);
    }

    /// @inheritdoc IUpkeeping
    function removeKeeper(uint32 keeperId) external onlyUser {
        Keeper memory k = _keepers[keeperId];
        if (k.slot == 0) revert UpkeepingUnknownKeeper(keeperId);
        // One member fewer: a threshold of n would exceed the group.
        _checkThreshold(_params.threshold, _keeperIds.length - 1);
        _balances[k.account] += _poolPerKeeper - k.baseline;

        uint256 index = k.slot - 1;
        uint32 lastId = _keeperIds[_keeperIds.length - 1];
        _keeperIds[index] = lastId;
        _keepers[lastId].slot = k.slot;
        _keeperIds.pop();

        _keyUsed[keccak256(_keeperKeys[keeperId])] = false;
        delete _keeperKeys[keeperId];
        delete _keepers[keeperId];
        delete _keeperOf[k.account];
        _params.keeperCount = uint8(_keeperIds.length);
        _groupCommitment = keccak256(group());
        emit KeeperRemoved(keeperId, k.account);
    }

    /// @inheritdoc IUpkeeping
    function group() public view returns (bytes memory out) {
        uint256 n = _keeperIds.length;
        out = new bytes(n * MEMBER_BYTES);
        for (uint256 i = 0; i < n; ++i) {
            uint32 id = _keeperIds[i];
            address account = _keepers[id].account;
            bytes memory key = _keeperKeys[id];
            assembly ("memory-safe") {
                let dst := add(add(out, 0x20), mul(i, MEMBER_BYTES))
                // id (4 bytes) then account (20 bytes); the key's 128 bytes overwrite the tail below.
                mstore(dst, or(shl(224, id), shl(64, account)))
                mcopy(add(dst, 24), add(key, 0x20), 128)
            }
        }
    }

    /// @dev Proof of possession: a valid signature with {POP_DST} over the compressed key. {BLS12381-verify}
    /// refuses the identity as key or proof and wrong lengths; the pairing precompile also rejects a key that
    /// is not on the curve or not in the G1 subgroup.
    function _verifyPossession(bytes calldata publicKey, bytes calldata proof) private view returns (bool) {
        if (publicKey.length != 128 || proof.length != 256) return false;
        bytes memory pk = publicKey;
        return BLS12381.verify(pk, BLS12381.hashToG2(BLS12381.compressG1(pk), POP_DST), proof);
    }
}
