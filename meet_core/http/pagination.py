"""DRF's page-number pagination (spec/api.md §0.5): ``{"count", "next", "previous", "results"}``.

``next``/``previous`` are absolute URLs built from the request URL with ``page`` replaced
(removed for page 1) and the query keys sorted, as Django's ``replace_query_param`` does,
on the path with its trailing slash.
The "custom" flavour (rooms, recordings, files) also honours ``?page_size=`` up to 100; the
"default" one (resource accesses, users) always pages by 20. A page that does not exist is a
404 ``{"detail": "Invalid page."}``.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec
from litestar import Request

from meet_core.http.errors import not_found

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class Page(msgspec.Struct, frozen=True):
    """The slice of a listing to load: ``number`` (1-based), ``size``, ``offset``."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def page_size(request: Request[Any, Any, Any], *, custom: bool) -> int:
    """``?page_size=`` (custom flavour only; capped at 100, invalid or non-positive values ignored)."""
    if not custom:
        return DEFAULT_PAGE_SIZE
    raw = request.query_params.get("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_PAGE_SIZE
    if value <= 0:
        return DEFAULT_PAGE_SIZE
    return min(value, MAX_PAGE_SIZE)


def resolve_page(request: Request[Any, Any, Any], count: int, *, custom: bool) -> Page:
    """The requested page (``?page=``, ``last`` accepted); 404 "Invalid page." when out of range."""
    size = page_size(request, custom=custom)
    pages = max(1, math.ceil(count / size))
    raw = request.query_params.get("page") or "1"  # DRF: an empty ``?page=`` is the first page
    if raw == "last":
        return Page(pages, size)
    try:
        number = int(raw)
    except ValueError:
        raise not_found("Invalid page.") from None
    if number < 1 or number > pages:
        raise not_found("Invalid page.")
    return Page(number, size)


def _with_page(url: str, number: int | None) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    if not path.endswith("/"):
        path += "/"  # the old URLs always end with a slash; Litestar matched without it
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, []).append(value)
    if number is None:
        params.pop("page", None)
    else:
        params["page"] = [str(number)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment))


def envelope(request: Request[Any, Any, Any], page: Page, count: int, results: list[Any]) -> dict[str, Any]:
    """The paginated answer for ``results`` (the items of ``page``) out of ``count``."""
    url = str(request.url)
    has_next = page.number * page.size < count
    if page.number <= 1:
        previous = None
    else:
        previous = _with_page(url, None if page.number == 2 else page.number - 1)
    return {
        "count": count,
        "next": _with_page(url, page.number + 1) if has_next else None,
        "previous": previous,
        "results": results,
    }
