// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {Upkeeping} from "./Upkeeping.sol";

/**
 * @title UpkeepingFactory
 * @notice Creates one {Upkeeping} per user as an EIP-1167 minimal proxy with immutable args (a clone of one
 * implementation, 45 bytes of code per account followed by the user's 20-byte address, which the account
 * reads from its code instead of a storage slot) at a CREATE2 address salted with the user, and indexes
 * user → Upkeeping.
 */
contract UpkeepingFactory {
    /// @notice The implementation every account delegates to.
    address public immutable implementation;

    mapping(address user => address upkeeping) private _upkeepingOf;

    /// @notice `user` created its account `upkeeping`.
    event UpkeepingCreated(address indexed user, address indexed upkeeping);

    /// @notice `user` already has an account.
    error UpkeepingFactoryAlreadyCreated(address user, address upkeeping);

    constructor() {
        implementation = address(new Upkeeping());
    }

    /// @notice Creates the caller's account with `config` and returns its address.
    function createUpkeeping(Upkeeping.Config calldata config) external returns (address upkeeping) {
        address existing = _upkeepingOf[msg.sender];
        if (existing != address(0)) revert UpkeepingFactoryAlreadyCreated(msg.sender, existing);
        upkeeping = Clones.cloneDeterministicWithImmutableArgs(implementation, _args(msg.sender), _salt(msg.sender));
        _upkeepingOf[msg.sender] = upkeeping;
        Upkeeping(payable(upkeeping)).initialize(msg.sender, config);
        emit UpkeepingCreated(msg.sender, upkeeping);
    }

    /// @notice The account of `user` (zero before it is created).
    function upkeepingOf(address user) external view returns (address) {
        return _upkeepingOf[user];
    }

    /// @notice The address `user`'s account has (or will have once created).
    function predictUpkeeping(address user) external view returns (address) {
        return Clones.predictDeterministicAddressWithImmutableArgs(implementation, _args(user), _salt(user));
    }

    /// @dev The clone's immutable argument: its user, 20 bytes (read by `UpkeepingStorage._user`).
    function _args(address user) private pure returns (bytes memory) {
        return abi.encodePacked(user);
    }

    function _salt(address user) private pure returns (bytes32) {
        return bytes32(uint256(uint160(user)));
    }
}
