# pragma version ~=0.4.3
# A counter any account may bump; the owner may reset it.

event Bumped:
    by: indexed(address)
    count: uint256

owner: public(address)
count: public(uint256)


@deploy
def __init__():
    self.owner = msg.sender


@external
def bump() -> uint256:
    self.count += 1
    log Bumped(by=msg.sender, count=self.count)
    return self.count


@external
def reset():
    assert msg.sender == self.owner, "not the owner"
    self.count = 0
