"""Participant colour: spec vectors and an independent MT19937 written from services.md §1.1."""

from __future__ import annotations

import hashlib
import random
import uuid

import pytest

from meet_core.livekit.color import color_for_seed, color_seed, generate_color, warm_color_cache

VECTORS = [
    ("alice", 51688, "hsl(311, 68%, 44%)"),
    ("00000000-0000-0000-0000-000000000000", 18128, "hsl(351, 72%, 53%)"),
    ("user-sub-123", 3660, "hsl(292, 59%, 39%)"),
    ("", 1801, "hsl(55, 70%, 42%)"),
    ("x4220", 0, "hsl(197, 74%, 51%)"),
]


class MT19937:
    """Reference Mersenne Twister (Matsumoto & Nishimura, mt19937ar.c), no CPython code."""

    N = 624
    M = 397
    MATRIX_A = 0x9908B0DF
    UPPER_MASK = 0x80000000
    LOWER_MASK = 0x7FFFFFFF
    MASK32 = 0xFFFFFFFF

    def __init__(self) -> None:
        self.mt = [0] * self.N
        self.mti = self.N + 1

    def init_genrand(self, s: int) -> None:
        mt = self.mt
        mt[0] = s & self.MASK32
        for i in range(1, self.N):
            mt[i] = (1812433253 * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i) & self.MASK32
        self.mti = self.N

    def init_by_array(self, key: list[int]) -> None:
        n, mt = self.N, self.mt
        self.init_genrand(19650218)
        i, j = 1, 0
        for _ in range(max(n, len(key))):
            mt[i] = ((mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525)) + key[j] + j) & self.MASK32
            i += 1
            j += 1
            if i >= n:
                mt[0] = mt[n - 1]
                i = 1
            if j >= len(key):
                j = 0
        for _ in range(n - 1):
            mt[i] = ((mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941)) - i) & self.MASK32
            i += 1
            if i >= n:
                mt[0] = mt[n - 1]
                i = 1
        mt[0] = 0x80000000

    def genrand_uint32(self) -> int:
        mt, n, m = self.mt, self.N, self.M
        if self.mti >= n:
            for kk in range(n):
                y = (mt[kk] & self.UPPER_MASK) | (mt[(kk + 1) % n] & self.LOWER_MASK)
                mt[kk] = mt[(kk + m) % n] ^ (y >> 1) ^ (self.MATRIX_A if y & 1 else 0)
            self.mti = 0
        y = mt[self.mti]
        self.mti += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y

    def randbelow(self, n: int) -> int:
        k = n.bit_length()
        r = self.genrand_uint32() >> (32 - k)
        while r >= n:
            r = self.genrand_uint32() >> (32 - k)
        return r

    def randint(self, a: int, b: int) -> int:
        return a + self.randbelow(b - a + 1)


def reference_color(identity: str) -> str:
    """Colour computed only from the written description (SHA-1 hex, low 16 bits, MT19937)."""
    seed = int(hashlib.sha1(identity.encode("utf-8")).hexdigest(), 16) & 0xFFFF
    mt = MT19937()
    mt.init_by_array([seed])
    hue = mt.randint(0, 360)
    saturation = mt.randint(50, 75)
    lightness = mt.randint(25, 60)
    return f"hsl({hue}, {saturation}%, {lightness}%)"


def test_reference_mt19937_matches_published_output() -> None:
    """Sanity-check the reference itself against mt19937ar.out (init_by_array 0x123...)."""
    mt = MT19937()
    mt.init_by_array([0x123, 0x234, 0x345, 0x456])
    assert [mt.genrand_uint32() for _ in range(5)] == [
        1067595299,
        955945823,
        477289528,
        4107218783,
        4228976476,
    ]


@pytest.mark.parametrize(("identity", "seed", "expected"), VECTORS)
def test_spec_vectors(identity: str, seed: int, expected: str) -> None:
    assert color_seed(identity) == seed
    assert generate_color(identity) == expected
    assert reference_color(identity) == expected


def test_matches_reference_on_random_uuids() -> None:
    rng = random.Random(20240601)  # fixed so a failure is reproducible
    identities = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(2000)]
    mismatches = [i for i in identities if generate_color(i) != reference_color(i)]
    assert mismatches == []


def test_global_random_state_untouched() -> None:
    """QUIRK fix: the old code re-seeded the global PRNG; we use a private instance."""
    color_for_seed.cache_clear()
    state = random.getstate()
    generate_color("alice")
    generate_color("someone-else")
    assert random.getstate() == state


def test_format_and_ranges() -> None:
    for seed in range(0, 65536, 257):
        color = color_for_seed(seed)
        hue, sat, light = (
            int(part.strip().rstrip("%")) for part in color.removeprefix("hsl(")[:-1].split(",")
        )
        assert color == f"hsl({hue}, {sat}%, {light}%)"
        assert 0 <= hue <= 360
        assert 50 <= sat <= 75
        assert 25 <= light <= 60


def test_non_ascii_identity_uses_utf8() -> None:
    assert generate_color("héllo-😀") == reference_color("héllo-😀")


def test_warm_cache_holds_every_seed_with_the_computed_colour() -> None:
    """``meet serve`` warms the cache before forking: every seed, each as computed cold."""
    color_for_seed.cache_clear()
    cold = {seed: color_for_seed(seed) for seed in (0, 1, 4242, 65535)}
    color_for_seed.cache_clear()
    warm_color_cache()
    assert color_for_seed.cache_info().currsize == 1 << 16
    assert {seed: color_for_seed(seed) for seed in cold} == cold
    assert color_for_seed.cache_info().misses == 1 << 16  # the lookups above were all hits
