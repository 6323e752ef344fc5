"""mamori's PSBT parsing and verification against embit (an independent Bitcoin library) on generated PSBTs of a
2-of-3 P2WSH wallet: fee, unsigned txid, every input's amount, every output's address and amount, and which
signatures verify, including after some are replaced by signatures of the wrong message."""

from __future__ import annotations

import random

from embit import ec
from embit.psbt import PSBT

from mamori.chains.bitcoin.descriptor import parse_descriptor
from mamori.verify.psbt import verify_psbt
from support.psbt_corpus import cosigners, descriptor, psbts

WALLET = parse_descriptor(descriptor(cosigners()))


def embit_valid_signatures(peer: PSBT, index: int) -> int:
    digest = peer.sighash(index)
    valid = 0
    for pubkey, signature in peer.inputs[index].partial_sigs.items():
        valid += pubkey.verify(ec.Signature.parse(signature[:-1]), digest)
    return valid


def test_mamori_agrees_with_embit_on_generated_psbts() -> None:
    rng = random.Random(11)  # noqa: S311 - reproducible test data, not secrets
    checked = tampered = 0
    for generated in psbts(150, seed=3):
        data = generated
        peer = PSBT.parse(data)
        if rng.random() < 0.3:  # a signature over another message, on a random input
            index = rng.randrange(len(peer.inputs))
            key = rng.choice(list(peer.inputs[index].partial_sigs))
            forged = ec.PrivateKey(rng.randbytes(32)).sign(rng.randbytes(32)).serialize() + b"\x01"
            peer.inputs[index].partial_sigs[key] = forged
            data = peer.serialize()
            tampered += 1
        report = verify_psbt(data, wallets=(WALLET,))
        assert report.fee == peer.fee()
        assert report.unsigned_txid == peer.tx.txid().hex()
        for ours, theirs in zip(report.outputs, peer.tx.vout, strict=True):
            assert (ours.amount, ours.address) == (theirs.value, theirs.script_pubkey.address())
        for index, item in enumerate(report.inputs):
            assert item.amount == peer.inputs[index].utxo.value
            assert item.valid == embit_valid_signatures(peer, index)
        assert report.blocks_signing == any(i.valid < 2 for i in report.inputs)
        checked += 1
    assert checked == 150 and tampered > 20
