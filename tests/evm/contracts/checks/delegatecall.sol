// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// Flagged: anyone picks the code that runs with this contract's storage.
contract Flagged {
    address public owner = msg.sender;

    function execute(address target, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory out) = target.delegatecall(data);
        require(ok, "failed");
        return out;
    }
}

/// Safe twin: the delegate is fixed at deployment.
contract Safe {
    address public owner = msg.sender;
    address private immutable implementation;

    constructor(address implementation_) {
        implementation = implementation_;
    }

    function execute(bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory out) = implementation.delegatecall(data);
        require(ok, "failed");
        return out;
    }
}
