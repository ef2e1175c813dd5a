// ethers v6, used as any developer would, against a Consortia node's JSON-RPC (issue #5).
//
//   node tests/evm/ethers_client.mjs <rpc-url> <artifact.json>
//
// The artifact holds {"abi": [...], "bytecode": "0x..."} of the ERC-20 in
// tests/evm/contracts/token.vy. Deploys it, transfers, reads balances, waits
// for receipts, filters Transfer logs by topic and block range, sees a revert
// reason and fetches an eth_getProof result. Prints one JSON summary on stdout
// that tests/evm/test_ethers.py checks; any failure exits non-zero.

import { readFileSync } from "node:fs";
import { ContractFactory, JsonRpcProvider, Wallet, id, zeroPadValue } from "ethers";

const [url, artifactPath] = process.argv.slice(2);
if (!url || !artifactPath) {
  console.error("usage: ethers_client.mjs <rpc-url> <artifact.json>");
  process.exit(2);
}
const { abi, bytecode } = JSON.parse(readFileSync(artifactPath, "utf8"));
const SUPPLY = 1_000_000n;

// A short polling interval: blocks come every few hundred milliseconds.
const provider = new JsonRpcProvider(url, undefined, { pollingInterval: 100 });
// Fixed keys: the chain registers a secp256k1 account on its first transaction.
const owner = new Wallet("0x" + "21".repeat(32), provider);
const alice = Wallet.createRandom().connect(provider);
const poor = new Wallet("0x" + "23".repeat(32), provider);

const network = await provider.getNetwork();
const feeData = await provider.getFeeData();

// Deploy the ERC-20 and wait for its receipt.
const factory = new ContractFactory(abi, bytecode, owner);
const token = await factory.deploy(SUPPLY);
await token.waitForDeployment();
const address = await token.getAddress();
const deployReceipt = await token.deploymentTransaction().wait();

// Transfer and wait; read balances.
const startBlock = await provider.getBlockNumber();
const tx = await token.transfer(alice.address, 1_250n);
const receipt = await tx.wait();
const fetched = await provider.getTransaction(tx.hash);
const block = await provider.getBlock(receipt.blockNumber);
const parsed = receipt.logs.map((log) => token.interface.parseLog(log));

// An EIP-1559 transaction asked for explicitly (fees are zero on this chain).
const typed = await token.transfer(alice.address, 5n, { type: 2 });
const typedReceipt = await typed.wait();
const typedFetched = await provider.getTransaction(typed.hash);
const ownerBalance = await token.balanceOf(owner.address);
const aliceBalance = await token.balanceOf(alice.address);

// Logs by topic and block range: the contract's filter and the raw provider call.
const toAlice = await token.queryFilter(
  token.filters.Transfer(null, alice.address),
  startBlock,
  typedReceipt.blockNumber,
);
const rawLogs = await provider.getLogs({
  address,
  topics: [id("Transfer(address,address,uint256)"), null, zeroPadValue(alice.address, 32)],
  fromBlock: startBlock,
  toBlock: receipt.blockNumber,
});
const beforeDeploy = await token.queryFilter(
  token.filters.Transfer(null, alice.address),
  0,
  deployReceipt.blockNumber - 1,
);

// A call that reverts: the revert reason reaches the client.
let revertReason = null;
let revertCode = null;
try {
  await token.connect(poor).transfer.staticCall(owner.address, 1n);
} catch (error) {
  revertReason = error.reason ?? null;
  revertCode = error.code ?? null;
}
let estimateRevertReason = null;
try {
  await token.connect(poor).transfer.estimateGas(owner.address, 1n);
} catch (error) {
  estimateRevertReason = error.reason ?? null;
}

// An account and storage proof at the transfer's block (verified by the Python side).
const blockTag = "0x" + receipt.blockNumber.toString(16);
const proof = await provider.send("eth_getProof", [address, ["0x0"], blockTag]);

const summary = {
  chainId: network.chainId.toString(),
  gasPrice: feeData.gasPrice?.toString() ?? null,
  owner: owner.address,
  alice: alice.address,
  address,
  code: (await provider.getCode(address)).length > 2,
  deploy: {
    status: deployReceipt.status,
    block: deployReceipt.blockNumber,
    contractAddress: deployReceipt.contractAddress,
  },
  transfer: {
    hash: tx.hash,
    type: tx.type,
    status: receipt.status,
    block: receipt.blockNumber,
    blockHash: receipt.blockHash,
    gasUsed: receipt.gasUsed.toString(),
    from: fetched.from,
    to: fetched.to,
    inBlock: block.transactions.includes(tx.hash),
    events: parsed.map((e) => ({
      name: e.name,
      sender: e.args.sender,
      receiver: e.args.receiver,
      value: e.args.value.toString(),
    })),
  },
  typed: {
    type: typedFetched.type,
    status: typedReceipt.status,
    maxFeePerGas: typedFetched.maxFeePerGas?.toString() ?? null,
  },
  balances: { owner: ownerBalance.toString(), alice: aliceBalance.toString() },
  logs: {
    queryFilter: toAlice.map((log) => ({
      hash: log.transactionHash,
      value: log.args.value.toString(),
    })),
    getLogs: rawLogs.map((log) => log.transactionHash),
    beforeDeploy: beforeDeploy.length,
  },
  revert: { reason: revertReason, code: revertCode, estimateGasReason: estimateRevertReason },
  proof: { block: receipt.blockNumber, stateRoot: block.stateRoot, result: proof },
};
console.log(JSON.stringify(summary));
provider.destroy();
