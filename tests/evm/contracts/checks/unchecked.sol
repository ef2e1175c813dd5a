// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// Flagged: if the payment fails the contract carries on as if it had been made.
contract Flagged {
    address private immutable owner = msg.sender;

    function pay(address payable to, uint256 amount) external {
        require(msg.sender == owner, "not the owner");
        to.call{value: amount}("");
    }
}

/// Safe twin: the success flag is checked.
contract Safe {
    address private immutable owner = msg.sender;

    function pay(address payable to, uint256 amount) external {
        require(msg.sender == owner, "not the owner");
        (bool ok, ) = to.call{value: amount}("");
        require(ok, "payment failed");
    }
}
