"""The portal's bounded cache (web/bounded_cache.py): the values used last, at most `size`."""

from __future__ import annotations

import pytest

from web.bounded_cache import BoundedCache


def test_the_value_used_longest_ago_goes_first() -> None:
    """Room for three. a, b, c fill it; a is used again (order b, c, a); d pushes out b (c, a, d);
    b comes back and pushes out c (a, d, b); so a and d are still kept, c is computed again."""
    kept: BoundedCache[str, str] = BoundedCache(3)
    computed: list[str] = []

    def value(key: str) -> str:
        def compute() -> str:
            computed.append(key)
            return key.upper()

        return kept.get(key, compute)

    for key in ("a", "b", "c", "a", "d", "b", "a", "d", "c"):
        assert value(key) == key.upper()
    assert computed == ["a", "b", "c", "d", "b", "c"]


def test_a_value_may_be_computed_from_another_of_the_same_cache() -> None:
    """A dashboard page asks for its headline while it is computed: the lock lets the same request
    in again. Room for one: the page is kept, the headline it asked for is let go."""
    kept: BoundedCache[str, int] = BoundedCache(1)
    computed: list[str] = []

    def headline() -> int:
        computed.append("headline")
        return 3

    def page() -> int:
        computed.append("page")
        return kept.get("headline", headline) + 1

    assert kept.get("page", page) == 4
    assert kept.get("page", page) == 4
    assert kept.get("headline", headline) == 3
    assert computed == ["page", "headline", "headline"]


def test_a_cache_keeps_at_least_one_value() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BoundedCache[str, str](0)
