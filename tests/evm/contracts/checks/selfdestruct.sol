// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// Flagged: the owner can destroy the contract (SELFDESTRUCT in the runtime code).
contract Flagged {
    address private immutable owner = msg.sender;

    function close() external {
        require(msg.sender == owner, "not the owner");
        selfdestruct(payable(owner));
    }
}

/// Safe twin: closing only sets a flag; 0xff appears only as PUSH data.
contract Safe {
    address private immutable owner = msg.sender;
    bool public closed;

    function close() external {
        require(msg.sender == owner, "not the owner");
        closed = true;
    }

    function mask() external pure returns (uint256) {
        return 0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff;
    }
}
