"""Device identifiers (the 2017 regulations' broad list) and the checks that catch mistyped ones."""

from __future__ import annotations

import re

SOURCES = ("seized_handset", "lawful_identification", "other")
_FORMATS = {
    "imei": (re.compile(r"\d{15}"), "15 digits (14 + Luhn check digit)"),
    "imeisv": (re.compile(r"\d{16}"), "16 digits"),
    "imsi": (re.compile(r"\d{6,15}"), "6 to 15 digits (MCC + MNC + MSIN)"),
    "msisdn": (re.compile(r"\+?\d{7,15}"), "E.164 number, 7 to 15 digits, optional +"),
    "iccid": (re.compile(r"89\d{16,20}"), "18 to 22 digits starting 89"),
    "meid": (re.compile(r"[0-9A-Fa-f]{14}"), "14 hex digits"),
    "esn": (re.compile(r"[0-9A-Fa-f]{8}"), "8 hex digits"),
    "min": (re.compile(r"\d{10}"), "10 digits"),
    "msin": (re.compile(r"\d{9,10}"), "9 or 10 digits"),
    "mac": (re.compile(r"([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}"), "six hex pairs separated by : or -"),
    "serial": (re.compile(r"[\x21-\x7e]{1,64}"), "1 to 64 printable characters"),
}
KINDS = tuple(_FORMATS)


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def identifier_problem(kind: str, value: str) -> str | None:
    """Why `value` cannot be an identifier of `kind`, or None when it can."""
    if kind not in _FORMATS:
        return f"unknown identifier kind {kind!r}; use one of {', '.join(KINDS)}"
    pattern, described = _FORMATS[kind]
    if not pattern.fullmatch(value):
        return f"{kind} must be {described}, got {value!r}"
    if kind == "imei" and not luhn_ok(value):
        return f"IMEI {value} fails its Luhn check digit: probably mistyped"
    return None
