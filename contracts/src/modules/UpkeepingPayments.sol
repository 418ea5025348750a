// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {BLS12381} from "../BLS12381.sol";
import {IUpkeeping} from "../interfaces/IUpkeeping.sol";
import {UpkeepingStorage} from "./UpkeepingStorage.sol";

/**
 * @title UpkeepingPayments
 * @notice The one payment path (SPEC section 6, "one round, many entries"): {payBatch} settles a list of
 * entries under one aggregate signature; {pay} is the same path for a list of one. Both open the list the same
 * way ({_openBatch}: group, leader, sender, signers, signature), check every entry with the one entry checker
 * ({_settleEntry}: the same checks, split, record and {PaymentMade}), and close it the same way
 * ({_closeBatch}: keeper sums, bonus, reserve, {BatchSettled}). The one difference: where the list skips an
 * entry with {PaymentSkipped} and its {PaymentSkipReason}, the list of one reverts with
 * {UpkeepingPaymentRefused} and that reason.
 */
abstract contract UpkeepingPayments is UpkeepingStorage {
    /// @dev Working state of one {payBatch}, in memory (one word each, no stack pressure).
    struct Batch {
        address user;
        uint32 leaderId;
        /// @dev The leader's member index (its bit in an entry's idle set).
        uint256 leaderIndex;
        uint256 n;
        uint64 period;
        uint64 window;
        uint256 providerBps;
        uint256 leaderBonusBps;
        uint256 price;
        uint256 signerBits;
        /// @dev Unreserved balance not yet promised to an entry of this batch.
        uint256 available;
        /// @dev Sums over the paid entries: amounts, pool shares per non-excluded keeper, leader bonuses.
        uint256 total;
        uint256 totalShare;
        uint256 totalBonus;
        uint256 paid;
        /// @dev Member ids in group order, and per member the pool shares it was excluded from in this batch.
        uint32[] ids;
        uint256[] excludedShares;
        /// @dev Whether some entry excluded a member with a non-zero share (else `excludedShares` is all zero).
        bool anyExcluded;
    }

    /// @inheritdoc IUpkeeping
    function pay(
        address pid,
        uint64 ts,
        uint64 te,
        uint256 st,
        uint128 idle,
        uint32 leaderId,
        bytes calldata group_,
        uint8[] calldata signers,
        bytes calldata signature
    ) external {
        bytes32 entriesHash = keccak256(abi.encodePacked(pid, ts, te, st, idle));
        Batch memory b = _openBatch(group_, leaderId, signers, signature, entriesHash);
        (bool ok, PaymentSkipReason reason) = _settleEntry(b, pid, ts, te, st, idle);
        if (!ok) revert UpkeepingPaymentRefused(pid, ts, te, reason);
        _closeBatch(b, entriesHash, 1);
    }

    /// @inheritdoc IUpkeeping
    function payBatch(
        bytes calldata entries,
        uint32 leaderId,
        bytes calldata group_,
        uint8[] calldata signers,
        bytes calldata signature
    ) external returns (uint256 paid) {
        uint256 count = entries.length / BATCH_ENTRY_BYTES;
        if (count == 0 || entries.length % BATCH_ENTRY_BYTES != 0) revert UpkeepingInvalidBatch(entries.length);
        bytes32 entriesHash = keccak256(entries);
        Batch memory b = _openBatch(group_, leaderId, signers, signature, entriesHash);
        for (uint256 i = 0; i < count; ++i) {
            (address pid, uint64 ts, uint64 te, uint256 st, uint128 idle) = _entryAt(entries, i * BATCH_ENTRY_BYTES);
            (bool ok, PaymentSkipReason reason) = _settleEntry(b, pid, ts, te, st, idle);
            if (!ok) emit PaymentSkipped(pid, ts, te, reason);
        }
        paid = _closeBatch(b, entriesHash, count);
    }

    /**
     * @dev Opens a payment of the entries hashing to `entriesHash`: checks the group against the commitment,
     * the leader, the sender and the signer list, verifies the aggregate signature over the batch message,
     * and loads what every entry needs. Every failure here reverts: it concerns the whole list.
     */
    function _openBatch(
        bytes calldata g,
        uint32 leaderId,
        uint8[] calldata signers,
        bytes calldata signature,
        bytes32 entriesHash
    ) private view returns (Batch memory b) {
        bytes32 commitment = keccak256(g);
        if (commitment != _groupCommitment) revert UpkeepingGroupMismatch(commitment, _groupCommitment);
        Params memory params = _params;
        uint256 n = params.keeperCount;
        (address leaderAccount, uint256 leaderIndex) = _findMember(g, n, leaderId);
        if (msg.sender != leaderAccount) revert UpkeepingSenderNotLeader(msg.sender, leaderAccount);
        b.signerBits = _checkSigners(signers, n, _effectiveThreshold(params.threshold, n));
        b.user = _user();
        bytes memory message =
            abi.encode(BATCH_MESSAGE_TAG, block.chainid, address(this), b.user, leaderId, entriesHash);
        if (!_verifyAggregate(g, signers, message, signature)) revert UpkeepingInvalidSignature();
        b.leaderId = leaderId;
        b.leaderIndex = leaderIndex;
        b.n = n;
        b.period = params.period;
        b.window = params.window;
        b.providerBps = params.providerBps;
        b.leaderBonusBps = params.leaderBonusBps;
        b.price = _price;
        b.available = address(this).balance - _reserved;
        uint32[] memory ids = new uint32[](n);
        // ids[i] = _memberId(g, i) for every member: `ids` has n words, and `g` holds n members (its hash is
        // the registered group's, checked above).
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                mstore(add(add(ids, 0x20), shl(5, i)), shr(224, calldataload(add(g.offset, mul(i, MEMBER_BYTES)))))
            }
        }
        b.ids = ids;
        b.excludedShares = new uint256[](n);
    }

    /**
     * @dev Writes what the paid entries of `b` owe, once for the list: the keepers' accumulator, excluded
     * keepers' baselines, the leader's bonus and the reserve; emits {BatchSettled} for `count` entries.
     * All sums are bounded by `available`, i.e. by this contract's balance, far below 2^128 wei, so the
     * uint128 casts hold; an excluded keeper's sum is at most `totalShare`, so its baseline stays at most the
     * accumulator.
     */
    function _closeBatch(Batch memory b, bytes32 entriesHash, uint256 count) private returns (uint256 paid) {
        if (b.totalShare != 0) _poolPerKeeper += uint128(b.totalShare);
        if (b.anyExcluded) {
            for (uint256 i = 0; i < b.n; ++i) {
                uint256 excludedShare = b.excludedShares[i];
                if (excludedShare != 0) _keepers[b.ids[i]].baseline += uint128(excludedShare);
            }
        }
        if (b.totalBonus != 0) _balances[msg.sender] += b.totalBonus;
        if (b.total != 0) _reserved += uint128(b.total);
        paid = b.paid;
        // paid <= count: every entry is either paid or refused.
        emit BatchSettled(b.leaderId, entriesHash, paid, count - paid, b.total);
    }

    /// @dev The entry at byte `offset` of packed `entries` (`address ‖ uint64 ‖ uint64 ‖ uint256 ‖ uint128`).
    /// The caller checked that the entries are a whole number of {BATCH_ENTRY_BYTES}, so every field read
    /// here lies inside `entries`.
    function _entryAt(bytes calldata entries, uint256 offset)
        private
        pure
        returns (address pid, uint64 ts, uint64 te, uint256 st, uint128 idle)
    {
        assembly ("memory-safe") {
            let p := add(entries.offset, offset)
            pid := shr(96, calldataload(p))
            ts := shr(192, calldataload(add(p, 20)))
            te := shr(192, calldataload(add(p, 28)))
            st := calldataload(add(p, 36))
            idle := shr(128, calldataload(add(p, 68)))
        }
    }

    /**
     * @dev The one entry checker of every payment. Checks the entry, and when it passes splits and records it
     * and emits {PaymentMade} (`ok`); else returns the reason it cannot be paid and changes nothing. The
     * caller skips ({payBatch}) or reverts ({pay}) with that reason.
     */
    function _settleEntry(Batch memory b, address pid, uint64 ts, uint64 te, uint256 st, uint128 idle)
        private
        returns (bool ok, PaymentSkipReason reason)
    {
        ProviderRecord storage rec = _providers[pid];
        if (!rec.active) return (false, PaymentSkipReason.UnknownProvider);
        if (ts != rec.lastTe) return (false, PaymentSkipReason.IntervalNotContiguous);
        if (te <= ts) return (false, PaymentSkipReason.IntervalEmpty);
        if (te > block.number) return (false, PaymentSkipReason.IntervalInFuture);
        if (st > type(uint128).max) return (false, PaymentSkipReason.SpaceTimeTooLarge);
        // n <= MAX_KEEPERS = 128, so the shift is defined; a bit at or above n names no member.
        if (uint256(idle) >> b.n != 0) return (false, PaymentSkipReason.IdleSetInvalid);

        // The leader's rank for this entry: 1 + the members hashing below it (the failed ones). Excluded from
        // the split are the failed members and the idle set, each counted once.
        (uint256 failed, uint256 excluded) = _rankOf(b, pid, ts, idle, 0);
        uint256 position = _windowPosition(ts, te, b.period, b.window, b.n);
        if (failed + 1 != position) return (false, PaymentSkipReason.NotLeaderWindow);

        // st < 2^128, so st * price only overflows for a price of 2^128 or more, and then the amount
        // would exceed any balance: skip it as unfunded rather than revert the batch.
        if (b.price != 0 && st > type(uint256).max / b.price) {
            return (false, PaymentSkipReason.InsufficientFunds);
        }
        uint256 amount = st * b.price / 1e18;
        if (amount > b.available) return (false, PaymentSkipReason.InsufficientFunds);

        (uint256 providerAmount, uint256 bonus, uint256 share) = _split(b, amount, idle, excluded);
        unchecked {
            // amount <= available was checked just above. The sums are bounded by the balance taken at the
            // start, far below 2^256, as is `paid` by the number of entries.
            b.available -= amount;
            b.total += amount;
            b.totalShare += share;
            b.totalBonus += bonus;
            ++b.paid;
        }
        if (excluded != 0 && share != 0) {
            _rankOf(b, pid, ts, idle, share);
            b.anyExcluded = true;
        }

        _recordEntry(rec, ts, te, b.leaderId, position, st, amount, b.signerBits, providerAmount);

        emit PaymentMade(
            pid,
            b.leaderId,
            _tid(ts, te, pid, b.user, b.leaderId, position),
            ts,
            te,
            st,
            amount,
            providerAmount,
            bonus,
            share,
            uint8(position),
            uint8(failed),
            b.signerBits,
            idle
        );
        ok = true;
    }

    /**
     * @dev The split of `amount` (docs/encoding.md) among the provider, the leader's bonus and the
     * `n - excluded` active keepers: `providerAmount` includes the pool's remainder, `bonus` is what the
     * leader gets on top of its share (0 when it is idle: its bonus goes into the pool), `share` what each
     * active keeper gets. With no active keeper the whole pool goes to the provider. Shares sum to at most
     * BPS (_setConfig) and `excluded <= n`, so nothing underflows.
     */
    function _split(Batch memory b, uint256 amount, uint128 idle, uint256 excluded)
        private
        pure
        returns (uint256 providerAmount, uint256 bonus, uint256 share)
    {
        providerAmount = amount * b.providerBps / BPS;
        bonus = amount * b.leaderBonusBps / BPS;
        uint256 pool = amount - providerAmount - bonus;
        if ((uint256(idle) >> b.leaderIndex) & 1 != 0) {
            // An idle leader cannot pay itself: its bonus is shared like the pool. pool + bonus <= amount.
            pool += bonus;
            bonus = 0;
        }
        uint256 active = b.n - excluded;
        if (active == 0) {
            providerAmount += pool;
        } else {
            share = pool / active;
            providerAmount += pool % active;
        }
    }

    /**
     * @dev How many members hash below the leader for `(user, pid, ts)` (`failed`), and how many members are
     * excluded from the entry's split: failed or in `idle` (each once). With a non-zero `share`, also adds
     * `share` to the batch's excluded sum of each excluded member. Hashes as {_rankHash}, with the first three
     * words written once for all members.
     */
    function _rankOf(Batch memory b, address pid, uint64 ts, uint128 idle, uint256 share)
        private
        pure
        returns (uint256 failed, uint256 excluded)
    {
        address u = b.user;
        uint32 leaderId = b.leaderId;
        uint32[] memory ids = b.ids;
        uint256[] memory sums = b.excludedShares;
        assembly ("memory-safe") {
            // abi.encode(user, pid, ts, keeperId) in scratch memory past the free pointer (not allocated).
            let ptr := mload(0x40)
            mstore(ptr, u)
            mstore(add(ptr, 0x20), pid)
            mstore(add(ptr, 0x40), ts)
            mstore(add(ptr, 0x60), leaderId)
            let leaderHash := keccak256(ptr, 0x80)
            let n := mload(ids)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                mstore(add(ptr, 0x60), mload(add(add(ids, 0x20), shl(5, i))))
                let isFailed := lt(keccak256(ptr, 0x80), leaderHash)
                failed := add(failed, isFailed)
                if or(isFailed, and(shr(i, idle), 1)) {
                    excluded := add(excluded, 1)
                    // `sums` has n elements like `ids`. A member's sum is at most the batch's totalShare,
                    // bounded by the balance, so the addition cannot overflow.
                    if share {
                        let slot := add(add(sums, 0x20), shl(5, i))
                        mstore(slot, add(mload(slot), share))
                    }
                }
            }
        }
    }

    /**
     * @dev Writes a paid entry into the provider's record: each of its three slots once, whole (see
     * {ProviderRecord} for the layout this mirrors; the batch tests read every field back through the views).
     * The provider is active (checked by the caller) and keeps its `addedAt`. st < 2^128 (checked by the
     * caller); amount <= the balance, far below 2^128; signerBits < 2^128 since n <= MAX_KEEPERS.
     */
    function _recordEntry(
        ProviderRecord storage rec,
        uint64 ts,
        uint64 te,
        uint32 leaderId,
        uint256 position,
        uint256 st,
        uint256 amount,
        uint256 signerBits,
        uint256 providerAmount
    ) private {
        assembly ("memory-safe") {
            let slot := rec.slot
            // slot 0: lastTe | addedAt << 64 | lastTs << 128 | lastLeaderId << 192 | lastPosition << 224 |
            // active << 232.
            let addedAt := and(sload(slot), shl(64, 0xffffffffffffffff))
            sstore(
                slot,
                or(or(or(te, addedAt), or(shl(128, ts), shl(192, leaderId))), or(shl(224, position), shl(232, 1)))
            )
            // slot 1: lastSt | lastAmount << 128.
            sstore(add(slot, 1), or(st, shl(128, amount)))
            // slot 2: lastSigners | credit << 128. Credits sum to at most the reserved total; refuse (Panic
            // 0x11, as checked arithmetic would) rather than wrap if that ever exceeded 128 bits.
            let credit := add(shr(128, sload(add(slot, 2))), providerAmount)
            if shr(128, credit) {
                mstore(0, shl(224, 0x4e487b71))
                mstore(4, 0x11)
                revert(0, 0x24)
            }
            sstore(add(slot, 2), or(signerBits, shl(128, credit)))
        }
    }

    /// @dev Account and member index of the member with id `keeperId` in the calldata group.
    function _findMember(bytes calldata g, uint256 n, uint32 keeperId)
        private
        pure
        returns (address account, uint256 index)
    {
        for (uint256 i = 0; i < n; ++i) {
            if (_memberId(g, i) == keeperId) {
                assembly ("memory-safe") {
                    account := shr(96, calldataload(add(add(g.offset, mul(i, MEMBER_BYTES)), 4)))
                }
                return (account, i);
            }
        }
        revert UpkeepingUnknownKeeper(keeperId);
    }

    /// @dev Checks the signer list (strictly increasing, in range, at least `minSigners`) and returns its
    /// bitmap.
    function _checkSigners(uint8[] calldata signers, uint256 n, uint256 minSigners)
        private
        pure
        returns (uint256 bits)
    {
        uint256 count = signers.length;
        if (count < minSigners) revert UpkeepingTooFewSigners(count, minSigners);
        uint256 previous = 0;
        for (uint256 i = 0; i < count; ++i) {
            uint256 index = signers[i];
            if (i != 0 && index <= previous) revert UpkeepingDuplicateSigner(index);
            if (index >= n) revert UpkeepingUnknownSigner(index);
            bits |= 1 << index;
            previous = index;
        }
    }

    /// @dev Aggregates the signers' keys from the calldata group and verifies `signature` over `message`.
    function _verifyAggregate(
        bytes calldata g,
        uint8[] calldata signers,
        bytes memory message,
        bytes calldata signature
    ) private view returns (bool) {
        if (signature.length != 256) return false;
        // buf = acc(128) ‖ next(128); the sum is written back over acc.
        bytes memory buf = new bytes(256);
        uint256 count = signers.length;
        for (uint256 i = 0; i < count; ++i) {
            uint256 keyOffset = uint256(signers[i]) * MEMBER_BYTES + 24;
            uint256 dstOffset = i == 0 ? 0 : 128;
            assembly ("memory-safe") {
                calldatacopy(add(add(buf, 0x20), dstOffset), add(g.offset, keyOffset), 128)
            }
            if (i != 0) BLS12381.g1AddInPlace(buf);
        }
        // The aggregate is the first 128 bytes of `buf`: shorten it in place (no copy). Keys are proven by
        // possession, so an identity aggregate cannot arise honestly; {BLS12381-verify} refuses it anyway.
        assembly ("memory-safe") {
            mstore(buf, 128)
        }
        return BLS12381.verify(buf, BLS12381.hashToG2(message, SIGNATURE_DST), signature);
    }
}
