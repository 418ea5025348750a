// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/**
 * @title IUpkeeping
 * @notice The interface of one user's storage upkeep account (SPEC section 8): its types, events, errors and
 * external functions. {Upkeeping} implements it from abstract modules by concern (contracts/README.md).
 * The public constants (`SIGNATURE_DST`, `POP_DST`, `MAX_KEEPERS`, `BPS`, `MEMBER_BYTES`, `BATCH_MESSAGE_TAG`,
 * `BATCH_ENTRY_BYTES`) are declared with the layout, in {UpkeepingStorage}.
 */
interface IUpkeeping {
    // ──────────────────────────────────────────────── types ────────────────────────────────────────────────

    /// @notice Parameters of an account, set at creation and changeable by the user.
    struct Config {
        /// @dev wei per byte·block scaled by 1e18: `amount = st * price / 1e18`.
        uint256 price;
        /// @dev Payment period H in blocks: no leader while `te < ts + H`.
        uint64 period;
        /// @dev Leader window T in blocks (> 0).
        uint64 window;
        /// @dev Minimum signers; 0 means the default f + 1 with f = floor((n - 1) / 3). Otherwise it must lie
        /// in [f + 1, n] for the current group ({UpkeepingThresholdOutOfRange}).
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
        InsufficientFunds,
        /// @dev The entry's idle set names a member index at or above the group size (a bit `>= n` is set).
        IdleSetInvalid
    }

    // ─────────────────────────────────────────────── events ────────────────────────────────────────────────

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
    /// leader's `bonus` and `keeperShare` for each of the keepers not excluded. Excluded are the failed
    /// keepers (`excluded` = how many were ranked ahead of the leader) and the idle set `idle` (bit i = member
    /// index i, in {group} order at payment time, like `signers`; always `< 2^n`, so it fits 128 bits, but is
    /// a word like `signers`), each counted once. An idle leader gets no share and no bonus (`bonus` is then
    /// 0: the withheld bonus went into the pool, i.e. into `keeperShare`); with no keeper left to share,
    /// `keeperShare` is 0 and the whole pool is in `providerAmount`.
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
        uint256 signers,
        uint256 idle
    );
    /// @notice {payBatch} skipped one entry (nothing was paid or recorded for it) for `reason`.
    event PaymentSkipped(address indexed pid, uint64 ts, uint64 te, PaymentSkipReason reason);
    /// @notice One payment list by `leaderId` over the entries hashing to `entriesHash` ({payBatch}, or {pay}
    /// with `paid` 1 and `skipped` 0): `paid` entries paid (each with its own {PaymentMade}) for `amount` in
    /// all, `skipped` skipped (each with {PaymentSkipped}).
    event BatchSettled(
        uint32 indexed leaderId, bytes32 indexed entriesHash, uint256 paid, uint256 skipped, uint256 amount
    );
    /// @notice `account` withdrew `amount` wei of its credits.
    event Withdrawn(address indexed account, uint256 amount);

    // ─────────────────────────────────────────────── errors ────────────────────────────────────────────────

    /// @notice Only the user (owner) of this account may call.
    error UpkeepingUnauthorized(address caller);
    /// @notice A parameter is out of range (`window` zero, shares above 100%).
    error UpkeepingInvalidConfig();
    /// @notice A configured (non-zero) threshold must lie in `[min, max] = [f + 1, n]` for the group of `n`
    /// members, f = floor((n - 1) / 3) (SPEC section 8): refused by {setConfig} (and at creation), and by
    /// {addKeeper} / {removeKeeper} when the new `n` would leave it out of range. With no members the range is
    /// empty (`max` 0): set a threshold after adding the keepers, or keep 0 (the default f + 1).
    error UpkeepingThresholdOutOfRange(uint256 threshold, uint256 min, uint256 max);
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

    // ─────────────────────────────────────────── initialization ────────────────────────────────────────────

    /**
     * @notice Sets the account's user (owner) and parameters. Called once by the factory in the clone's
     * creation transaction.
     */
    function initialize(address owner, Config calldata initialConfig) external;

    // ──────────────────────────────────────────────── funds ────────────────────────────────────────────────

    /// @notice Funds the account with native ether (anyone may fund).
    function fund() external payable;

    /// @notice Sends `amount` of the unreserved balance back to the user.
    function defund(uint256 amount) external;

    /// @notice Sends the caller its whole balance (settled credits plus accrued keeper shares).
    function withdraw() external;

    // ─────────────────────────────────────────────── config ────────────────────────────────────────────────

    /// @notice Changes the parameters (price, H, T, threshold, shares). A non-zero threshold outside [f + 1, n]
    /// for the current group is refused ({UpkeepingThresholdOutOfRange}).
    function setConfig(Config calldata newConfig) external;

    // ──────────────────────────────────────────────── group ────────────────────────────────────────────────

    /**
     * @notice Adds a keeper. `publicKey` is its G1 key in EIP-2537 form (128 bytes); `proofOfPossession`
     * its BLS signature (G2, 256 bytes) with DST {POP_DST} over the 48-byte compressed key, verified here.
     * Refused ({UpkeepingThresholdOutOfRange}) when the configured threshold would fall below f + 1 of the
     * larger group (lower the threshold's floor first: raise it, or set 0).
     */
    function addKeeper(uint32 keeperId, address account, bytes calldata publicKey, bytes calldata proofOfPossession)
        external;

    /**
     * @notice Removes a keeper; its accrued pool shares are settled into its balance. The last member takes
     * its index (member indices of later payments change accordingly). Refused
     * ({UpkeepingThresholdOutOfRange}) when the configured threshold would exceed the smaller group.
     */
    function removeKeeper(uint32 keeperId) external;

    // ────────────────────────────────────────────── providers ──────────────────────────────────────────────

    /**
     * @notice Adds a provider: its first payment interval starts at the current block.
     * @dev Also creates the provider's two payment slots with a non-zero placeholder (~44k gas here, once),
     * so that its first payment, like every later one, only updates them (a first payment of one with 7
     * keepers costs ~258k gas instead of ~332k). Re-adding a removed provider keeps its credit and clears its
     * last payment (`lastPayment` is empty until it is paid again).
     */
    function addProvider(address pid) external;

    /// @notice Removes a provider: no further payments (its credited balance stays withdrawable).
    function removeProvider(address pid) external;

    // ────────────────────────────────────────────── payments ───────────────────────────────────────────────

    /**
     * @notice Pays provider `pid` for `st` byte·blocks over `[ts, te)`: a {payBatch} of this one entry. It
     * verifies the same signed message (the batch message over `abi.encodePacked(pid, ts, te, st, idle)`), runs the
     * same entry checks, split and records, and emits the same events ({PaymentMade}, then {BatchSettled});
     * where {payBatch} would skip the entry it reverts with {UpkeepingPaymentRefused} and the same reason.
     * @param pid the provider (its payout address).
     * @param ts start of the interval: must be the end of the provider's last payment.
     * @param te end of the interval, `ts < te <= block.number`.
     * @param st the agreed space-time value.
     * @param idle the entry's idle set: bit i = member index i (into `group`, as `signers`) did not challenge
     * and gets no share (SPEC section 3 item 5); every bit must be below the group size (else
     * `IdleSetInvalid`).
     * @param leaderId the paying keeper; the sender must be its account and its rank in
     * `keccak256(abi.encode(user, pid, ts, keeperId))` order must be the position of the window holding `te`.
     * @param group_ the registered group, as returned by {group} (checked against the stored commitment).
     * @param signers strictly increasing member indices (into `group`) of the keepers that signed.
     * @param signature the aggregate BLS signature (G2, EIP-2537 form, 256 bytes) of the signers over the
     * batch message of the one entry, `abi.encode("WhitePay/batch/v2", chainid, this, user, leaderId,
     * keccak256(abi.encodePacked(pid, ts, te, st, idle)))`.
     */
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
    ) external;

    /**
     * @notice Pays many providers in one transaction, under one aggregate signature (the "Scale" batch).
     * Every entry is checked on its own — provider active, `ts` its last `te`, `ts < te <= block.number`,
     * `st < 2^128`, the idle set within the group, the leader's rank for `(user, pid, ts)` equal to the position of the window holding `te`,
     * the amount covered by what is left of the unreserved balance — and an entry that fails a check is
     * skipped with {PaymentSkipped} and its reason, not reverted on ({pay}, a list of one, reverts with that
     * reason instead). Each paid entry is split and recorded (the keepers ranked ahead of the leader for that
     * entry and the entry's idle set are excluded from its pool; an idle leader's bonus goes into the pool)
     * and emits {PaymentMade}; the batch ends with {BatchSettled}.
     *
     * Reverts only for the batch as a whole: malformed `entries`, a group that is not the registered one, an
     * unknown leader, a sender that is not the leader's account, a bad signer list, an invalid signature.
     * Funds are checked per entry in order: an entry the remaining balance does not cover is skipped
     * (`InsufficientFunds`), so an underfunded account still pays the entries it can.
     *
     * @param entries per entry `abi.encodePacked(address pid, uint64 ts, uint64 te, uint256 st, uint128 idle)`
     * (84 bytes; `idle` as {pay}'s),
     * concatenated; a provider may appear more than once with consecutive intervals, in order.
     * @param leaderId the keeper leading every entry; the sender must be its account.
     * @param group_ the registered group, as returned by {group}.
     * @param signers strictly increasing member indices of the keepers that signed.
     * @param signature the signers' aggregate BLS signature over the batch message
     * `abi.encode("WhitePay/batch/v2", chainid, this, user, leaderId, keccak256(entries))`.
     * @return paid the number of entries paid.
     */
    function payBatch(
        bytes calldata entries,
        uint32 leaderId,
        bytes calldata group_,
        uint8[] calldata signers,
        bytes calldata signature
    ) external returns (uint256 paid);

    // ──────────────────────────────────────────────── views ────────────────────────────────────────────────

    /// @notice The user (owner) of this account.
    function user() external view returns (address);

    /// @notice The current parameters (threshold as configured: 0 = default f + 1).
    function config() external view returns (Config memory);

    /// @notice The number of signers a payment needs now.
    function threshold() external view returns (uint256);

    /// @notice The members in index order: ids, accounts, G1 keys (EIP-2537 form).
    function members() external view returns (uint32[] memory ids, address[] memory accounts, bytes[] memory keys);

    /// @notice The group as {pay} and {payBatch} take it: per member `uint32 id ‖ address ‖ key (128 bytes)`, index order.
    function group() external view returns (bytes memory out);

    /// @notice keccak256 of {group}.
    function groupCommitment() external view returns (bytes32);

    /// @notice The providers ever added (removed ones included; see {provider}).
    function providers() external view returns (address[] memory);

    /**
     * @notice A page of {providers} with each provider's state: up to `count` providers from index `start`
     * (fewer at the end of the list, none past it), and the length of the whole list. Each provider is
     * 29 packed bytes: `address pid ‖ uint64 nextTs ‖ uint8 active` (docs/encoding.md). Keepers following
     * thousands of providers read the list in a few calls instead of one {provider} call per provider,
     * and decode it without ABI-decoding (checksumming) thousands of addresses.
     */
    function providerStates(uint256 start, uint256 count) external view returns (uint256 total, bytes memory packed);

    /// @notice A provider's state: whether it is active, the block it was added, and the `ts` its next
    /// payment must carry.
    function provider(address pid) external view returns (bool active, uint64 addedAt, uint64 nextTs);

    /// @notice The last payment of a provider (all zero before the first).
    function lastPayment(address pid) external view returns (Payment memory payment);

    /// @notice What `account` can withdraw now.
    function balanceOf(address account) external view returns (uint256 amount);

    /// @notice Sum of all credits not yet withdrawn.
    function reserved() external view returns (uint256);

    /// @notice The balance available for new payments.
    function unreservedBalance() external view returns (uint256);

    /// @notice Keeper ids in rank order for `(pid, ts)`: position 1 first (operators' schedule).
    function leaderSchedule(address pid, uint64 ts) external view returns (uint32[] memory ids);

    /// @notice The position (1-based) allowed to lead a payment `[ts, te)`, 0 while `te < ts + H`.
    function leaderPosition(uint64 ts, uint64 te) external view returns (uint256);

    /// @notice The message every payment verifies for `entries` led by `leaderId` (docs/encoding.md): {payBatch}
    /// over its entries, {pay} over `abi.encodePacked(pid, ts, te, st, idle)`.
    function batchMessage(uint32 leaderId, bytes calldata entries) external view returns (bytes memory);
}
