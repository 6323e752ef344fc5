"""The guard service's application layer: withdrawals, governance, the audit log's readers, over the store.

Between the pure core (policy, verify, guard, audit) and the edges (api, cli): every operation is one
database transaction that also appends its audit entries (service/state.py), and takes ``now`` as an argument.
"""
