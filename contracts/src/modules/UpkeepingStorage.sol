// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IUpkeeping} from "../interfaces/IUpkeeping.sol";

/**
 * @title UpkeepingStorage
 * @notice The one storage layout of {Upkeeping} and the rules every module derives from it: the constants,
 * the packed records, the state, the user-only guard and the pure helpers of the leader schedule (rank hash,
 * window position, threshold, tid) and of the calldata group.
 * @dev The only module with state. Its variables are `internal` so that the modules (config, group,
 * providers, funds, payments, views) read and write the same slots; outside the contract they are reached
 * only through the views. The order of the variables is the layout every clone of the implementation has
 * (Initializable keeps its flag in its own ERC-7201 slot).
 *
 * Gas: `pay` and `payBatch` take the group's keys in calldata (`group`, 152 bytes per member: `uint32 id ‖
 * address ‖ 128-byte G1 key`) checked against one stored commitment, so they read no per-keeper storage.
 * Keepers' pool shares accrue through a per-keeper accumulator, so a payment writes only the provider's record
 * (three slots, its credit included), one accumulator slot and, for each keeper excluded from it, its
 * baseline. Every one of these slots is made non-zero before the first payment ({Upkeeping-initialize},
 * {UpkeepingGroup-addKeeper}, {UpkeepingProviders-addProvider}), so a payment only updates slots (~2.9k gas
 * each) and never creates one (~22.1k).
 */
abstract contract UpkeepingStorage is IUpkeeping {
    // ────────────────────────────────────────────── constants ──────────────────────────────────────────────

    /// @notice Domain separation tag of payment signatures (the POP ciphersuite's signature DST).
    bytes public constant SIGNATURE_DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
    /// @notice Domain separation tag of proofs of possession.
    bytes public constant POP_DST = "BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
    /// @notice Largest group: signer sets are stored as a 128-bit bitmap of member indices.
    uint256 public constant MAX_KEEPERS = 128;
    /// @dev Non-zero filler written into slots before their first real value (see {ProviderRecord}).
    uint128 internal constant _PLACEHOLDER = 1;
    /// @notice Basis points denominator of the shares.
    uint256 public constant BPS = 10_000;
    /// @notice Bytes per member in the `group` calldata of {pay}: `uint32 id ‖ address ‖ G1 key (128)`.
    uint256 public constant MEMBER_BYTES = 152;
    /// @notice The first field of every batch payment message (docs/encoding.md).
    /// v2: the entries carry each entry's idle set, so the message commits to it (SPEC section 3 item 5).
    string public constant BATCH_MESSAGE_TAG = "WhitePay/batch/v2";
    /// @notice Bytes per entry in the `entries` calldata of {payBatch}: `address pid ‖ uint64 ts ‖ uint64 te ‖
    /// uint256 st ‖ uint128 idle` (`abi.encodePacked`).
    uint256 public constant BATCH_ENTRY_BYTES = 84;

    // ──────────────────────────────────────────────── types ────────────────────────────────────────────────

    /// @dev Packed account parameters (one slot).
    struct Params {
        uint64 period;
        uint64 window;
        uint8 threshold;
        uint16 providerBps;
        uint16 leaderBonusBps;
        uint8 keeperCount;
    }

    /// @dev A provider's record: three slots, each written once per payment. {addProvider} makes slots 1
    /// and 2 non-zero ({_PLACEHOLDER}) so that the first payment updates them instead of creating them;
    /// their payment fields mean nothing while `lastPosition == 0` (never paid, or re-added since).
    struct ProviderRecord {
        // slot 0
        uint64 lastTe; // ts of the next payment (the block it was added, before its first payment)
        uint64 addedAt;
        uint64 lastTs;
        uint32 lastLeaderId;
        uint8 lastPosition; // 1-based; 0 = no payment since it was (re-)added
        bool active;
        // slot 1
        uint128 lastSt; // payments refuse st >= 2^128 (reason SpaceTimeTooLarge)
        uint128 lastAmount;
        // slot 2
        uint128 lastSigners;
        uint128 credit; // the provider's unwithdrawn credits (its share and the pool remainders)
    }

    /// @dev A keeper's registration.
    struct Keeper {
        address account;
        /// @dev 1-based index in `_keeperIds`; 0 = not a member.
        uint32 slot;
        /// @dev Value of `_poolPerKeeper` this keeper is not owed (set at joining, raised when excluded).
        uint128 baseline;
    }

    // ──────────────────────────────────────────────── state ────────────────────────────────────────────────

    /// @dev This contract's own address when it was constructed: the implementation, which has no user
    /// (clones run its code at their own address).
    address private immutable _self = address(this);
    uint256 internal _price;
    Params internal _params;
    /// @dev keccak256 of {group}: what `pay`'s calldata keys are checked against.
    bytes32 internal _groupCommitment;
    /// @dev Cumulative pool share per non-excluded keeper, and the sum of all unwithdrawn credits.
    uint128 internal _poolPerKeeper;
    uint128 internal _reserved;

    uint32[] internal _keeperIds;
    mapping(uint32 keeperId => Keeper) internal _keepers;
    mapping(uint32 keeperId => bytes) internal _keeperKeys;
    mapping(address account => uint32 keeperId) internal _keeperOf;
    mapping(bytes32 keyHash => bool) internal _keyUsed;

    address[] internal _providerList;
    mapping(address pid => ProviderRecord) internal _providers;

    /// @dev Settled credits other than providers' own (those are in their record): leader bonuses, settled
    /// keeper shares of removed keepers.
    mapping(address account => uint256) internal _balances;

    // ────────────────────────────────────────────── modifiers ──────────────────────────────────────────────

    modifier onlyUser() {
        if (msg.sender != _user()) revert UpkeepingUnauthorized(msg.sender);
        _;
    }

    // ──────────────────────────────────────────── shared rules ─────────────────────────────────────────────

    /// @dev The account's user: the 20-byte immutable argument {UpkeepingFactory} appended to this clone's code
    /// (an EIP-1167 clone with immutable args is 45 bytes of proxy, then the args). It is read from the code,
    /// not from storage: copying a word of the own, warm, code costs ~110 gas where a cold slot costs 2,100,
    /// and every payment reads the user (message, ranking, tid). The implementation has no user (address 0:
    /// no sender matches it); a clone without args reads zero padding, likewise.
    function _user() internal view returns (address u) {
        if (address(this) == _self) return address(0);
        assembly ("memory-safe") {
            extcodecopy(address(), 0x00, 0x2d, 0x20)
            u := shr(96, mload(0x00))
        }
    }

    /// @dev Configured threshold, or f + 1 with f = floor((n - 1) / 3) when 0 (1 for an empty group).
    function _effectiveThreshold(uint8 configured, uint256 n) internal pure returns (uint256) {
        if (configured != 0) return configured;
        return n == 0 ? 1 : (n - 1) / 3 + 1;
    }

    /// @dev SPEC section 8: a configured threshold is held within [f + 1, n] for the group of `n` members
    /// (f = floor((n - 1) / 3)); 0 (the default f + 1) always is. Reverts with {UpkeepingThresholdOutOfRange}
    /// otherwise — also for a non-zero threshold with no members, whose range [1, 0] is empty. Checked by
    /// every change of the threshold or of n ({_setConfig}, {UpkeepingGroup-addKeeper},
    /// {UpkeepingGroup-removeKeeper}), so a payment can always gather enough signers.
    function _checkThreshold(uint8 configured, uint256 n) internal pure {
        if (configured == 0) return;
        uint256 min = n == 0 ? 1 : (n - 1) / 3 + 1;
        if (configured < min || configured > n) revert UpkeepingThresholdOutOfRange(configured, min, n);
    }

    /// @dev Position i = floor((te - ts - H) / T) mod n + 1; 0 when te < ts + H (no leader yet).
    function _windowPosition(uint64 ts, uint64 te, uint64 period, uint64 window, uint256 n)
        internal
        pure
        returns (uint256)
    {
        if (n == 0 || uint256(te) < uint256(ts) + period) return 0;
        return ((uint256(te) - ts - period) / window) % n + 1;
    }

    /// @dev h_k = keccak256(abi.encode(user, pid, ts, keeperId)) as uint256.
    function _rankHash(address u, address pid, uint64 ts, uint32 keeperId) internal pure returns (uint256 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, u)
            mstore(add(ptr, 0x20), pid)
            mstore(add(ptr, 0x40), ts)
            mstore(add(ptr, 0x60), keeperId)
            h := keccak256(ptr, 0x80)
        }
    }

    /// @dev tid = first 31 bytes of keccak256(abi.encode(ts, te, pid, user, leaderId)) ‖ position.
    function _tid(uint64 ts, uint64 te, address pid, address u, uint32 leaderId, uint256 position)
        internal
        pure
        returns (bytes32 t)
    {
        // abi.encode in scratch memory past the free pointer (not allocated: a batch computes one per entry).
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, ts)
            mstore(add(ptr, 0x20), te)
            mstore(add(ptr, 0x40), pid)
            mstore(add(ptr, 0x60), u)
            mstore(add(ptr, 0x80), leaderId)
            t := or(and(keccak256(ptr, 0xa0), not(0xff)), and(position, 0xff))
        }
    }

    /// @dev The id of member `i` of the calldata group.
    function _memberId(bytes calldata g, uint256 i) internal pure returns (uint32 id) {
        assembly ("memory-safe") {
            id := shr(224, calldataload(add(g.offset, mul(i, MEMBER_BYTES))))
        }
    }
}
