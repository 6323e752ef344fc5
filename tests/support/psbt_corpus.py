"""Deterministic PSBTs of a 2-of-3 P2WSH multisig cold wallet, built with embit (an independent library): the
corpus of the differential tests (tests/differential/test_psbt_embit.py) and of bench/bench_psbt_verify.py.

The wallet is ``wsh(sortedmulti(2, [fp/48'/0'/0'/2']xpub…/<0;1>/*, …))`` from three fixed seeds. Each PSBT spends
one to three of the wallet's receive outputs (full previous transaction and witness UTXO, witness script, BIP-32
derivations), pays one or two external addresses (P2WPKH, P2TR, P2SH, P2PKH in turn) and returns change to the
wallet's change branch with its derivations, and carries signatures of two of the three keys (``signed=True``).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

from embit import bip32, ec, script
from embit.psbt import PSBT, DerivationPath
from embit.transaction import SIGHASH, Transaction, TransactionInput, TransactionOutput

SEEDS = (b"mamori cosigner one".ljust(32, b"\0"), b"mamori cosigner two".ljust(32, b"\0"),
         b"mamori cosigner three".ljust(32, b"\0"))  # fmt: skip
ACCOUNT_PATH = "m/48h/0h/0h/2h"
HARDENED = 0x80000000


@dataclass(frozen=True)
class Cosigner:
    root: bip32.HDKey
    account: bip32.HDKey  # the account xprv at ACCOUNT_PATH
    fingerprint: bytes
    path: tuple[int, ...]

    @property
    def xpub(self) -> str:
        return str(self.account.to_public().to_base58())


def cosigners(seeds: tuple[bytes, ...] = SEEDS) -> tuple[Cosigner, ...]:
    """The wallet's three cosigners (another wallet's with other ``seeds``)."""
    found = []
    for seed in seeds:
        root = bip32.HDKey.from_seed(seed)
        path = tuple(int(part[:-1]) + HARDENED for part in ACCOUNT_PATH.split("/")[1:])
        found.append(Cosigner(root, root.derive(ACCOUNT_PATH), root.my_fingerprint, path))
    return tuple(found)


def descriptor(signers: tuple[Cosigner, ...]) -> str:
    """The wallet's descriptor (without checksum), multipath receive and change."""
    keys = ",".join(f"[{s.fingerprint.hex()}/48'/0'/0'/2']{s.xpub}/<0;1>/*" for s in signers)
    return f"wsh(sortedmulti(2,{keys}))"


def _witness_script(signers: tuple[Cosigner, ...], branch: int, index: int) -> tuple[script.Script, list]:
    children = [s.account.derive([branch, index]) for s in signers]
    keys = sorted((c.key.get_public_key() for c in children), key=lambda k: k.sec())
    return script.multisig(2, keys), children


def _derivations(signers: tuple[Cosigner, ...], children: list, branch: int, index: int) -> dict:
    return {
        child.key.get_public_key(): DerivationPath(s.fingerprint, [*s.path, branch, index])
        for s, child in zip(signers, children, strict=True)
    }


def _external(rng: random.Random) -> script.Script:
    secret = ec.PrivateKey(hashlib.sha256(rng.randbytes(16)).digest())
    kind = rng.randrange(4)
    if kind == 0:
        return script.p2wpkh(secret.get_public_key())
    if kind == 1:
        return script.p2tr(secret.get_public_key())
    if kind == 2:
        return script.p2sh(script.p2wpkh(secret.get_public_key()))
    return script.p2pkh(secret.get_public_key())


def psbts(count: int, *, seed: int = 7, signed: bool = True) -> Iterator[bytes]:
    """``count`` serialized PSBTs (v0), the same for the same ``seed``."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    signers = cosigners()
    for number in range(count):
        inputs = rng.randint(1, 3)
        tx = Transaction(version=2, vin=[], vout=[], locktime=0)
        spent = []
        total = 0
        for slot in range(inputs):
            index = (number * 3 + slot) % 1000
            witness, children = _witness_script(signers, 0, index)
            amount = rng.randint(100_000, 5_000_000_000)
            funding = Transaction(
                version=2,
                vin=[TransactionInput(rng.randbytes(32), rng.randrange(4))],
                vout=[TransactionOutput(rng.randint(1_000, 9_999_999), _external(rng)),
                      TransactionOutput(amount, script.p2wsh(witness))],
                locktime=0,
            )  # fmt: skip
            tx.vin.append(TransactionInput(funding.txid(), 1, sequence=0xFFFFFFFD))
            spent.append((funding, witness, children, index))
            total += amount
        fee = rng.randint(500, 20_000)
        paid = rng.randint(10_000, max(10_001, total // 2))
        tx.vout.append(TransactionOutput(paid, _external(rng)))
        if rng.random() < 0.3:
            extra = rng.randint(1_000, 100_000)
            tx.vout.append(TransactionOutput(extra, _external(rng)))
            paid += extra
        change_index = number % 1000
        change_witness, change_children = _witness_script(signers, 1, change_index)
        tx.vout.append(TransactionOutput(total - paid - fee, script.p2wsh(change_witness)))
        psbt = PSBT(tx)
        for slot, (funding, witness, children, index) in enumerate(spent):
            scope = psbt.inputs[slot]
            scope.non_witness_utxo = funding
            scope.witness_utxo = funding.vout[1]
            scope.witness_script = witness
            scope.bip32_derivations = _derivations(signers, children, 0, index)
        change = psbt.outputs[len(tx.vout) - 1]
        change.witness_script = change_witness
        change.bip32_derivations = _derivations(signers, change_children, 1, change_index)
        if signed:
            for slot, (_funding, _witness, children, _index) in enumerate(spent):
                digest = psbt.sighash(slot, SIGHASH.ALL)
                for child in children[:2]:
                    signature = child.key.sign(digest).serialize() + bytes([SIGHASH.ALL])
                    psbt.inputs[slot].partial_sigs[child.key.get_public_key()] = signature
        yield psbt.serialize()
