"""Output descriptors (BIP-380 to BIP-387, BIP-389): the exchange's wallets, so that change is *derived*, not trusted.

A PSBT may claim that an output is the sender's own change (its BIP32_DERIVATION entries name the wallet's key
fingerprints and paths). :meth:`Descriptor.match_derivation` never takes that claim at its word: it reads the
branch and index from the claimed paths, derives the script from the wallet's own extended public keys and
compares it with the output's script. Three outcomes (:class:`MatchOutcome`): the PSBT makes no claim on this
wallet (an external payment), the claim is proven (change), or the claim is false — the attack where an output
names the wallet's fingerprint and path but pays someone else.

Supported: ``pk``, ``pkh``, ``wpkh``, ``sh``, ``wsh``, ``multi``, ``sortedmulti``, ``tr`` (key path and script
trees of ``pk``, ``multi_a``, ``sortedmulti_a`` leaves), ``raw``, ``addr``; keys as hex public keys (x-only in
``tr``) or extended public keys (xpub/tpub and SLIP-132 forms) with origin, non-hardened steps, one BIP-389
multipath step and a ``/*`` wildcard; the ``#checksum`` verified when present. Refused with a stable code:
private keys (``DESCRIPTOR_PRIVATE_KEY_REFUSED``: mamori needs public descriptors only), hardened steps after an
extended public key (``DESCRIPTOR_HARDENED_AFTER_XPUB``), ``combo``, ``rawtr``, ``musig`` and miniscript
(``DESCRIPTOR_UNSUPPORTED``). Hardened steps are written ``h`` or ``'``: ``H`` is refused, as BIP-380's test
vectors and Bitcoin Core do.

The package: :mod:`.checksum` (BIP-380 checksum), :mod:`.keys` (key expressions: reading and deriving),
:mod:`.nodes` (the script nodes), :mod:`.model` (:class:`Descriptor` and :meth:`~Descriptor.match_derivation`),
:mod:`.parse` (:func:`parse_descriptor`) and :mod:`.wallets` (wallet files, ``--wallet``). What ``__all__`` lists
here is the public interface; the other names of those modules serve the package itself.
"""

from __future__ import annotations

from mamori.chains.bitcoin.descriptor.checksum import add_checksum, descriptor_checksum
from mamori.chains.bitcoin.descriptor.keys import DescriptorKey
from mamori.chains.bitcoin.descriptor.model import MATCH_REASONS, DerivationMatch, Descriptor, MatchOutcome
from mamori.chains.bitcoin.descriptor.parse import NOTE_MESSAGES, parse_descriptor
from mamori.chains.bitcoin.descriptor.wallets import load_wallets, parse_wallet_argument, parse_wallets

__all__ = [
    "MATCH_REASONS",
    "NOTE_MESSAGES",
    "DerivationMatch",
    "Descriptor",
    "DescriptorKey",
    "MatchOutcome",
    "add_checksum",
    "descriptor_checksum",
    "load_wallets",
    "parse_descriptor",
    "parse_wallet_argument",
    "parse_wallets",
]
