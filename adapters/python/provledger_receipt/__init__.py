"""Receipts v2 reference adapter for Python writers (standard library only).

The contract is docs/receipts.md and schema/receipt-v2.schema.json of
provledger_exporter; the C++ library src/receipt and adapters/typescript
implement the same rules and are held to the same fixtures
(tests/fixtures/receipts). Three things:

- parse / validate: ``parse(body)`` reads a body as the contract's strict
  JSON (I-JSON); ``read_v2(body)`` validates a v2 body; ``check_body(version,
  body, columns)`` is the exporter decoder's verdict on a stored row;
- v1 -> v2: ``read_v1(body, columns)`` and ``convert_v1(body, columns)``;
- canonical hash: ``canonicalize(body)`` (RFC 8785) and ``content_hash(body)``
  = lowercase hex SHA-256 of the canonical bytes.

Bodies are ``bytes`` (UTF-8) or ``str``. Errors raise ReceiptError with a
``code``: "json", "not_object", "version", "v2", "columns" or "convert".
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

SCHEMA_V2 = "provledger.receipt/v2"
MAX_DEPTH = 128

__all__ = [
    "SCHEMA_V2", "MAX_DEPTH", "ReceiptError", "Columns", "Receipt", "parse", "canonicalize",
    "canonical_bytes", "content_hash", "format_number", "read_v2", "read_v1", "convert_v1",
    "write_v2", "check_body", "format_timestamp", "parse_timestamp", "depth",
]


class ReceiptError(ValueError):
    """A body or row the contract refuses; ``code`` is the corpus error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# ---- strict JSON reader ----

class _Duplicate(Exception):
    pass


def _pairs(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Duplicate(k)
        out[k] = v
    return out


def _number(text: str) -> float:
    v = float(text)
    if math.isinf(v):
        raise ReceiptError("json", "number overflow (not a finite double): " + text[:32])
    return v + 0.0 if v != 0 else 0.0   # -0 reads as 0


def _constant(name: str) -> Any:
    raise ReceiptError("json", "unexpected character; expected a value: " + name)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_tree(v: Any, depth: int) -> int:
    """Checks nesting and surrogates; returns the deepest nesting (0 for a scalar)."""
    if isinstance(v, (dict, list)):
        if depth > MAX_DEPTH:
            raise ReceiptError("json", "nesting deeper than %d levels" % MAX_DEPTH)
        deepest = depth
        items = v.items() if isinstance(v, dict) else ((None, x) for x in v)
        for k, x in items:
            if k is not None and _SURROGATE.search(k):
                raise ReceiptError("json", "lone surrogate in a key")
            deepest = max(deepest, _check_tree(x, depth + 1))
        return deepest
    if isinstance(v, str) and _SURROGATE.search(v):
        raise ReceiptError("json", "lone surrogate in a string")
    return depth - 1


def depth(value: Any) -> int:
    """The deepest nesting of a parsed value: 0 for a scalar, 1 for {} or []."""
    return _check_tree(value, 1)


def parse(body: Union[bytes, str]) -> Any:
    """The value of a body, read as the contract's strict JSON (I-JSON):
    numbers are floats, objects dicts. Raises ReceiptError("json")."""
    if isinstance(body, (bytes, bytearray)):
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ReceiptError("json", "not valid UTF-8: %s" % e) from None
    else:
        text = body
        if _SURROGATE.search(text):
            raise ReceiptError("json", "not valid UTF-8 (surrogate code point)")
    if text.startswith("\ufeff"):
        raise ReceiptError("json", "a byte order mark is not allowed")
    try:
        v = json.loads(text, object_pairs_hook=_pairs, parse_float=_number, parse_int=_number,
                       parse_constant=_constant)
    except _Duplicate as e:
        raise ReceiptError("json", 'duplicate key "%s"' % e.args[0]) from None
    except RecursionError:
        raise ReceiptError("json", "nesting deeper than %d levels" % MAX_DEPTH) from None
    except json.JSONDecodeError as e:
        raise ReceiptError("json", "not valid JSON: %s" % e) from None
    _check_tree(v, 1)
    return v


# ---- canonical form (RFC 8785) ----

def format_number(x: float) -> str:
    """ECMAScript Number.prototype.toString of a finite double (RFC 8785 3.2.2.3)."""
    if math.isnan(x) or math.isinf(x):
        raise ValueError("NaN and Infinity have no JSON form")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    r = repr(abs(x))   # shortest round-trip digits
    mant, _, exp = r.partition("e")
    ip, _, fp = mant.partition(".")
    digits = ip + fp
    n = len(ip) + (int(exp) if exp else 0)   # value = 0.digits * 10^n
    stripped = digits.lstrip("0")
    n -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        s = digits + "0" * (n - k)
    elif 0 < n <= 21:
        s = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        s = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        s = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + s


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(s: str, out: List[str]) -> None:
    out.append('"')
    for ch in s:
        e = _ESCAPES.get(ch)
        if e is not None:
            out.append(e)
        elif ch < " ":
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')


def _utf16(k: str) -> bytes:
    return k.encode("utf-16-be")


def _canon(v: Any, out: List[str]) -> None:
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, (int, float)):
        out.append(format_number(float(v)))
    elif isinstance(v, str):
        _string(v, out)
    elif isinstance(v, list):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _canon(x, out)
        out.append("]")
    elif isinstance(v, dict):
        out.append("{")
        for i, k in enumerate(sorted(v, key=_utf16)):
            if i:
                out.append(",")
            _string(k, out)
            out.append(":")
            _canon(v[k], out)
        out.append("}")
    else:
        raise TypeError("not a JSON value: %r" % type(v))


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 serialization of an already parsed value, as UTF-8."""
    out: List[str] = []
    _canon(value, out)
    return "".join(out).encode("utf-8")


def canonicalize(body: Union[bytes, str]) -> bytes:
    """RFC 8785 serialization of a body. Raises ReceiptError("json")."""
    return canonical_bytes(parse(body))


def content_hash(body: Union[bytes, str]) -> str:
    """Lowercase hex SHA-256 of the body's canonical form."""
    return hashlib.sha256(canonicalize(body)).hexdigest()


# ---- timestamps ----

_TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$")
_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_timestamp(s: str) -> Optional[int]:
    """Epoch microseconds of YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z, or None."""
    m = _TS.match(s) if s.isascii() else None
    if not m:
        return None
    y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
    frac = int((m.group(7) or "").ljust(6, "0"))
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    if y < 1 or not 1 <= mo <= 12 or d < 1 or h > 23 or mi > 59 or sec > 59:
        return None
    if d > _DAYS[mo - 1] + (1 if mo == 2 and leap else 0):
        return None
    return (_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000000 + frac


def format_timestamp(us: int) -> str:
    """RFC 3339 UTC with 6 fraction digits."""
    days, rem = divmod(us, 86400000000)
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    secs, frac = divmod(rem, 1000000)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (y, m, d, secs // 3600, secs // 60 % 60, secs % 60, frac)


# ---- the typed model ----

@dataclass
class Columns:
    """A receipt's row columns; a NULL column is ""."""
    receipt_id: str = ""
    tenant_id: str = ""
    op_id: str = ""
    region: str = ""
    policy_version: str = ""
    kid: str = ""
    created_us: int = 0
    content_hash: str = ""


@dataclass
class Receipt:
    version: int = 2
    receipt_id: str = ""
    tenant_id: str = ""
    op_id: str = ""
    region: str = ""
    policy_version: str = ""
    kid: str = ""
    created_us: Optional[int] = None
    action: Optional[str] = None
    actor: Optional[str] = None
    resource: Optional[str] = None
    decision: Optional[str] = None
    payload: Optional[Dict[str, Any]] = None
    migrated_from_hash: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)   # unknown fields of a v2 body


_IDENTITY = ["receipt_id", "tenant_id", "op_id", "policy_version", "kid", "region"]
_OPTIONAL_STR = ["action", "actor", "resource", "decision"]
_KNOWN = ["schema"] + _IDENTITY + ["created_at"] + _OPTIONAL_STR + ["payload", "migrated_from"]


def _kind(v: Any) -> str:
    if isinstance(v, list):
        return "array"
    if isinstance(v, str):
        return "string"
    return "scalar (number, boolean or null)"


def _object(body: Union[bytes, str]) -> Dict[str, Any]:
    v = parse(body)
    if not isinstance(v, dict):
        raise ReceiptError("not_object", "body is a JSON %s, not an object" % _kind(v))
    return v


def _v2(msg: str) -> ReceiptError:
    return ReceiptError("v2", msg)


def _validate_v2(o: Dict[str, Any]) -> Receipt:
    """The contract, checked in the order of the C++ library (first failing field)."""
    r = Receipt(version=2)
    for f in _KNOWN:
        required = f == "schema" or f in _IDENTITY
        if f not in o:
            if required:
                raise _v2('v2 body lacks field "%s"' % f)
            continue
        v = o[f]
        if f in ("payload", "migrated_from"):
            if not isinstance(v, dict):
                raise _v2('v2 body field "%s" is not an object' % f)
            if f == "payload":
                r.payload = v
            else:
                ver = v.get("version")
                if isinstance(ver, bool) or not isinstance(ver, float) or ver != 1.0:
                    raise _v2('v2 body field "migrated_from" needs "version": 1')
                h = v.get("content_hash")
                if not isinstance(h, str):
                    raise _v2('v2 body field "migrated_from" needs a string "content_hash"')
                r.migrated_from_hash = h
            continue
        if not isinstance(v, str):
            raise _v2('v2 body field "%s" is not a string' % f)
        if f == "schema":
            if v != SCHEMA_V2:
                raise _v2('v2 body field "schema" is "%s", expected "%s"' % (v, SCHEMA_V2))
        elif required:
            if v == "":
                raise _v2('v2 body field "%s" is empty' % f)
            setattr(r, f, v)
        elif f == "created_at":
            us = parse_timestamp(v)
            if us is None:
                raise _v2('v2 body field "created_at" is not an RFC 3339 UTC timestamp: "%s"' % v)
            r.created_us = us
        else:
            setattr(r, f, v)
    r.extra = {k: v for k, v in o.items() if k not in _KNOWN}
    return r


def read_v2(body: Union[bytes, str]) -> Receipt:
    """Parses and validates a v2 body against the contract (not against a row)."""
    return _validate_v2(_object(body))


def read_v1(body: Union[bytes, str], columns: Columns) -> Receipt:
    """A v1 row in the v2 model (docs/receipts.md, mapping); payload = the v1 body."""
    o = _object(body)
    d = depth(o)
    if d >= MAX_DEPTH:
        raise ReceiptError("convert", "v1 body is nested %d deep; as the v2 payload it would exceed %d"
                           % (d, MAX_DEPTH))
    r = Receipt(version=1)
    for col, name in (("receipt_id", None), ("tenant_id", "tenant"), ("op_id", "op")):
        cv = getattr(columns, col)
        if cv == "":
            raise ReceiptError("convert", "column %s is empty" % col)
        if name is not None and name in o and o[name] != cv:
            raise ReceiptError("convert", 'v1 body field "%s" differs from column %s' % (name, col))
        setattr(r, col, cv)
    for col, name in (("policy_version", "policy"), ("kid", "kid"), ("region", "region")):
        cv = getattr(columns, col)
        present = name in o
        bv = o.get(name)
        if cv != "":
            if present and bv != cv:
                raise ReceiptError("convert", 'v1 body field "%s" differs from column %s' % (name, col))
            setattr(r, col, cv)
        elif isinstance(bv, str) and bv != "":
            setattr(r, col, bv)
        else:
            raise ReceiptError("convert", "no %s: column is NULL or empty and the v1 body has no "
                                          'non-empty string "%s"' % (col, name))
    r.created_us = columns.created_us
    r.payload = o
    return r


def write_v2(r: Receipt) -> bytes:
    """The canonical v2 body of a model (absent optionals left out)."""
    o: Dict[str, Any] = dict(r.extra)
    o["schema"] = SCHEMA_V2
    for f in _IDENTITY:
        o[f] = getattr(r, f)
    if r.created_us is not None:
        o["created_at"] = format_timestamp(r.created_us)
    for f in _OPTIONAL_STR:
        if getattr(r, f) is not None:
            o[f] = getattr(r, f)
    if r.payload is not None:
        o["payload"] = r.payload
    if r.migrated_from_hash is not None:
        o["migrated_from"] = {"version": 1, "content_hash": r.migrated_from_hash}
    return canonical_bytes(o)


def convert_v1(body: Union[bytes, str], columns: Columns) -> bytes:
    """The canonical v2 body of a v1 row, recording the row's stored hash."""
    r = read_v1(body, columns)
    r.migrated_from_hash = columns.content_hash
    return write_v2(r)


def check_body(version: int, body: Union[bytes, str], columns: Columns) -> None:
    """The exporter decoder's verdict on a stored body: returns or raises."""
    if version not in (1, 2):
        raise ReceiptError("version", "unsupported receipt version %d" % version)
    o = _object(body)
    if version == 1:
        return
    r = _validate_v2(o)
    for f in _IDENTITY:
        if getattr(r, f) != getattr(columns, f):
            raise ReceiptError("columns", 'v2 body field "%s" is "%s", expected "%s"'
                               % (f, getattr(r, f), getattr(columns, f)))
    if r.created_us is not None and r.created_us != columns.created_us:
        raise ReceiptError("columns", 'v2 body field "created_at" differs from the row')
