"""Fresh names: one rule for every place that makes names unique."""

from itertools import chain, count


def unique_name(base: str, taken: set[str]) -> str:
    """`base`, or `base_1`, `base_2`, ... : the first not in `taken` (which gets it)."""
    candidates = chain([base], (f"{base}_{i}" for i in count(1)))
    name = next(n for n in candidates if n not in taken)
    taken.add(name)
    return name
