"""The append-only audit log's pure core: RFC 9162 Merkle hashing and proofs, and signed tree heads.

No database, clock or network here: the store keeps leaf hashes (and a :class:`MerkleLog` frontier), and the
caller passes the time and the signing key.
"""

from mamori.audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    AuditError,
    AuditInputError,
    MerkleLog,
    ProofError,
    consistency_path_ranges,
    consistency_proof,
    inclusion_path_ranges,
    inclusion_proof,
    leaf_hash,
    merkle_tree_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from mamori.audit.tree_head import (
    SignedTreeHead,
    TreeHead,
    TreeHeadError,
    key_id,
    sign_tree_head,
    verify_entry_in_head,
    verify_head_extends,
    verify_tree_head,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "AuditError",
    "AuditInputError",
    "MerkleLog",
    "ProofError",
    "SignedTreeHead",
    "TreeHead",
    "TreeHeadError",
    "consistency_path_ranges",
    "consistency_proof",
    "inclusion_path_ranges",
    "inclusion_proof",
    "key_id",
    "leaf_hash",
    "merkle_tree_hash",
    "node_hash",
    "root_hash",
    "sign_tree_head",
    "verify_consistency",
    "verify_entry_in_head",
    "verify_head_extends",
    "verify_inclusion",
    "verify_tree_head",
]
