"""Threat intelligence: address lists (OFAC, FBI, industry feeds) and the screening index they feed."""

from mamori.chains.addresses import Family, ScreenKey, normalise
from mamori.intel.lists import (
    AddressList,
    ListEntry,
    ListSource,
    LoadReport,
    load_address_file,
    load_fbi_list,
    load_ofac_directory,
)
from mamori.intel.screening import Hit, ScreeningIndex, ScreeningIndexBuilder, ScreenResult

__all__ = [
    "AddressList",
    "Family",
    "Hit",
    "ListEntry",
    "ListSource",
    "LoadReport",
    "ScreenKey",
    "ScreenResult",
    "ScreeningIndex",
    "ScreeningIndexBuilder",
    "load_address_file",
    "load_fbi_list",
    "load_ofac_directory",
    "normalise",
]
