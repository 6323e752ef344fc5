"""The Bitcoin networks and what each one writes differently: address prefixes and extended-key versions.

Testnet (3 and 4), signet and regtest share base58 version bytes (``m``/``n``/``2`` addresses) and extended-key
versions (``tpub``); signet also shares testnet's bech32 prefix ``tb``, regtest has its own, ``bcrt``. So an address
or a key names a *family* of networks, and only the caller can say which member it is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mamori.errors import InputError


class Network(StrEnum):
    MAINNET = "mainnet"
    TESTNET = "testnet"  # testnet3 and testnet4 write addresses and keys alike
    SIGNET = "signet"
    REGTEST = "regtest"

    @property
    def params(self) -> NetworkParams:
        return PARAMS[self]

    @property
    def is_test(self) -> bool:
        """True for every network whose extended keys are ``tpub`` (all but mainnet)."""
        return self is not Network.MAINNET


@dataclass(frozen=True, slots=True)
class NetworkParams:
    p2pkh_version: int
    p2sh_version: int
    bech32_hrp: str


PARAMS: dict[Network, NetworkParams] = {
    Network.MAINNET: NetworkParams(0x00, 0x05, "bc"),
    Network.TESTNET: NetworkParams(0x6F, 0xC4, "tb"),
    Network.SIGNET: NetworkParams(0x6F, 0xC4, "tb"),
    Network.REGTEST: NetworkParams(0x6F, 0xC4, "bcrt"),
}

# Names people and tools use for each network (Bitcoin Core's -chain values, common short forms).
_ALIASES = {
    "mainnet": Network.MAINNET,
    "main": Network.MAINNET,
    "bitcoin": Network.MAINNET,
    "btc": Network.MAINNET,
    "testnet": Network.TESTNET,
    "test": Network.TESTNET,
    "testnet3": Network.TESTNET,
    "testnet4": Network.TESTNET,
    "signet": Network.SIGNET,
    "regtest": Network.REGTEST,
}


def parse_network(value: str | Network) -> Network:
    """A :class:`Network` from its name or a common alias (``main``, ``testnet4`` …)."""
    if isinstance(value, Network):
        return value
    found = _ALIASES.get(str(value).strip().lower()) if isinstance(value, str) else None
    if found is None:
        raise InputError(
            "FIELD_TYPE_INVALID", field="network", expected="one of " + ", ".join(n.value for n in Network)
        )
    return found


# CAIP-2 chain ids of the Bitcoin networks (bip122: and the first 32 hex digits of the genesis block hash).
BITCOIN_NETWORKS: dict[str, Network] = {
    "bip122:000000000019d6689c085ae165831e93": Network.MAINNET,
    "bip122:000000000933ea01ad0ee984209779ba": Network.TESTNET,  # testnet3
    "bip122:00000000da84f2bafbbc53dee25a72ae": Network.TESTNET,  # testnet4
    "bip122:00000008819873e925422c1ff0f99f7c": Network.SIGNET,
    "bip122:0f9188f13cb7b2c71f2a335e3a4fc328": Network.REGTEST,
}
