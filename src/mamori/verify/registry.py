"""Known contracts: the canonical Safe deployments shipped in content/safe_deployments.json.

The registry names addresses in the human view and decides which DELEGATECALL targets are trusted: only the
Safe libraries whose code is built to run in a Safe's context (MultiSendCallOnly, MultiSend, SignMessageLib,
SafeMigration, SafeToL2Migration). MultiSend is trusted beside MultiSendCallOnly because Safes before 1.3.0 have
no call-only variant and mamori decodes every inner operation of a batch, so an inner DELEGATECALL is itself
checked. Everything else is untrusted, whatever its name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from mamori.chains.evm.encoding import parse_address
from mamori.errors import MamoriError

DELEGATECALL_TRUSTED_ROLES = frozenset(
    {"multisend_call_only", "multisend", "sign_message_lib", "safe_migration", "safe_to_l2_migration"}
)


@dataclass(frozen=True, slots=True)
class KnownContract:
    address: bytes
    name: str
    version: str
    role: str
    variant: str

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def delegatecall_trusted(self) -> bool:
        return self.role in DELEGATECALL_TRUSTED_ROLES


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed by identity: it keys per-wallet caches
class ContractRegistry:
    by_address: dict[bytes, KnownContract]

    def get(self, address: bytes) -> KnownContract | None:
        return self.by_address.get(address)

    def trusted_delegate(self, address: bytes) -> KnownContract | None:
        known = self.by_address.get(address)
        return known if known is not None and known.delegatecall_trusted else None

    @classmethod
    def from_document(cls, document: Any) -> ContractRegistry:
        """Build from the JSON document; raises MamoriError on any malformed entry (never half-loads)."""
        if not isinstance(document, dict) or not isinstance(document.get("contracts"), list):
            raise MamoriError("RECORD_SHAPE_INVALID", reason="contract registry needs a 'contracts' list")
        entries: dict[bytes, KnownContract] = {}
        for index, item in enumerate(document["contracts"]):
            if not isinstance(item, dict):
                raise MamoriError("RECORD_SHAPE_INVALID", reason=f"contracts[{index}] is not an object")
            address = parse_address(item.get("address"), field=f"contracts[{index}].address")
            fields = [item.get(key) for key in ("name", "version", "role")]
            if not all(isinstance(value, str) and value for value in fields):
                raise MamoriError("RECORD_SHAPE_INVALID", reason=f"contracts[{index}] lacks name/version/role")
            name, version, role = (str(value) for value in fields)
            entries.setdefault(address, KnownContract(address, name, version, role, str(item.get("variant", ""))))
        return cls(entries)

    @classmethod
    def empty(cls) -> ContractRegistry:
        return cls({})


@lru_cache(maxsize=1)
def default_registry() -> ContractRegistry:
    """The registry shipped with mamori (read once per process)."""
    text = resources.files("mamori.content").joinpath("safe_deployments.json").read_text(encoding="utf-8")
    return ContractRegistry.from_document(json.loads(text))
