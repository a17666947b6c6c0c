"""JavaScript value semantics, as json-logic-js gets them from the JS engine.

Values are JSON values in their Python form: ``None``, ``bool``, ``int`` /
``float``, ``str``, ``list`` (or ``tuple``) and ``dict``. A few other types are
tolerated in data: ``Decimal`` and other real numbers behave as numbers,
``date`` / ``datetime`` as their canonical ISO strings, any other ``Mapping`` as
an object. Python pitfalls handled here: ``True == 1`` (booleans are their own
type), ``bool({})`` (objects are always truthy), ``bool(nan)`` (NaN is falsy),
``1.0`` vs ``1`` (integral results are returned as ``int``).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

Number = int | float

NAN: Final = float("nan")
INF: Final = float("inf")

# JS type tags (arrays and objects are both "object").
NULL: Final = 0
BOOLEAN: Final = 1
NUMBER: Final = 2
STRING: Final = 3
OBJECT: Final = 4

_TAGS: Final[dict[type, int]] = {
    type(None): NULL,
    bool: BOOLEAN,
    int: NUMBER,
    float: NUMBER,
    str: STRING,
    list: OBJECT,
    tuple: OBJECT,
    dict: OBJECT,
}
_SIMPLE: Final = frozenset({type(None), bool, int, float, str})

# ECMAScript WhiteSpace and LineTerminator code points (what String.prototype.trim strips).
_JS_WS: Final = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL = r"[+-]?(?:Infinity|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
_DECIMAL_RE: Final = re.compile(_DECIMAL)
_INTEGER_RE: Final = re.compile(r"[+-]?[0-9]{1,300}")
_RADIX_RE: Final = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_E21: Final = 10**21
_MAX_SAFE: Final = 9007199254740992.0


def js_number(value: Number) -> Number:
    """Normalise a numeric result: integral floats in the exactly representable
    range (``|x| <= 2**53``) become ``int``, so ``1 + 1`` is ``2`` as in JS output;
    ``-0.0`` becomes ``0``."""
    if type(value) is float and -_MAX_SAFE <= value <= _MAX_SAFE and value.is_integer():
        return int(value)
    return value


def js_type(value: Any) -> int:
    """The JS type tag of a Python value (``NULL`` ... ``OBJECT``)."""
    tag = _TAGS.get(type(value))
    if tag is not None:
        return tag
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float, Decimal, numbers.Real)):
        return NUMBER
    if isinstance(value, (str, date)):
        return STRING
    return OBJECT


def is_array(value: Any) -> bool:
    """JS ``Array.isArray``: lists and tuples."""
    return type(value) is list or type(value) is tuple


# --- truthiness ----------------------------------------------------------------------------


def truthy(value: Any) -> bool:
    """JsonLogic truthiness: JS ``!!value``, except that ``[]`` is falsy."""
    t = type(value)
    if t is bool:
        return value  # type: ignore[no-any-return]
    if t is str or t is int or t is list or t is tuple:
        return bool(value)
    if value is None:
        return False
    if t is float:
        return value != 0 and value == value  # type: ignore[no-any-return]
    if t is dict:
        return True
    return _other_truthy(value)


def _other_truthy(value: Any) -> bool:
    tag = js_type(value)
    if tag == NUMBER:
        number = to_number(value)
        return number != 0 and number == number
    if tag == STRING:
        return to_string(value) != ""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return len(value) > 0
    return True


# --- conversions ---------------------------------------------------------------------------


def _parse_decimal(text: str) -> Number:
    if _INTEGER_RE.fullmatch(text):
        return int(text)
    return js_number(float(text))


def string_to_number(text: str) -> Number:
    """JS ``Number(string)``: ``""`` -> 0, ``"1e3"`` -> 1000, ``"0x10"`` -> 16, junk -> NaN."""
    stripped = text.strip(_JS_WS)
    if not stripped:
        return 0
    if _DECIMAL_RE.fullmatch(stripped):
        return _parse_decimal(stripped)
    if _RADIX_RE.fullmatch(stripped):
        return int(stripped, 0)
    return NAN


def to_number(value: Any) -> Number:
    """JS ``Number(value)`` (ToNumber)."""
    t = type(value)
    if t is int or t is float:
        return value  # type: ignore[no-any-return]
    if t is str:
        return string_to_number(value)
    if value is None:
        return 0
    if t is bool:
        return 1 if value else 0
    if t is list or t is tuple:
        return string_to_number(_join(value))
    if t is dict:
        return NAN
    return _other_to_number(value)


def _other_to_number(value: Any) -> Number:
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        return int(value)
    if isinstance(value, (float, Decimal, numbers.Real)):
        number = float(value)
        return js_number(number)
    if isinstance(value, str):
        return string_to_number(str(value))
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return string_to_number(_join(value))
    return NAN


def parse_float(value: Any) -> Number:
    """JS ``parseFloat(value)``: the longest decimal prefix of ``String(value)``."""
    t = type(value)
    if t is int or t is float:
        return value  # type: ignore[no-any-return]
    match = _DECIMAL_RE.match(to_string(value).lstrip(_JS_WS))
    if match is None:
        return NAN
    return _parse_decimal(match.group())


def to_integer(value: Any) -> float | int:
    """JS ToIntegerOrInfinity: NaN -> 0, truncation toward zero, infinities kept."""
    number = to_number(value)
    if number != number:
        return 0
    if number in (INF, -INF):
        return number
    return math.trunc(number)


def number_to_string(value: float) -> str:
    """JS ``Number.prototype.toString()`` for a float (shortest round-trip digits)."""
    if value != value:
        return "NaN"
    if value == INF:
        return "Infinity"
    if value == -INF:
        return "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    integer, _, fraction = mantissa.partition(".")
    digits = integer + fraction
    n = len(integer) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    n -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    exp = f"e{'+' if e > 0 else '-'}{abs(e)}"
    if k == 1:
        return sign + digits + exp
    return sign + digits[0] + "." + digits[1:] + exp


def format_datetime(value: date) -> str:
    """Canonical ISO form: ``YYYY-MM-DD`` for dates, JS ``toISOString()`` for
    datetimes (UTC, milliseconds, ``Z``); naive datetimes are taken as UTC."""
    if not isinstance(value, datetime):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:"
        f"{value.minute:02d}:{value.second:02d}.{value.microsecond // 1000:03d}Z"
    )


def to_string(value: Any) -> str:
    """JS ``String(value)``."""
    t = type(value)
    if t is str:
        return value  # type: ignore[no-any-return]
    if t is int:
        return str(value) if -_E21 < value < _E21 else number_to_string(float(value))
    if t is float:
        return number_to_string(value)
    if t is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if t is list or t is tuple:
        return _join(value)
    if t is dict:
        return "[object Object]"
    return _other_to_string(value)


def _join(values: Sequence[Any]) -> str:
    """``Array.prototype.join(",")``: null elements become empty strings."""
    return ",".join("" if item is None else to_string(item) for item in values)


def _other_to_string(value: Any) -> str:
    tag = js_type(value)
    if tag == BOOLEAN:
        return "true" if value else "false"
    if tag == NUMBER:
        return to_string(to_number(value))
    if isinstance(value, date):
        return format_datetime(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return "[object Object]"
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return _join(value)
    return str(value)


def to_primitive(value: Any) -> Any:
    """JS ToPrimitive: arrays and objects become strings; primitives unchanged."""
    t = type(value)
    if t is list or t is tuple:
        return _join(value)
    if t is dict:
        return "[object Object]"
    if t in _SIMPLE:
        return value
    tag = js_type(value)
    if tag in (STRING, OBJECT):
        return to_string(value)
    if tag == NUMBER:
        return to_number(value)
    return value


# --- equality ------------------------------------------------------------------------------


def strict_equals(a: Any, b: Any) -> bool:
    """JS ``a === b`` (objects and arrays compare by identity)."""
    ta = type(a)
    if ta is type(b) and ta in _SIMPLE:
        return a == b  # type: ignore[no-any-return]
    tag = js_type(a)
    if tag != js_type(b):
        return False
    if tag == OBJECT:
        return a is b
    if tag == NUMBER:
        return to_number(a) == to_number(b)
    if tag == STRING:
        return to_string(a) == to_string(b)
    return a == b  # type: ignore[no-any-return]


def same_value_zero(a: Any, b: Any) -> bool:
    """JS ``Array.prototype.includes`` equality: ``===`` except that NaN equals NaN."""
    if strict_equals(a, b):
        return True
    if js_type(a) != NUMBER or js_type(b) != NUMBER:
        return False
    x = to_number(a)
    y = to_number(b)
    return x != x and y != y


def loose_equals(a: Any, b: Any) -> bool:
    """JS ``a == b`` (IsLooselyEqual): ``1 == "1"``, ``0 == false``, ``null != 0``."""
    ta = type(a)
    if ta is type(b) and ta in _SIMPLE:
        return a == b  # type: ignore[no-any-return]
    x = js_type(a)
    y = js_type(b)
    if x == y:
        return strict_equals(a, b)
    if x == NULL or y == NULL:
        return False
    if x == BOOLEAN:
        return loose_equals(1 if a else 0, b)
    if y == BOOLEAN:
        return loose_equals(a, 1 if b else 0)
    if (x == NUMBER and y == STRING) or (x == STRING and y == NUMBER):
        return to_number(a) == to_number(b)
    if x == OBJECT:
        return loose_equals(to_primitive(a), b)
    if y == OBJECT:
        return loose_equals(a, to_primitive(b))
    return False


# --- relational comparison -----------------------------------------------------------------


def _string_less(a: str, b: str) -> bool:
    # JS compares UTF-16 code units; Python compares code points. They differ only
    # when astral characters meet BMP characters above the surrogate range.
    if a.isascii() or b.isascii():
        return a < b
    return a.encode("utf-16-be", "surrogatepass") < b.encode("utf-16-be", "surrogatepass")


def less_than(a: Any, b: Any) -> bool:
    """JS ``a < b``: string comparison if both are strings, numeric otherwise (NaN -> false)."""
    ta = type(a)
    tb = type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return a < b  # type: ignore[no-any-return]
    if ta is str and tb is str:
        return _string_less(a, b)
    a = to_primitive(a)
    b = to_primitive(b)
    if type(a) is str and type(b) is str:
        return _string_less(a, b)
    return to_number(a) < to_number(b)


def less_equal(a: Any, b: Any) -> bool:
    """JS ``a <= b``."""
    ta = type(a)
    tb = type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return a <= b  # type: ignore[no-any-return]
    if ta is str and tb is str:
        return not _string_less(b, a)
    a = to_primitive(a)
    b = to_primitive(b)
    if type(a) is str and type(b) is str:
        return not _string_less(b, a)
    return to_number(a) <= to_number(b)
