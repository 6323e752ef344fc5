"""Safe contract versions and the hashing rules that differ between them.

- Safe < 1.0.0 names the gas field ``dataGas`` in the SafeTx type (so the type hash differs).
- Safe <= 1.2.0 hashes its EIP-712 domain without ``chainId``; >= 1.3.0 includes it.
Getting either wrong gives a different safeTxHash, which is what a signer's device shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from mamori.errors import ContextError

SUPPORTED_VERSIONS: tuple[str, ...] = (
    "0.1.0",
    "1.0.0",
    "1.1.0",
    "1.1.1",
    "1.2.0",
    "1.3.0",
    "1.4.0",
    "1.4.1",
    "1.5.0",
)


@dataclass(frozen=True, slots=True)
class SafeVersion:
    text: str
    major: int
    minor: int
    patch: int
    domain_has_chain_id: bool  # >= 1.3.0
    uses_data_gas: bool  # < 1.0.0


def parse_safe_version(value: object) -> SafeVersion:
    """``"1.3.0"``, ``"v1.3.0"`` or the Safe API's ``"1.3.0+L2"`` (L2 singletons hash identically)."""
    if not isinstance(value, str):
        raise ContextError("SAFE_VERSION_UNSUPPORTED", version=repr(value), supported=", ".join(SUPPORTED_VERSIONS))
    return _parse_version_text(value)


@lru_cache(maxsize=64)
def _parse_version_text(value: str) -> SafeVersion:
    text = value.strip().lower().removeprefix("v").split("+", 1)[0]
    if text not in SUPPORTED_VERSIONS:
        raise ContextError("SAFE_VERSION_UNSUPPORTED", version=value, supported=", ".join(SUPPORTED_VERSIONS))
    major, minor, patch = (int(part) for part in text.split("."))
    return SafeVersion(text, major, minor, patch, (major, minor) >= (1, 3), major < 1)
