// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// Flagged: the loop runs over every member ever added.
contract Flagged {
    address[] private members;
    mapping(address => uint256) public points;

    function join() external {
        members.push(msg.sender);
    }

    function rewardAll() external {
        for (uint256 i = 0; i < members.length; i++) {
            points[members[i]] += 1;
        }
    }
}

/// Safe twin: the caller passes a bounded batch.
contract Safe {
    uint256 private constant MAX_BATCH = 50;
    mapping(address => uint256) public points;

    function reward(address[] calldata batch) external {
        require(batch.length <= MAX_BATCH, "batch too large");
        for (uint256 i = 0; i < batch.length; i++) {
            points[batch[i]] += 1;
        }
    }
}
