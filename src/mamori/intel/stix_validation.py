"""Is a submitted object valid STIX 2.1? The hub's gate: invalid objects are refused with their problems.

:func:`validate` returns the problems of one object (none: valid). The types the hub receives in bulk are checked by
rules written here, at a few microseconds an object: ``indicator``, ``relationship``, ``sighting``, ``identity``,
``marking-definition`` (TLP 1.0, TLP 2.0, statements and other kinds), ``extension-definition`` and OpenCTI's
``cryptocurrency-wallet`` SCO. They enforce what STIX 2.1 says an object MUST be (the section is cited at each rule),
which is what stix2-validator checks, in a few places more strictly where the specification is explicit and the
validator lax (tests/intel/test_stix_validation.py lists each difference). Every other type goes to stix2-validator,
non-strict, and only its errors count.

Patterns of the form the hub publishes, ``[cryptocurrency-wallet:value = '…' OR …]`` in one observation with single
spaces, are recognised by one regular expression; any other STIX pattern, and any wallet pattern written otherwise,
goes to stix2-patterns, so the fast form only ever accepts what the grammar accepts.

Pure: no I/O, no clock. stix2-validator and stix2-patterns are imported on first use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Final

from mamori.errors import InputError
from mamori.intel.stix_forms import TIMESTAMP_RE, TYPE_NAME, TYPE_RE, UUID_RE, id_type
from mamori.intel.tlp import TLP2_EXTENSION

WALLET_TYPE: Final = "cryptocurrency-wallet"

# --- lexical forms --------------------------------------------------------------------------------------------

# Property names (§3.1): a-z, 0-9 and underscore, a letter first, 3 to 250 characters ("id" is the exception).
_PROPERTY_NAME_RE = re.compile(r"[a-z][a-z0-9_]{2,249}")
_RESERVED = frozenset({"severity", "action", "username", "phone_numbers"})  # reserved in STIX 2.1 (§3.1)
_BINARY_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)")
_HEX_RE = re.compile(r"(?:[a-fA-F0-9]{2})+")
# RFC 5646 language tags, well-formed (§3.2 lang); the irregular grandfathered tags are listed.
_ALNUM = "[a-z0-9]"
_LANG_RE = re.compile(
    r"(?:(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})"  # language, extlang
    r"(?:-[a-z]{4})?"  # script
    r"(?:-(?:[a-z]{2}|[0-9]{3}))?"  # region
    rf"(?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))*"  # variants
    rf"(?:-[0-9a-wy-z](?:-{_ALNUM}{{2,8}})+)*"  # extensions
    rf"(?:-x(?:-{_ALNUM}{{1,8}})+)?"  # private use
    rf"|x(?:-{_ALNUM}{{1,8}})+"
    r"|en-gb-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo|i-pwn|i-tao|i-tay|i-tsu"
    r"|sgn-be-fr|sgn-be-nl|sgn-ch-de|art-lojban|cel-gaulish|no-bok|no-nyn|zh-guoyu|zh-hakka|zh-min|zh-min-nan"
    r"|zh-xiang)",
    re.IGNORECASE | re.ASCII,
)
# A URI (RFC 3986): a scheme, an authority after "//", then URI characters, at most one fragment, brackets only
# around an IP literal host.
_URI_RE = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:"
    r"(?://(?:[A-Za-z0-9\-._~!$&'()*+,;=:%]*@)?(?:\[[0-9A-Fa-f:.vV]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?"
    r"(?=[/?#]|\Z)|(?!//))"  # after "//" comes an authority, ending where the path, query or fragment begins
    r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*"
    r"(?:#(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?"
)
_RELATIONSHIPTYPE_RE = re.compile(r"[a-z0-9\-]+")  # §5.1: a-z, 0-9 and hyphen
_SELECTOR_RE = re.compile(r"(?:[a-z0-9_\-]{3,249}(?:\.(?:\[[0-9]+\]|[a-z0-9_\-]{1,250}))*|id)")  # §7.2.3.1
_INDEX_RE = re.compile(r"\[([0-9]+)\]")
_EXTENSION_KEY_RE = re.compile(rf"{TYPE_NAME}-ext")  # a predefined (or pre-2.1 custom) SCO extension
_EXTENSION_TYPES = frozenset(
    {"new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"}
)  # §7.3
_TLP2_LEVELS = frozenset({"clear", "green", "amber", "amber+strict", "red"})
# §7.2.1.4: the only TLP 1.0 marking definitions there may be, exactly as the specification gives them.
_TLP1 = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "white",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
_TLP1_CREATED = "2017-01-20T00:00:00.000Z"
# External references (§2.5): CVE and CAPEC ids in their own forms; hash names from hash-algorithm-ov (§10.4).
_CVE_RE = re.compile(r"CVE-[0-9]{4}-(?:0[0-9]{3}|[1-9][0-9]{3,})")
_CAPEC_RE = re.compile(r"CAPEC-[0-9]+")
_HASHES: Mapping[str, re.Pattern[str]] = {
    "MD5": re.compile(r"[a-fA-F0-9]{32}"),
    "SHA-1": re.compile(r"[a-fA-F0-9]{40}"),
    "SHA-256": re.compile(r"[a-fA-F0-9]{64}"),
    "SHA-512": re.compile(r"[a-fA-F0-9]{128}"),
    "SHA3-256": re.compile(r"[a-fA-F0-9]{64}"),
    "SHA3-512": re.compile(r"[a-fA-F0-9]{128}"),
    "SSDEEP": re.compile(r"[a-zA-Z0-9/+:.]{1,128}"),
    "TLSH": re.compile(r"[a-zA-Z0-9]{70}"),
}
# What a relationship or sighting may point at (§5.1, §5.2): an SDO or SCO, not an SRO, meta object or bundle.
_NOT_RELATABLE = frozenset(
    {"relationship", "sighting", "marking-definition", "language-content", "extension-definition", "bundle"}
)

# The patterns the hub publishes (wallet_stix.wallet_pattern): StringLiteral admits any character but ' and \, and
# the escapes \' and \\ alone (STIX 2.1 patterning grammar). Anything else takes the general path.
_WALLET_LITERAL = r"'(?:[^'\\]|\\['\\])*'"
_WALLET_COMPARISON = rf"{WALLET_TYPE}:value = {_WALLET_LITERAL}"
_WALLET_PATTERN_RE = re.compile(rf"\[{_WALLET_COMPARISON}(?: OR {_WALLET_COMPARISON})*\]")
_PATTERN_PROPERTY_RE = re.compile(r"[a-z0-9_]{3,250}|id")  # the first property of an object path


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason an object is not valid STIX 2.1: where (``path`` such as ``external_references[0].url``, empty
    for the whole object), why (English), and a stable code from :data:`mamori.errors.ERROR_CATALOG`."""

    path: str
    reason: str
    code: str

    def error(self, object_id: object) -> InputError:
        """The bilingual error that reports this problem of the object ``object_id``."""
        return InputError(self.code, id=str(object_id), path=self.path or "(object)", reason=self.reason)


_Out = list[Problem]
_Check = Callable[[Mapping[str, Any], Any, str, _Out], None]


# --- values ---------------------------------------------------------------------------------------------------


def _invalid(out: _Out, path: str, reason: str, code: str = "STIX_PROPERTY_INVALID") -> None:
    out.append(Problem(path, reason, code))


def _string(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
    if not isinstance(value, str):
        _invalid(out, path, "must be a string")


def _boolean(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
    if not isinstance(value, bool):
        _invalid(out, path, "must be a boolean (true or false)")


def _integer(low: int, high: int) -> _Check:
    def check(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            _invalid(out, path, "must be an integer")
        elif not low <= value <= high:
            _invalid(out, path, f"must be between {low} and {high}")

    return check


def _list_of(item: _Check) -> _Check:
    def check(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
        if not isinstance(value, list):
            _invalid(out, path, "must be a list")
        elif not value:
            _invalid(out, path, "must not be an empty list (§2.11)")
        else:
            for index, element in enumerate(value):
                item(obj, element, f"{path}[{index}]", out)

    return check


_strings = _list_of(_string)


def _lang(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
    if not isinstance(value, str) or not _LANG_RE.fullmatch(value):
        _invalid(out, path, f"{value!r} is not an RFC 5646 language tag")


def _member(value: Any, allowed: frozenset[str]) -> bool:
    """``value in allowed`` for any JSON value (a list is unhashable)."""
    return isinstance(value, str) and value in allowed


def _enum_strings(allowed: frozenset[str]) -> _Check:
    def item(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
        if not _member(value, allowed):
            _invalid(out, path, f"{value!r} is not one of {', '.join(sorted(allowed))}")

    return _list_of(item)


# --- ids and references ---------------------------------------------------------------------------------------


def _own_id(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
    prefix = f"{obj.get('type')}--"
    if not isinstance(value, str) or not value.startswith(prefix) or not UUID_RE.fullmatch(value, len(prefix)):
        reason = f"{value!r} is not {prefix}<RFC 4122 UUID> (§2.9)"
        _invalid(out, path, reason, "STIX_ID_INVALID")


def _ref_type(value: Any) -> str | None:
    """The type an identifier names, or None when ``value`` is not an identifier (§2.9)."""
    return id_type(value) if isinstance(value, str) else None


def _ref(allowed: frozenset[str] | None = None, forbidden: frozenset[str] = frozenset()) -> _Check:
    """An identifier of one of ``allowed`` types (any when None) and none of ``forbidden``."""
    expected = " or ".join(sorted(allowed)) if allowed else "a STIX object"

    def check(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
        named = _ref_type(value)
        if named is None:
            _invalid(out, path, f"{value!r} is not an identifier <type>--<RFC 4122 UUID> (§2.9)", "STIX_REF_INVALID")
        elif (allowed is not None and named not in allowed) or named in forbidden:
            _invalid(out, path, f"must reference {expected}, not a {named}", "STIX_REF_INVALID")

    return check


_identity_ref = _ref(frozenset({"identity"}))
_marking_ref = _ref(frozenset({"marking-definition"}))
_relatable_ref = _ref(forbidden=_NOT_RELATABLE)


# --- timestamps -----------------------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _timestamp(text: str) -> tuple[str, str] | str:
    """``(seconds part, fractional digits)`` of a STIX timestamp, or the reason it is not one."""
    match = TIMESTAMP_RE.fullmatch(text)
    if match is None:
        return f"{text!r} is not a timestamp like 2026-03-03T02:00:00.000Z (RFC 3339, UTC, 'Z')"
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return f"{text!r} is not a calendar time"
    return text[:19], fraction or ""


def _timestamp_check(*, milliseconds: bool) -> _Check:
    def check(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
        parsed = _timestamp(value) if isinstance(value, str) else f"{value!r} is not a string"
        if isinstance(parsed, str):
            _invalid(out, path, parsed, "STIX_TIMESTAMP_INVALID")
        elif milliseconds and len(parsed[1]) < 3:
            reason = f"{value!r} must be precise to the millisecond at least (§3.2): like 2026-03-03T02:00:00.000Z"
            _invalid(out, path, reason, "STIX_TIMESTAMP_INVALID")

    return check


_any_timestamp = _timestamp_check(milliseconds=False)
_ms_timestamp = _timestamp_check(milliseconds=True)


def _instant(value: Any) -> tuple[str, str] | None:
    """A comparable key of a valid timestamp (None otherwise: that problem is reported on its own)."""
    parsed = _timestamp(value) if isinstance(value, str) else None
    return None if parsed is None or isinstance(parsed, str) else (parsed[0], parsed[1].rstrip("0"))


def _order(later: str, earlier: str, *, strictly: bool, section: str) -> Callable[[Mapping[str, Any], _Out], None]:
    # Fractions compare as digit strings once trailing zeros are dropped: "5" (0.5) > "49" (0.49), "5" == "50".
    relation = "later than" if strictly else "later than or equal to"

    def rule(obj: Mapping[str, Any], out: _Out) -> None:
        late, early = _instant(obj.get(later)), _instant(obj.get(earlier))
        if late is not None and early is not None and (late < early or (strictly and late == early)):
            reason = f"'{later}' ({obj[later]}) must be {relation} '{earlier}' ({obj[earlier]}) ({section})"
            _invalid(out, later, reason, "STIX_TIMESTAMP_ORDER")

    return rule


# --- common structures ----------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not _PROPERTY_NAME_RE.fullmatch(name):
        return "a property name has a-z, 0-9 and _ only, begins with a letter and has 3 to 250 characters (§3.1)"
    if name in _RESERVED:
        return "the name is reserved in STIX 2.1 and must not be used (§3.1)"
    return None


def _custom_property(name: object, value: Any, path: str, out: _Out) -> None:
    """A property the type does not define: a well-formed name and a value that is neither null nor []."""
    reason = _name_problem(name)
    if reason is not None:
        _invalid(out, path, reason, "STIX_PROPERTY_NAME_INVALID")
    elif value is None:
        _invalid(out, path, "must not be null")
    elif value == []:
        _invalid(out, path, "must not be an empty list (§2.11)")
    elif (
        isinstance(name, str) and name.endswith("_bin") and not (isinstance(value, str) and _BINARY_RE.fullmatch(value))
    ):
        _invalid(out, path, "a property named *_bin holds base64 (§2.1)")
    elif isinstance(name, str) and name.endswith("_hex") and not (isinstance(value, str) and _HEX_RE.fullmatch(value)):
        _invalid(out, path, "a property named *_hex holds hex octets (§2.7)")


def _external_reference(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
    if not isinstance(value, Mapping):
        _invalid(out, path, "an external reference is a JSON object (§2.5)")
        return
    source, external_id = value.get("source_name"), value.get("external_id")
    if not isinstance(source, str):
        _invalid(out, f"{path}.source_name", "is required and must be a string (§2.5)")
    for name in ("description", "external_id"):
        if name in value and not isinstance(value[name], str):
            _invalid(out, f"{path}.{name}", "must be a string")
    if not any(name in value for name in ("description", "url", "external_id")):
        _invalid(out, path, "needs at least one of description, url and external_id besides source_name (§2.5)")
    url = value.get("url")
    if url is not None and not (isinstance(url, str) and _URI_RE.fullmatch(url)):
        _invalid(out, f"{path}.url", f"{url!r} is not a URL (RFC 3986)")
    if source in ("cve", "capec"):
        form = _CVE_RE if source == "cve" else _CAPEC_RE
        if not (isinstance(external_id, str) and form.fullmatch(external_id)):
            _invalid(out, f"{path}.external_id", f"a {source} reference needs its {source.upper()} id (§2.5)")
    elif isinstance(external_id, str) and (_CVE_RE.fullmatch(external_id) or _CAPEC_RE.fullmatch(external_id)):
        _invalid(out, f"{path}.source_name", "a CVE or CAPEC id goes with source_name 'cve' or 'capec' (§2.5)")
    if "hashes" in value:
        _hashes(value["hashes"], f"{path}.hashes", out)


def _hashes(value: Any, path: str, out: _Out) -> None:
    if not isinstance(value, Mapping) or not value:
        _invalid(out, path, "must be a non-empty dictionary of hashes (§2.7)")
        return
    for name, digest in value.items():
        form = _HASHES.get(name)
        if form is None:
            _invalid(out, f"{path}.{name}", "is not a hash-algorithm-ov name such as SHA-256 (§2.5, §10.4)")
        elif not isinstance(digest, str) or not form.fullmatch(digest):
            _invalid(out, f"{path}.{name}", f"{digest!r} is not a {name} value")


def _granular_marking(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
    code = "STIX_MARKING_INVALID"
    if not isinstance(value, Mapping):
        _invalid(out, path, "a granular marking is a JSON object (§7.2.3)", code)
        return
    if ("marking_ref" in value) == ("lang" in value):
        _invalid(out, path, "a granular marking has either marking_ref or lang (§7.2.3)", code)
    if "marking_ref" in value:
        _marking_ref(obj, value["marking_ref"], f"{path}.marking_ref", out)
        if value["marking_ref"] == obj.get("id"):
            _invalid(out, f"{path}.marking_ref", "a marking definition cannot mark itself (§7.2.2)", code)
    if "lang" in value:
        _lang(obj, value["lang"], f"{path}.lang", out)
    selectors = value.get("selectors")
    if not isinstance(selectors, list) or not selectors:
        _invalid(out, f"{path}.selectors", "is required: a non-empty list of selectors (§7.2.3)", code)
        return
    for index, selector in enumerate(selectors):
        reason = _selector_problem(obj, selector)
        if reason is not None:
            _invalid(out, f"{path}.selectors[{index}]", reason, code)


def _selector_problem(obj: Mapping[str, Any], selector: Any) -> str | None:
    if not isinstance(selector, str) or not _SELECTOR_RE.fullmatch(selector):
        return f"{selector!r} is not a selector like description or external_references.[0].url (§7.2.3.1)"
    current: Any = obj
    for segment in selector.split("."):
        index = _INDEX_RE.fullmatch(segment)
        if index is not None and isinstance(current, list) and int(index.group(1)) < len(current):
            current = current[int(index.group(1))]
        elif index is None and isinstance(current, Mapping) and segment in current:
            current = current[segment]
        else:
            return f"{selector!r} selects nothing in this object (§7.2.3.1)"
    return None


def _extensions(*, definitions_only: bool) -> _Check:
    def check(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
        code = "STIX_EXTENSION_INVALID"
        if not isinstance(value, Mapping) or not value:
            _invalid(out, path, "must be a non-empty dictionary of extensions (§3.2)", code)
            return
        for key, extension in value.items():
            where = f"{path}.{key}"
            by_definition = isinstance(key, str) and key.startswith("extension-definition--")
            if not isinstance(key, str):
                _invalid(out, where, "an extension is named by a string", code)
            elif by_definition and not UUID_RE.fullmatch(key, 22):
                _invalid(out, where, "is not an extension-definition id (§7.3)", code)
            elif not by_definition and (definitions_only or not _EXTENSION_KEY_RE.fullmatch(key)):
                _invalid(out, where, "an extension is named by its extension-definition id (§7.3)", code)
            elif not isinstance(extension, Mapping) or not extension:
                _invalid(out, where, "an extension is a non-empty JSON object", code)
            else:
                _extension_body(key, extension, where, out)

    return check


def _extension_body(key: str, extension: Mapping[str, Any], path: str, out: _Out) -> None:
    code = "STIX_EXTENSION_INVALID"
    if key.startswith("extension-definition--") and not _member(extension.get("extension_type"), _EXTENSION_TYPES):
        reason = f"extension_type is required, one of {', '.join(sorted(_EXTENSION_TYPES))} (§7.3)"
        _invalid(out, f"{path}.extension_type", reason, code)
    if key == TLP2_EXTENSION:
        if extension.get("extension_type") != "property-extension":
            _invalid(out, f"{path}.extension_type", "TLP 2.0 is a property-extension", code)
        if not _member(extension.get("tlp_2_0"), _TLP2_LEVELS):
            _invalid(out, f"{path}.tlp_2_0", f"must be one of {', '.join(sorted(_TLP2_LEVELS))}", code)
    for name, item in extension.items():
        if name != "extension_type":
            _custom_property(name, item, f"{path}.{name}", out)


_object_markings = _list_of(_marking_ref)
_granular_markings = _list_of(_granular_marking)
_external_references = _list_of(_external_reference)


def _spec_version(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
    if value != "2.1":
        _invalid(
            out,
            path,
            f"{value!r}: this hub takes STIX 2.1 objects, spec_version '2.1' (§3.2)",
            "STIX_SPEC_VERSION_INVALID",
        )


def _type(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
    """Dispatch has already matched the type: nothing more to check."""


def _definition(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
    if not isinstance(value, Mapping):
        _invalid(out, path, "a marking definition's definition is a JSON object (§7.2.1)", "STIX_MARKING_INVALID")


def _kill_chain_phase(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
    if not isinstance(value, Mapping):
        _invalid(out, path, "a kill chain phase is a JSON object (§2.10)")
        return
    for name in ("kill_chain_name", "phase_name"):
        if not isinstance(value.get(name), str):
            _invalid(out, f"{path}.{name}", "is required and must be a string (§2.10)")


def _relationship_type(obj: Mapping[str, Any], value: Any, path: str, out: _Out) -> None:
    if not isinstance(value, str) or not _RELATIONSHIPTYPE_RE.fullmatch(value):
        _invalid(out, path, f"{value!r}: a relationship type has a-z, 0-9 and hyphens only (§5.1)")


_SHARED: Mapping[str, _Check] = {
    "type": _type,
    "id": _own_id,
    "spec_version": _spec_version,
    "object_marking_refs": _object_markings,
    "granular_markings": _granular_markings,
    "extensions": _extensions(definitions_only=False),
}
_COMMON: Mapping[str, _Check] = {  # SDOs, SROs and extension definitions (§3.2)
    **_SHARED,
    "created_by_ref": _identity_ref,
    "created": _ms_timestamp,
    "modified": _ms_timestamp,
    "revoked": _boolean,
    "labels": _strings,
    "confidence": _integer(0, 100),
    "lang": _lang,
    "external_references": _external_references,
}
_COMMON_REQUIRED = ("id", "spec_version", "created", "modified")
_modified_after_created = _order("modified", "created", strictly=False, section="§3.2")


# --- patterns -------------------------------------------------------------------------------------------------


def _pattern_rule(obj: Mapping[str, Any], out: _Out) -> None:
    pattern, version = obj.get("pattern"), obj.get("pattern_version", "2.1")
    if obj.get("pattern_type") != "stix" or not isinstance(pattern, str) or not isinstance(version, str):
        return  # another pattern language, or a type problem reported already
    if version == "2.1" and _WALLET_PATTERN_RE.fullmatch(pattern):
        return
    for reason in _pattern_reasons(pattern, version):
        _invalid(out, "pattern", reason, "STIX_PATTERN_INVALID")


@lru_cache(maxsize=1024)
def _pattern_reasons(pattern: str, version: str) -> tuple[str, ...]:
    """Why a STIX pattern is invalid under the grammar of ``version`` (stix2-patterns), or nothing; then, as
    stix2-validator does, whether its object types and first properties are well-formed names."""
    from stix2patterns.v21.pattern import Pattern  # type: ignore[import-untyped]  # noqa: PLC0415 - loaded when needed
    from stix2patterns.validator import run_validator  # type: ignore[import-untyped]  # noqa: PLC0415

    try:
        errors = run_validator(pattern, version)
        if errors:
            return tuple(str(error) for error in errors)
        comparisons = Pattern(pattern).inspect().comparisons
    except Exception as exc:  # noqa: BLE001 - whatever the parser raises, the pattern is refused
        return (f"the pattern cannot be parsed ({type(exc).__name__}: {exc})",)
    reasons = []
    for object_type, expressions in comparisons.items():
        if not (TYPE_RE.fullmatch(object_type) and 3 <= len(object_type) <= 250):
            reasons.append(f"{object_type!r} is not an object type name (§2.13)")
        for path, _operator, _value in expressions:
            first = path[0] if path else None
            if not (isinstance(first, str) and _PATTERN_PROPERTY_RE.fullmatch(first)):
                reasons.append(f"{first!r} is not a property name of {object_type} (§3.1)")
    return tuple(reasons)


# --- marking definitions --------------------------------------------------------------------------------------


def _marking_rule(obj: Mapping[str, Any], out: _Out) -> None:
    code = "STIX_MARKING_INVALID"
    kind = obj.get("definition_type")
    if kind == "tlp":
        marking_id = obj.get("id")
        level = _TLP1.get(marking_id) if isinstance(marking_id, str) else None
        exact = level is not None and (
            set(obj) == {"type", "spec_version", "id", "created", "name", "definition_type", "definition"}
            and obj.get("name") == f"TLP:{level.upper()}"
            and obj.get("definition") == {"tlp": level}
            and obj.get("created") == _TLP1_CREATED
        )
        if not exact:
            reason = "a TLP 1.0 marking definition is one of the four standard ones, exactly as §7.2.1.4 gives it"
            _invalid(out, "", reason, code)
        return
    if "extensions" not in obj:
        for name in ("definition_type", "definition"):
            if name not in obj:
                out.append(
                    Problem(name, "a marking definition without extensions has it (§7.2.1)", "STIX_PROPERTY_MISSING")
                )
    definition = obj.get("definition")
    if kind == "statement" and not (isinstance(definition, Mapping) and isinstance(definition.get("statement"), str)):
        _invalid(out, "definition", "a statement marking's definition is {'statement': '…'} (§7.2.1.3)", code)
    refs = obj.get("object_marking_refs")
    if isinstance(refs, list) and obj.get("id") in refs:
        _invalid(out, "object_marking_refs", "a marking definition cannot mark itself (§7.2.2)", code)


def _extension_properties_rule(obj: Mapping[str, Any], out: _Out) -> None:
    kinds = obj.get("extension_types")
    if "extension_properties" in obj and not (isinstance(kinds, list) and "toplevel-property-extension" in kinds):
        reason = "only a toplevel-property-extension lists extension_properties (§7.3)"
        _invalid(out, "extension_properties", reason, "STIX_EXTENSION_INVALID")


# --- types ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Spec:
    checks: Mapping[str, _Check]
    required: tuple[str, ...]
    rules: tuple[Callable[[Mapping[str, Any], _Out], None], ...] = ()


_SPECS: Mapping[str, _Spec] = {
    "indicator": _Spec(  # §4.7
        {
            **_COMMON,
            "name": _string,
            "description": _string,
            "indicator_types": _strings,
            "pattern": _string,
            "pattern_type": _string,
            "pattern_version": _string,
            "valid_from": _any_timestamp,
            "valid_until": _any_timestamp,
            "kill_chain_phases": _list_of(_kill_chain_phase),
        },
        (*_COMMON_REQUIRED, "pattern", "pattern_type", "valid_from"),
        (_modified_after_created, _order("valid_until", "valid_from", strictly=True, section="§4.7"), _pattern_rule),
    ),
    "relationship": _Spec(  # §5.1
        {
            **_COMMON,
            "relationship_type": _relationship_type,
            "description": _string,
            "source_ref": _relatable_ref,
            "target_ref": _relatable_ref,
            "start_time": _any_timestamp,
            "stop_time": _any_timestamp,
        },
        (*_COMMON_REQUIRED, "relationship_type", "source_ref", "target_ref"),
        (_modified_after_created, _order("stop_time", "start_time", strictly=True, section="§5.1")),
    ),
    "sighting": _Spec(  # §5.2
        {
            **_COMMON,
            "description": _string,
            "first_seen": _any_timestamp,
            "last_seen": _any_timestamp,
            "count": _integer(0, 999_999_999),
            "sighting_of_ref": _relatable_ref,
            "observed_data_refs": _list_of(_ref(frozenset({"observed-data"}))),
            "where_sighted_refs": _list_of(_ref(frozenset({"identity", "location"}))),
            "summary": _boolean,
        },
        (*_COMMON_REQUIRED, "sighting_of_ref"),
        (_modified_after_created, _order("last_seen", "first_seen", strictly=False, section="§5.2")),
    ),
    "identity": _Spec(  # §4.5
        {
            **_COMMON,
            "name": _string,
            "description": _string,
            "roles": _strings,
            "identity_class": _string,
            "sectors": _strings,
            "contact_information": _string,
        },
        (*_COMMON_REQUIRED, "name"),
        (_modified_after_created,),
    ),
    "extension-definition": _Spec(  # §7.3: created_by_ref is required here
        {
            **_COMMON,
            "name": _string,
            "description": _string,
            "schema": _string,
            "version": _string,
            "extension_types": _enum_strings(_EXTENSION_TYPES),
            "extension_properties": _strings,
        },
        (*_COMMON_REQUIRED, "created_by_ref", "name", "schema", "version", "extension_types"),
        (_modified_after_created, _extension_properties_rule),
    ),
    "marking-definition": _Spec(  # §7.2.1: not versioned, so no modified
        {
            **_SHARED,
            "created_by_ref": _identity_ref,
            "created": _ms_timestamp,
            "external_references": _external_references,
            "extensions": _extensions(definitions_only=True),
            "name": _string,
            "definition_type": _string,
            "definition": _definition,
        },
        ("id", "spec_version", "created"),
        (_marking_rule,),
    ),
    WALLET_TYPE: _Spec(  # OpenCTI's SCO; spec_version is optional on SCOs (§6.1)
        {**_SHARED, "defanged": _boolean, "value": _string},
        ("id", "value"),
    ),
}
FAST_PATH_TYPES: Final = frozenset(_SPECS)


class Validator:
    """Validates STIX 2.1 objects; holds what is built once per process (stix2-validator's options)."""

    def __init__(self) -> None:
        self._options: Any = None

    def validate(self, obj: Mapping[str, Any]) -> list[Problem]:
        """Every problem found in ``obj``; an empty list means it is valid STIX 2.1."""
        if not isinstance(obj, Mapping):
            return [Problem("", "a STIX object is a JSON object", "STIX_OBJECT_INVALID")]
        kind = obj.get("type")
        spec = _SPECS.get(kind) if isinstance(kind, str) else None
        if spec is None:
            return self._other(obj)
        out: _Out = []
        checks = spec.checks
        for name, value in obj.items():
            check = checks.get(name)
            if check is None:
                _custom_property(name, value, str(name), out)
            elif value is None:
                _invalid(out, name, "must not be null")
            else:
                check(obj, value, name, out)
        for name in spec.required:
            if name not in obj:
                out.append(Problem(name, f"every {kind} has it", "STIX_PROPERTY_MISSING"))
        for rule in spec.rules:
            rule(obj, out)
        return out

    def _other(self, obj: Mapping[str, Any]) -> list[Problem]:
        """A type outside the fast path: stix2-validator decides, after what it cannot be asked."""
        if "type" not in obj:
            return [Problem("type", "every STIX object has a type name", "STIX_PROPERTY_MISSING")]
        if not isinstance(obj["type"], str):
            return [Problem("type", "must be a type name, a string", "STIX_PROPERTY_INVALID")]
        if "id" not in obj:
            return [Problem("id", "every STIX object has an id", "STIX_PROPERTY_MISSING")]
        out: _Out = []
        if "spec_version" in obj:
            # stix2-validator told to read 2.1 still lets "2.0" pass; this hub takes 2.1 only.
            _spec_version(obj, obj["spec_version"], "spec_version", out)
        return out + self._stix2_validator(obj)

    def _stix2_validator(self, obj: Mapping[str, Any]) -> list[Problem]:
        try:
            from stix2validator import (  # type: ignore[import-untyped]  # noqa: PLC0415 - loaded when needed
                ValidationOptions,
                validate_instance,
            )

            if self._options is None:
                # Non-strict: strict mode turns SHOULDs into errors, some of them wrong (check 103 refuses UUIDv5
                # ids of custom SCOs, §2.9). SHOULD checks are disabled: their warnings would be ignored anyway.
                self._options = ValidationOptions(version="2.1", strict=False, disabled="all")
            result = validate_instance(obj if isinstance(obj, dict) else dict(obj), self._options)
        except Exception as exc:  # noqa: BLE001 - it fails on some malformed input (a number as a timestamp): refuse
            reason = f"stix2-validator cannot check it ({type(exc).__name__}: {exc})"
            return [Problem("", reason, "STIX_VALIDATOR_REJECTED")]
        return [Problem("", str(error), "STIX_VALIDATOR_REJECTED") for error in result.errors]


_DEFAULT = Validator()


def validate(obj: Mapping[str, Any]) -> list[Problem]:
    """Every problem found in ``obj`` as a STIX 2.1 object (none: valid), with the process-wide :class:`Validator`."""
    return _DEFAULT.validate(obj)
