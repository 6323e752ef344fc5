"""The shipped sample policy and its demo ledger key, shared by the policy tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PATH = ROOT / "src" / "mamori" / "content" / "policies" / "sample.yaml"
# The demo system-of-record key of the sample policy: Ed25519 seed sha256("mamori sample ledger key").
LEDGER = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"mamori sample ledger key").digest())
