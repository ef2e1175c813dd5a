// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// Flagged: a contract the owner is tricked into calling can withdraw.
contract Flagged {
    address private owner = msg.sender;

    function withdraw(address payable to) external {
        require(tx.origin == owner, "not the owner");
        to.transfer(address(this).balance);
    }
}

/// Safe twin: authorises msg.sender; tx.origin only refuses contract callers.
contract Safe {
    address private owner = msg.sender;

    function withdraw(address payable to) external {
        require(msg.sender == owner, "not the owner");
        require(tx.origin == msg.sender, "no contract callers");
        to.transfer(address(this).balance);
    }
}
