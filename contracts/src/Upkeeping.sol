// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";
import {BLS12381} from "./BLS12381.sol";

/**
 * @title Upkeeping
 * @notice One user's storage upkeep account (SPEC section 8): the user funds it, names its keeper group
 * (each keeper with a BLS12-381 public key proven by a proof of possession) and its providers; the keeper
 * leading a payment window submits `pay` with the group's aggregate BLS signature over the payment message,
 * and the amount is credited to the provider and the keepers, who withdraw it (pull payments).
 *
 * Deployed as an EIP-1167 clone by {UpkeepingFactory}; {initialize} replaces the constructor.
 *
 * Gas: `pay` takes the group's keys in calldata (`group`, 152 bytes per member: `uint32 id ‖ address ‖
 * 128-byte G1 key`) checked against one stored commitment, so it reads no per-keeper storage. Keepers'
 * pool shares accrue through a per-keeper accumulator, so a payment writes only the provider's record
 * (three slots, its credit included), one accumulator slot and, for each keeper excluded from this payment,
 * its baseline. Every one of these slots is made non-zero before the first payment ({initialize},
 * {addKeeper}, {addProvider}), so a payment only updates slots (~2.9k gas each) and never creates one
 * (~22.1k): the first payment of a provider costs what a later one does, and the user pays the slot
 * creation once, at registration.
 */
contract Upkeeping is Initializable {
    // ───────────────────────────────────────────── constants ─────────────────────────────────────────────

    /// @notice Domain separation tag of payment signatures (the POP ciphersuite's signature DST).
    bytes public constant SIGNATURE_DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
    /// @notice Domain separation tag of proofs of possession.
    bytes public constant POP_DST = "BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
    /// @notice Largest group: signer sets are stored as a 128-bit bitmap of member indices.
    uint256 public constant MAX_KEEPERS = 128;
    /// @dev Non-zero filler written into slots before their first real value (see {ProviderRecord}).
    uint128 private constant _PLACEHOLDER = 1;
    /// @notice Basis points denominator of the shares.
    uint256 public constant BPS = 10_000;
    /// @notice Bytes per member in the `group` calldata of {pay}: `uint32 id ‖ address ‖ G1 key (128)`.
    uint256 public constant MEMBER_BYTES = 152;
    /// @notice The first field of every batch payment message (docs/encoding.md).
    string public constant BATCH_MESSAGE_TAG = "WhitePay/batch/v1";
    /// @notice Bytes per entry in the `entries` calldata of {payBatch}: `address pid ‖ uint64 ts ‖ uint64 te ‖
    /// uint256 st` (`abi.encodePacked`).
    uint256 public constant BATCH_ENTRY_BYTES = 68;

    // ─────────────────────────────────────────────── types ───────────────────────────────────────────────

    /// @notice Parameters of an account, set at creation and changeable by the user.
    struct Config {
        /// @dev wei per byte·block scaled by 1e18: `amount = st * price / 1e18`.
        uint256 price;
        /// @dev Payment period H in blocks: no leader while `te < ts + H`.
        uint64 period;
        /// @dev Leader window T in blocks (> 0).
        uint64 window;
        /// @dev Minimum signers; 0 means the default f + 1 with f = floor((n - 1) / 3).
        uint8 threshold;
        /// @dev Provider share in basis points (9000 = the SPEC's 90%).
        uint16 providerBps;
        /// @dev Bonus for the paying keeper in basis points (0 by default; the note's alternative is 100).
        uint16 leaderBonusBps;
    }

    /// @notice The last payment of a provider (and its current interval start).
    struct Payment {
        uint64 ts;
        uint64 te;
        uint256 st;
        uint256 amount;
        bytes32 tid;
        uint32 leaderId;
        uint8 position;
        /// @dev Bit i set = member index i (in {group} order at payment time) signed.
        uint256 signers;
    }

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

    /// @notice Why an entry cannot be paid: the one list of reasons of every payment. {payBatch} skips the
    /// entry with {PaymentSkipped} and this reason; {pay} (a list of one) reverts with
    /// {UpkeepingPaymentRefused} and the same reason. Values are part of the ABI (docs/encoding.md).
    enum PaymentSkipReason {
        /// @dev Not (or no longer) a registered provider.
        UnknownProvider,
        /// @dev `ts` is not the provider's last `te`: replayed, or already paid earlier in the batch.
        IntervalNotContiguous,
        /// @dev `te <= ts`.
        IntervalEmpty,
        /// @dev `te > block.number`.
        IntervalInFuture,
        /// @dev The leader's rank for this entry is not the position of the window holding `te`.
        NotLeaderWindow,
        /// @dev `st >= 2^128`.
        SpaceTimeTooLarge,
        /// @dev The unreserved balance left after the entries before it does not cover the amount (also when
        /// `st * price` overflows 256 bits: such an amount exceeds any balance).
        InsufficientFunds
    }

    /// @dev Working state of one {payBatch}, in memory (one word each, no stack pressure).
    struct Batch {
        address user;
        uint32 leaderId;
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
    }

    /// @dev A keeper's registration.
    struct Keeper {
        address account;
        /// @dev 1-based index in `_keeperIds`; 0 = not a member.
        uint32 slot;
        /// @dev Value of `_poolPerKeeper` this keeper is not owed (set at joining, raised when excluded).
        uint128 baseline;
    }

    // ─────────────────────────────────────────────── state ───────────────────────────────────────────────

    address private _user;
    uint256 private _price;
    Params private _params;
    /// @dev keccak256 of {group}: what `pay`'s calldata keys are checked against.
    bytes32 private _groupCommitment;
    /// @dev Cumulative pool share per non-excluded keeper, and the sum of all unwithdrawn credits.
    uint128 private _poolPerKeeper;
    uint128 private _reserved;

    uint32[] private _keeperIds;
    mapping(uint32 keeperId => Keeper) private _keepers;
    mapping(uint32 keeperId => bytes) private _keeperKeys;
    mapping(address account => uint32 keeperId) private _keeperOf;
    mapping(bytes32 keyHash => bool) private _keyUsed;

    /// @dev Bytes of one provider in {providerStates}: pid (20), nextTs (8), active (1).
    uint256 private constant PROVIDER_STATE_BYTES = 29;

    address[] private _providerList;
    mapping(address pid => ProviderRecord) private _providers;

    /// @dev Settled credits other than providers' own (those are in their record): leader bonuses, settled
    /// keeper shares of removed keepers.
    mapping(address account => uint256) private _balances;

    // ─────────────────────────────────────────────── events ──────────────────────────────────────────────

    /// @notice `from` added `amount` wei to the account.
    event Funded(address indexed from, uint256 amount);
    /// @notice The user took `amount` wei of the unreserved balance back.
    event Defunded(address indexed to, uint256 amount);
    /// @notice A keeper joined the group (its proof of possession verified).
    event KeeperAdded(uint32 indexed keeperId, address indexed account, bytes publicKey);
    /// @notice A keeper left the group (its accrued shares were settled into its balance).
    event KeeperRemoved(uint32 indexed keeperId, address indexed account);
    /// @notice A provider was added; its first payment interval starts at `startBlock`.
    event ProviderAdded(address indexed pid, uint64 startBlock);
    /// @notice A provider was removed.
    event ProviderRemoved(address indexed pid);
    /// @notice The parameters were set (at creation and on every change).
    event ConfigChanged(uint256 price, uint64 period, uint64 window, uint8 threshold, uint16 providerBps, uint16 leaderBonusBps);
    /// @notice One payment: `amount` for `st` byte·blocks over `[ts, te)`, split into `providerAmount`, the
    /// leader's `bonus` and `keeperShare` for each of the keepers not excluded (`excluded` = how many were
    /// ranked ahead of the leader).
    event PaymentMade(
        address indexed pid,
        uint32 indexed leaderId,
        bytes32 indexed tid,
        uint64 ts,
        uint64 te,
        uint256 st,
        uint256 amount,
        uint256 providerAmount,
        uint256 bonus,
        uint256 keeperShare,
        uint8 position,
        uint8 excluded,
        uint256 signers
    );
    /// @notice {payBatch} skipped one entry (nothing was paid or recorded for it) for `reason`.
    event PaymentSkipped(address indexed pid, uint64 ts, uint64 te, PaymentSkipReason reason);
    /// @notice One {payBatch} by `leaderId` over the entries hashing to `entriesHash`: `paid` entries paid
    /// (each with its own {PaymentMade}) for `amount` in all, `skipped` skipped (each with {PaymentSkipped}).
    event BatchSettled(
        uint32 indexed leaderId, bytes32 indexed entriesHash, uint256 paid, uint256 skipped, uint256 amount
    );
    /// @notice `account` withdrew `amount` wei of its credits.
    event Withdrawn(address indexed account, uint256 amount);

    // ─────────────────────────────────────────────── errors ──────────────────────────────────────────────

    /// @notice Only the user (owner) of this account may call.
    error UpkeepingUnauthorized(address caller);
    /// @notice A parameter is out of range (`window` zero, shares above 100%).
    error UpkeepingInvalidConfig();
    /// @notice The provider is not (or no longer) registered.
    error UpkeepingUnknownProvider(address pid);
    /// @notice The provider is already registered.
    error UpkeepingDuplicateProvider(address pid);
    /// @notice The keys passed in calldata are not the registered group.
    error UpkeepingGroupMismatch(bytes32 given, bytes32 registered);
    /// @notice No member has this keeper id.
    error UpkeepingUnknownKeeper(uint32 keeperId);
    /// @notice The sender is not the account of the keeper named as leader.
    error UpkeepingSenderNotLeader(address sender, address leader);
    /// @notice Fewer signers than the threshold.
    error UpkeepingTooFewSigners(uint256 signers, uint256 threshold);
    /// @notice Signer indices must be strictly increasing: this one repeats (or goes back).
    error UpkeepingDuplicateSigner(uint256 index);
    /// @notice A signer index is not a member index.
    error UpkeepingUnknownSigner(uint256 index);
    /// @notice The aggregate signature does not verify (or is not a valid G2 point).
    error UpkeepingInvalidSignature();
    /// @notice {pay} cannot pay its entry, for the `reason` {payBatch} would skip it with (the same enum
    /// names both; see {PaymentSkipReason}).
    error UpkeepingPaymentRefused(address pid, uint64 ts, uint64 te, PaymentSkipReason reason);
    /// @notice The unreserved balance does not cover the amount ({defund}).
    error UpkeepingInsufficientFunds(uint256 available, uint256 amount);
    /// @notice The proof of possession does not verify for this key (or the key is not a valid G1 point).
    error UpkeepingInvalidProofOfPossession(uint32 keeperId);
    /// @notice The keeper id is taken.
    error UpkeepingDuplicateKeeperId(uint32 keeperId);
    /// @notice The public key is already registered.
    error UpkeepingDuplicateKey(uint32 keeperId);
    /// @notice The account already runs a keeper in this group.
    error UpkeepingDuplicateKeeperAccount(address account);
    /// @notice The group is full ({MAX_KEEPERS}).
    error UpkeepingTooManyKeepers();
    /// @notice Nothing to withdraw.
    error UpkeepingNothingToWithdraw(address account);
    /// @notice The `entries` of {payBatch} are empty or not a whole number of {BATCH_ENTRY_BYTES} entries.
    error UpkeepingInvalidBatch(uint256 length);
    /// @notice Sending ether failed.
    error UpkeepingTransferFailed(address to, uint256 amount);

    // ──────────────────────────────────────────── modifiers ──────────────────────────────────────────────

    modifier onlyUser() {
        if (msg.sender != _user) revert UpkeepingUnauthorized(msg.sender);
        _;
    }

    // ───────────────────────────────────────── initialization ────────────────────────────────────────────

    /// @dev The implementation itself is never used directly.
    constructor() {
        _disableInitializers();
    }

    /**
     * @notice Sets the account's user (owner) and parameters. Called once by the factory in the clone's
     * creation transaction.
     */
    function initialize(address owner, Config calldata initialConfig) external initializer {
        _user = owner;
        _setConfig(initialConfig);
        _groupCommitment = keccak256("");
        // The accumulator starts at 1, not 0: its slot (shared with `_reserved`) is then non-zero before the
        // first payment, which updates it instead of creating it. Keepers are owed `_poolPerKeeper` minus
        // their baseline (set to the accumulator when they join), so the starting value cancels out.
        _poolPerKeeper = _PLACEHOLDER;
    }

    // ─────────────────────────────────────────── user actions ────────────────────────────────────────────

    /// @notice Funds the account with native ether (anyone may fund).
    function fund() external payable {
        emit Funded(msg.sender, msg.value);
    }

    receive() external payable {
        emit Funded(msg.sender, msg.value);
    }

    /// @notice Sends `amount` of the unreserved balance back to the user.
    function defund(uint256 amount) external onlyUser {
        uint256 available = unreservedBalance();
        if (amount > available) revert UpkeepingInsufficientFunds(available, amount);
        emit Defunded(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @notice Changes the parameters (price, H, T, threshold, shares).
    function setConfig(Config calldata newConfig) external onlyUser {
        _setConfig(newConfig);
    }

    /**
     * @notice Adds a keeper. `publicKey` is its G1 key in EIP-2537 form (128 bytes); `proofOfPossession`
     * its BLS signature (G2, 256 bytes) with DST {POP_DST} over the 48-byte compressed key, verified here.
     */
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

    /**
     * @notice Removes a keeper; its accrued pool shares are settled into its balance. The last member takes
     * its index (member indices of later payments change accordingly).
     */
    function removeKeeper(uint32 keeperId) external onlyUser {
        Keeper memory k = _keepers[keeperId];
        if (k.slot == 0) revert UpkeepingUnknownKeeper(keeperId);
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

    /**
     * @notice Adds a provider: its first payment interval starts at the current block.
     * @dev Also creates the provider's two payment slots with a non-zero placeholder (~44k gas here, once),
     * so that its first payment, like every later one, only updates them: the first `pay` with 7 keepers
     * costs ~255k gas instead of ~328k. Re-adding a removed provider keeps its credit
     * and clears its last payment (`lastPayment` is empty until it is paid again).
     */
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

    /// @notice Removes a provider: no further payments (its credited balance stays withdrawable).
    function removeProvider(address pid) external onlyUser {
        ProviderRecord storage p = _providers[pid];
        if (!p.active) revert UpkeepingUnknownProvider(pid);
        p.active = false;
        emit ProviderRemoved(pid);
    }

    // ────────────────────────────────────────────── payment ──────────────────────────────────────────────

    /**
     * @notice Pays provider `pid` for `st` byte·blocks over `[ts, te)`: a {payBatch} of this one entry. It
     * verifies the same signed message (the batch message over `abi.encodePacked(pid, ts, te, st)`), runs the
     * same entry checks, split and records, and emits the same events ({PaymentMade}, then {BatchSettled});
     * where {payBatch} would skip the entry it reverts with {UpkeepingPaymentRefused} and the same reason.
     * @param pid the provider (its payout address).
     * @param ts start of the interval: must be the end of the provider's last payment.
     * @param te end of the interval, `ts < te <= block.number`.
     * @param st the agreed space-time value.
     * @param leaderId the paying keeper; the sender must be its account and its rank in
     * `keccak256(abi.encode(user, pid, ts, keeperId))` order must be the position of the window holding `te`.
     * @param group_ the registered group, as returned by {group} (checked against the stored commitment).
     * @param signers strictly increasing member indices (into `group`) of the keepers that signed.
     * @param signature the aggregate BLS signature (G2, EIP-2537 form, 256 bytes) of the signers over the
     * batch message of the one entry, `abi.encode("WhitePay/batch/v1", chainid, this, user, leaderId,
     * keccak256(abi.encodePacked(pid, ts, te, st)))`.
     */
    function pay(
        address pid,
        uint64 ts,
        uint64 te,
        uint256 st,
        uint32 leaderId,
        bytes calldata group_,
        uint8[] calldata signers,
        bytes calldata signature
    ) external {
        bytes32 entriesHash = keccak256(abi.encodePacked(pid, ts, te, st));
        Batch memory b = _openBatch(group_, leaderId, signers, signature, entriesHash);
        (bool ok, PaymentSkipReason reason) = _settleEntry(b, pid, ts, te, st);
        if (!ok) revert UpkeepingPaymentRefused(pid, ts, te, reason);
        _closeBatch(b, entriesHash, 1);
    }

    /**
     * @notice Pays many providers in one transaction, under one aggregate signature (the "Scale" batch).
     * Every entry is checked on its own — provider active, `ts` its last `te`, `ts < te <= block.number`,
     * `st < 2^128`, the leader's rank for `(user, pid, ts)` equal to the position of the window holding `te`,
     * the amount covered by what is left of the unreserved balance — and an entry that fails a check is
     * skipped with {PaymentSkipped} and its reason, not reverted on ({pay}, a list of one, reverts with that
     * reason instead). Each paid entry is split and recorded (the keepers ranked ahead of the leader for that
     * entry are excluded from its pool) and emits {PaymentMade}; the batch ends with {BatchSettled}.
     *
     * Reverts only for the batch as a whole: malformed `entries`, a group that is not the registered one, an
     * unknown leader, a sender that is not the leader's account, a bad signer list, an invalid signature.
     * Funds are checked per entry in order: an entry the remaining balance does not cover is skipped
     * (`InsufficientFunds`), so an underfunded account still pays the entries it can.
     *
     * @param entries per entry `abi.encodePacked(address pid, uint64 ts, uint64 te, uint256 st)` (68 bytes),
     * concatenated; a provider may appear more than once with consecutive intervals, in order.
     * @param leaderId the keeper leading every entry; the sender must be its account.
     * @param group_ the registered group, as returned by {group}.
     * @param signers strictly increasing member indices of the keepers that signed.
     * @param signature the signers' aggregate BLS signature over the batch message
     * `abi.encode("WhitePay/batch/v1", chainid, this, user, leaderId, keccak256(entries))`.
     * @return paid the number of entries paid.
     */
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
            (address pid, uint64 ts, uint64 te, uint256 st) = _entryAt(entries, i * BATCH_ENTRY_BYTES);
            (bool ok, PaymentSkipReason reason) = _settleEntry(b, pid, ts, te, st);
            if (!ok) emit PaymentSkipped(pid, ts, te, reason);
        }
        paid = _closeBatch(b, entriesHash, count);
    }

    // ───────────────────────────────────────────── withdrawal ────────────────────────────────────────────

    /// @notice Sends the caller its whole balance (settled credits plus accrued keeper shares).
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

    // ─────────────────────────────────────────────── views ───────────────────────────────────────────────

    /// @notice The user (owner) of this account.
    function user() external view returns (address) {
        return _user;
    }

    /// @notice The current parameters (threshold as configured: 0 = default f + 1).
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

    /// @notice The number of signers a payment needs now.
    function threshold() external view returns (uint256) {
        return _effectiveThreshold(_params.threshold, _keeperIds.length);
    }

    /// @notice The members in index order: ids, accounts, G1 keys (EIP-2537 form).
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

    /// @notice The group as {pay} takes it: per member `uint32 id ‖ address ‖ key (128 bytes)`, index order.
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

    /// @notice keccak256 of {group}.
    function groupCommitment() external view returns (bytes32) {
        return _groupCommitment;
    }

    /// @notice The providers ever added (removed ones included; see {provider}).
    function providers() external view returns (address[] memory) {
        return _providerList;
    }

    /**
     * @notice A page of {providers} with each provider's state: up to `count` providers from index `start`
     * (fewer at the end of the list, none past it), and the length of the whole list. Each provider is
     * 29 packed bytes: `address pid ‖ uint64 nextTs ‖ uint8 active` (docs/encoding.md). Keepers following
     * thousands of providers read the list in a few calls instead of one {provider} call per provider,
     * and decode it without ABI-decoding (checksumming) thousands of addresses.
     */
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

    /// @notice A provider's state: whether it is active, the block it was added, and the `ts` its next
    /// payment must carry.
    function provider(address pid) external view returns (bool active, uint64 addedAt, uint64 nextTs) {
        ProviderRecord storage p = _providers[pid];
        return (p.active, p.addedAt, p.lastTe);
    }

    /// @notice The last payment of a provider (all zero before the first).
    function lastPayment(address pid) external view returns (Payment memory payment) {
        ProviderRecord storage p = _providers[pid];
        if (p.lastPosition == 0) return payment; // positions are 1-based: 0 = never paid
        payment = Payment({
            ts: p.lastTs,
            te: p.lastTe,
            st: p.lastSt,
            amount: p.lastAmount,
            tid: _tid(p.lastTs, p.lastTe, pid, _user, p.lastLeaderId, p.lastPosition),
            leaderId: p.lastLeaderId,
            position: p.lastPosition,
            signers: p.lastSigners
        });
    }

    /// @notice What `account` can withdraw now.
    function balanceOf(address account) public view returns (uint256 amount) {
        amount = _balances[account] + _providers[account].credit;
        Keeper storage k = _keepers[_keeperOf[account]];
        if (k.slot != 0 && k.account == account) amount += _poolPerKeeper - k.baseline;
    }

    /// @notice Sum of all credits not yet withdrawn.
    function reserved() external view returns (uint256) {
        return _reserved;
    }

    /// @notice The balance available for new payments.
    function unreservedBalance() public view returns (uint256) {
        return address(this).balance - _reserved;
    }

    /// @notice Keeper ids in rank order for `(pid, ts)`: position 1 first (operators' schedule).
    function leaderSchedule(address pid, uint64 ts) external view returns (uint32[] memory ids) {
        uint256 n = _keeperIds.length;
        ids = new uint32[](n);
        uint256[] memory hashes = new uint256[](n);
        address u = _user;
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

    /// @notice The position (1-based) allowed to lead a payment `[ts, te)`, 0 while `te < ts + H`.
    function leaderPosition(uint64 ts, uint64 te) external view returns (uint256) {
        Params memory p = _params;
        return _windowPosition(ts, te, p.period, p.window, p.keeperCount);
    }

    /// @notice The batch message {payBatch} verifies for `entries` led by `leaderId` (docs/encoding.md).
    function batchMessage(uint32 leaderId, bytes calldata entries) external view returns (bytes memory) {
        return abi.encode(BATCH_MESSAGE_TAG, block.chainid, address(this), _user, leaderId, keccak256(entries));
    }

    // ───────────────────────────────────────────── internals ─────────────────────────────────────────────

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
        address leaderAccount = _findMember(g, n, leaderId);
        if (msg.sender != leaderAccount) revert UpkeepingSenderNotLeader(msg.sender, leaderAccount);
        b.signerBits = _checkSigners(signers, n, _effectiveThreshold(params.threshold, n));
        b.user = _user;
        bytes memory message =
            abi.encode(BATCH_MESSAGE_TAG, block.chainid, address(this), b.user, leaderId, entriesHash);
        if (!_verifyAggregate(g, signers, message, signature)) revert UpkeepingInvalidSignature();
        b.leaderId = leaderId;
        b.n = n;
        b.period = params.period;
        b.window = params.window;
        b.providerBps = params.providerBps;
        b.leaderBonusBps = params.leaderBonusBps;
        b.price = _price;
        b.available = address(this).balance - _reserved;
        b.ids = new uint32[](n);
        b.excludedShares = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            b.ids[i] = _memberId(g, i);
        }
    }

    /**
     * @dev Writes what the paid entries of `b` owe, once for the list: the keepers' accumulator, excluded
     * keepers' baselines, the leader's bonus and the reserve; emits {BatchSettled} for `count` entries.
     * All sums are bounded by `available`, i.e. by this contract's balance, far below 2^128 wei, so the
     * uint128 casts hold; an excluded keeper's sum is at most `totalShare`, so its baseline stays at most the
     * accumulator.
     */
    function _closeBatch(Batch memory b, bytes32 entriesHash, uint256 count) private returns (uint256 paid) {
        if (b.totalShare != 0) {
            _poolPerKeeper += uint128(b.totalShare);
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

    /// @dev The entry at byte `offset` of packed `entries` (`address ‖ uint64 ‖ uint64 ‖ uint256`).
    function _entryAt(bytes calldata entries, uint256 offset)
        private
        pure
        returns (address pid, uint64 ts, uint64 te, uint256 st)
    {
        assembly ("memory-safe") {
            let p := add(entries.offset, offset)
            pid := shr(96, calldataload(p))
            ts := shr(192, calldataload(add(p, 20)))
            te := shr(192, calldataload(add(p, 28)))
            st := calldataload(add(p, 36))
        }
    }

    /**
     * @dev The one entry checker of every payment. Checks the entry, and when it passes splits and records it
     * and emits {PaymentMade} (`ok`); else returns the reason it cannot be paid and changes nothing. The
     * caller skips ({payBatch}) or reverts ({pay}) with that reason.
     */
    function _settleEntry(Batch memory b, address pid, uint64 ts, uint64 te, uint256 st)
        private
        returns (bool ok, PaymentSkipReason reason)
    {
        ProviderRecord storage rec = _providers[pid];
        if (!rec.active) return (false, PaymentSkipReason.UnknownProvider);
        if (ts != rec.lastTe) return (false, PaymentSkipReason.IntervalNotContiguous);
        if (te <= ts) return (false, PaymentSkipReason.IntervalEmpty);
        if (te > block.number) return (false, PaymentSkipReason.IntervalInFuture);
        if (st > type(uint128).max) return (false, PaymentSkipReason.SpaceTimeTooLarge);

        // The leader's rank for this entry: 1 + the members hashing below it; they are the excluded ones.
        (, uint256 excluded) = _rankOf(b, pid, ts, 0);
        uint256 position = _windowPosition(ts, te, b.period, b.window, b.n);
        if (excluded + 1 != position) return (false, PaymentSkipReason.NotLeaderWindow);

        // st < 2^128, so st * price only overflows for a price of 2^128 or more, and then the amount
        // would exceed any balance: skip it as unfunded rather than revert the batch.
        if (b.price != 0 && st > type(uint256).max / b.price) {
            return (false, PaymentSkipReason.InsufficientFunds);
        }
        uint256 amount = st * b.price / 1e18;
        if (amount > b.available) return (false, PaymentSkipReason.InsufficientFunds);

        // Split as in {pay}: shares sum to at most BPS (_setConfig), and `n - excluded >= 1` (the leader
        // itself is not excluded), so nothing underflows or divides by zero.
        uint256 providerAmount = amount * b.providerBps / BPS;
        uint256 bonus = amount * b.leaderBonusBps / BPS;
        uint256 pool = amount - providerAmount - bonus;
        uint256 share = pool / (b.n - excluded);
        providerAmount += pool % (b.n - excluded);
        unchecked {
            // amount <= available was checked just above. The sums are bounded by the balance taken at the
            // start, far below 2^256, as is `paid` by the number of entries.
            b.available -= amount;
            b.total += amount;
            b.totalShare += share;
            b.totalBonus += bonus;
            ++b.paid;
        }
        if (excluded != 0 && share != 0) _rankOf(b, pid, ts, share);

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
            uint8(excluded),
            b.signerBits
        );
        ok = true;
    }

    /**
     * @dev The leader's rank hash for `(user, pid, ts)` and how many members hash below it. With a non-zero
     * `share`, also adds `share` to the batch's excluded sum of each of those members. Hashes as
     * {_rankHash}, with the first three words written once for all members.
     */
    function _rankOf(Batch memory b, address pid, uint64 ts, uint256 share)
        private
        pure
        returns (uint256 leaderHash, uint256 excluded)
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
            leaderHash := keccak256(ptr, 0x80)
            let n := mload(ids)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                mstore(add(ptr, 0x60), mload(add(add(ids, 0x20), shl(5, i))))
                if lt(keccak256(ptr, 0x80), leaderHash) {
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

    function _setConfig(Config calldata c) private {
        if (c.window == 0 || uint256(c.providerBps) + c.leaderBonusBps > BPS || c.threshold > MAX_KEEPERS) {
            revert UpkeepingInvalidConfig();
        }
        _price = c.price;
        Params storage p = _params;
        p.period = c.period;
        p.window = c.window;
        p.threshold = c.threshold;
        p.providerBps = c.providerBps;
        p.leaderBonusBps = c.leaderBonusBps;
        emit ConfigChanged(c.price, c.period, c.window, c.threshold, c.providerBps, c.leaderBonusBps);
    }

    /// @dev Configured threshold, or f + 1 with f = floor((n - 1) / 3) when 0 (1 for an empty group).
    function _effectiveThreshold(uint8 configured, uint256 n) private pure returns (uint256) {
        if (configured != 0) return configured;
        return n == 0 ? 1 : (n - 1) / 3 + 1;
    }

    /// @dev Position i = floor((te - ts - H) / T) mod n + 1; 0 when te < ts + H (no leader yet).
    function _windowPosition(uint64 ts, uint64 te, uint64 period, uint64 window, uint256 n)
        private
        pure
        returns (uint256)
    {
        if (n == 0 || uint256(te) < uint256(ts) + period) return 0;
        return ((uint256(te) - ts - period) / window) % n + 1;
    }

    /// @dev h_k = keccak256(abi.encode(user, pid, ts, keeperId)) as uint256.
    function _rankHash(address u, address pid, uint64 ts, uint32 keeperId) private pure returns (uint256 h) {
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
        private
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
    function _memberId(bytes calldata g, uint256 i) private pure returns (uint32 id) {
        assembly ("memory-safe") {
            id := shr(224, calldataload(add(g.offset, mul(i, MEMBER_BYTES))))
        }
    }

    /// @dev Account of the member with id `keeperId` in the calldata group.
    function _findMember(bytes calldata g, uint256 n, uint32 keeperId) private pure returns (address account) {
        for (uint256 i = 0; i < n; ++i) {
            if (_memberId(g, i) == keeperId) {
                assembly ("memory-safe") {
                    account := shr(96, calldataload(add(add(g.offset, mul(i, MEMBER_BYTES)), 4)))
                }
                return account;
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
        bytes memory aggregate = new bytes(128);
        bool infinity;
        assembly ("memory-safe") {
            let src := add(buf, 0x20)
            let dst := add(aggregate, 0x20)
            mcopy(dst, src, 128)
            infinity := iszero(or(or(mload(dst), mload(add(dst, 0x20))), or(mload(add(dst, 0x40)), mload(add(dst, 0x60)))))
        }
        // Keys are proven by possession, so an identity aggregate cannot arise honestly; refuse it anyway.
        if (infinity) return false;
        return BLS12381.verify(aggregate, BLS12381.hashToG2(message, SIGNATURE_DST), signature);
    }

    /// @dev Proof of possession: a valid signature with {POP_DST} over the compressed key. The pairing
    /// precompile also rejects a key that is not on the curve or not in the G1 subgroup.
    function _verifyPossession(bytes calldata publicKey, bytes calldata proof) private view returns (bool) {
        if (publicKey.length != 128 || proof.length != 256) return false;
        bytes memory pk = publicKey;
        bool infinity;
        assembly ("memory-safe") {
            let p := add(pk, 0x20)
            infinity := iszero(or(or(mload(p), mload(add(p, 0x20))), or(mload(add(p, 0x40)), mload(add(p, 0x60)))))
        }
        if (infinity) return false;
        return BLS12381.verify(pk, BLS12381.hashToG2(BLS12381.compressG1(pk), POP_DST), proof);
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert UpkeepingTransferFailed(to, amount);
    }
}
