"""Participant colour derived from a LiveKit identity (services.md §1.1).

The frontend shows each participant with the colour carried in the token's ``color``
attribute. It must be byte-identical to the old backend's, so that a participant keeps the
same colour across both servers: SHA-1 of the identity, low 16 bits as seed for CPython's
MT19937 (``random.Random``), then three ``randint`` calls (hue, saturation, lightness).

Deviation from the old system (QUIRK fix): the old code called ``random.seed()`` and so
re-seeded the process-global PRNG on every token. Here a private ``random.Random`` instance is
used, so the global ``random`` state is never touched. The output is the same.

Only 65,536 seeds exist, so results are cached per seed: after warm-up a colour costs one
SHA-1 and a dict lookup (about 1.5 µs instead of about 10 µs). ``meet serve`` fills the whole
cache once (:func:`warm_color_cache`, about 0.6 s) before it forks its workers, so that no
worker computes a colour on the join path, even in its first minutes.
"""

from __future__ import annotations

import functools
import hashlib
import random

__all__ = ["color_for_seed", "color_seed", "generate_color", "warm_color_cache"]


def color_seed(identity: str) -> int:
    """Return the PRNG seed of ``identity``: the last two bytes of its SHA-1, big-endian.

    Same value as ``int(sha1(identity).hexdigest(), 16) & 0xFFFF`` in the old code.
    """
    digest = hashlib.sha1(identity.encode("utf-8"), usedforsecurity=False).digest()
    return (digest[18] << 8) | digest[19]


@functools.cache
def color_for_seed(seed: int) -> str:
    """Return the ``hsl(H, S%, L%)`` string for a seed in ``0..65535`` (cached).

    ``random.Random`` is CPython's MT19937 seeded through ``init_by_array([seed])`` exactly
    like ``random.seed(seed)``; ``randint`` uses the same rejection sampling on
    ``getrandbits``. The order of the three draws is part of the contract.
    """
    rng = random.Random(seed)  # private instance: the global PRNG stays untouched
    hue = rng.randint(0, 360)
    saturation = rng.randint(50, 75)
    lightness = rng.randint(25, 60)
    return f"hsl({hue}, {saturation}%, {lightness}%)"


def generate_color(identity: str) -> str:
    """Return the participant colour of a LiveKit identity, e.g. ``hsl(311, 68%, 44%)``."""
    return color_for_seed(color_seed(identity))


def warm_color_cache() -> None:
    """Compute the colour of every seed now (forked workers inherit the filled cache)."""
    for seed in range(1 << 16):
        color_for_seed(seed)
