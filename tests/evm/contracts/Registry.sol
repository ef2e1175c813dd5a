// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// Events of every shape clients filter on: indexed and unindexed, anonymous.
interface IRegistry {
    function register(bytes32 key, string calldata value) external;
}

contract Registry is IRegistry {
    mapping(bytes32 => string) private entries;

    event Registered(bytes32 indexed key, address indexed by, string value);
    event Cleared(bytes32 indexed key);
    event Note(string text) anonymous;

    error Empty(bytes32 key);

    function register(bytes32 key, string calldata value) external {
        if (bytes(value).length == 0) revert Empty(key);
        entries[key] = value;
        emit Registered(key, msg.sender, value);
    }

    function clear(bytes32 key) external {
        delete entries[key];
        emit Cleared(key);
        emit Note("cleared");
    }

    function get(bytes32 key) external view returns (string memory) {
        return entries[key];
    }
}
