// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

contract Broken {
    function f() external returns (uint256 {
        return 1;
    }
}
