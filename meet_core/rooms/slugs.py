"""Room slugs, computed exactly like Django's ``slugify`` (the old system's room URLs)."""

from __future__ import annotations

import re
import unicodedata

_NOT_SLUG = re.compile(r"[^\w\s-]")
_SEPARATORS = re.compile(r"[-\s]+")


def slugify(value: str) -> str:
    """ASCII-fold, lowercase, keep letters/digits/``_``/``-``, collapse spaces and hyphens."""
    value = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode("ascii")
    value = _NOT_SLUG.sub("", value.lower())
    return _SEPARATORS.sub("-", value).strip("-_")
