"""``meet_core.db.batching.Batcher``: neighbours share a run, each gets its own outcome or error."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from meet_core.db.batching import Batcher


class Recorder:
    """A ``run`` that doubles numbers, refuses negative ones, and records its batches."""

    def __init__(self, pause: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.pause = pause

    async def __call__(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await asyncio.sleep(self.pause)
        if any(item < 0 for item in items):
            raise ValueError(f"negative in {list(items)}")
        return [item * 2 for item in items]


async def test_items_submitted_in_one_loop_turn_share_one_run():
    run = Recorder()
    batcher = Batcher(run)
    assert await asyncio.gather(*(batcher.submit(n) for n in range(10))) == [n * 2 for n in range(10)]
    assert run.batches == [list(range(10))]


async def test_an_item_alone_runs_alone_and_at_once():
    run = Recorder()
    batcher = Batcher(run)
    assert await batcher.submit(21) == 42
    assert await batcher.submit(4) == 8
    assert run.batches == [[21], [4]]


async def test_a_failed_batch_is_run_again_one_by_one():
    run = Recorder()
    batcher = Batcher(run)
    results = await asyncio.gather(*(batcher.submit(n) for n in (1, -2, 3)), return_exceptions=True)
    assert results[0] == 2 and results[2] == 6
    assert isinstance(results[1], ValueError) and str(results[1]) == "negative in [-2]"
    assert run.batches == [[1, -2, 3], [1], [-2], [3]]


async def test_while_batches_run_the_next_items_gather_for_the_next_run():
    run = Recorder(pause=0.05)
    batcher = Batcher(run, max_in_flight=1)
    first = asyncio.ensure_future(batcher.submit(0))
    await asyncio.sleep(0.01)  # the first run is in flight: these wait for it, together
    later = [asyncio.ensure_future(batcher.submit(n)) for n in (1, 2, 3)]
    assert await asyncio.gather(first, *later) == [0, 2, 4, 6]
    assert run.batches == [[0], [1, 2, 3]]


async def test_batches_are_cut_at_max_batch():
    run = Recorder()
    batcher = Batcher(run, max_batch=4, max_in_flight=2)
    assert await asyncio.gather(*(batcher.submit(n) for n in range(10))) == [n * 2 for n in range(10)]
    assert run.batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


async def test_a_waiter_that_gave_up_does_not_break_its_neighbours():
    run = Recorder(pause=0.05)
    batcher = Batcher(run)
    impatient = asyncio.ensure_future(batcher.submit(1))
    patient = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0.01)
    impatient.cancel()
    assert await patient == 4
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert run.batches == [[1, 2]]
