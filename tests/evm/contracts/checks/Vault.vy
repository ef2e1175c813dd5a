# pragma version ~=0.4.3
# Flagged on purpose: tx.origin authorisation, an unread raw_call result,
# a delegatecall to a caller-chosen address and a write to state after a call.

owner: address
paid: public(HashMap[address, uint256])


@deploy
def __init__():
    self.owner = msg.sender


@external
def pay(to: address, amount: uint256):
    assert tx.origin == self.owner, "not the owner"
    ok: bool = raw_call(to, b"", value=amount, revert_on_failure=False)
    self.paid[to] += amount


@external
def run(target: address, data: Bytes[100]):
    raw_call(target, data, is_delegate_call=True)
