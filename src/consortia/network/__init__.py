"""Validator-to-validator transport: mutual TLS 1.3, framed canonical messages, sync.

Transport certificates are P-256 X.509 issued by each member organisation's CA
(Python's ``ssl`` has no TLCP); every connection is then bound to a validator
by a ``Hello`` signed with the validator's consensus key (SM2 on ``sm``
chains), and every consensus message is signed by that key as well.
"""
