"""Pagination of list endpoints: flask-smorest's `@blp.paginate()` with the API's page sizes.

`?page=&page_size=` in, the total and page links in the `X-Pagination` header, the body stays a
JSON array. Nothing is cut off silently: the header always says how many rows there are.
"""

from __future__ import annotations

from flask_smorest import Blueprint

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
#: far past any table, within a 64-bit SQL integer: `?page=10**23` is an empty page, not a 500
MAX_OFFSET = 2**53


def paginated(blp: Blueprint):
    """`@blp.paginate()` with this API's default and largest page size."""
    return blp.paginate(page_size=DEFAULT_PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)


def page_slice(pagination_parameters) -> dict:
    """offset/limit of the page that `@blp.paginate()` parsed."""
    return {"offset": min(pagination_parameters.first_item, MAX_OFFSET),
            "limit": pagination_parameters.page_size}
