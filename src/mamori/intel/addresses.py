"""Address normalisation for screening: moved to :mod:`mamori.chains.addresses`, which holds no intel knowledge.

This module re-exports it so that existing imports (``mamori.intel.addresses.NOTE_MESSAGES``, ``normalise`` …)
keep working. New code imports :mod:`mamori.chains.addresses`; the policy layer must, as it may not import intel.
"""

from __future__ import annotations

from mamori.chains.addresses import (
    CASE_INSENSITIVE_FAMILIES,
    EVM_CHAINS,
    LABEL_CHAINS,
    NORMALISER_VERSION,
    NOTE_MESSAGES,
    Classified,
    Family,
    ScreenKey,
    bech32_polymod,
    chain_for,
    classify,
    normalise,
)

__all__ = [
    "CASE_INSENSITIVE_FAMILIES",
    "EVM_CHAINS",
    "LABEL_CHAINS",
    "NORMALISER_VERSION",
    "NOTE_MESSAGES",
    "Classified",
    "Family",
    "ScreenKey",
    "bech32_polymod",
    "chain_for",
    "classify",
    "normalise",
]
