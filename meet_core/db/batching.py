"""Concurrent requests' statements run as one: a batch per loop turn, or while others are running.

Under load, each statement's fixed costs (a round trip, PostgreSQL's parse-bind-execute
and commit, the socket writes and wake-ups on both sides) outweigh the work of its rows:
a room creation's two rows cost PostgreSQL less than the statement around them. A
:class:`Batcher` hands the items submitted in the same loop turn to one call of its
``run`` (one statement for all of them), and while ``max_in_flight`` calls are running,
gathers the next ones for the call that follows. Alone, an item waits one loop turn, no
more: there is no timer.

``run`` returns one outcome per item, in order. When it raises for a batch of several
items, each is run again on its own, so one bad item (a row refused by a constraint)
gets its own error and the others their outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class Batcher(Generic[Item, Outcome]):
    """``await batcher.submit(item)``: the item's outcome from a ``run`` shared with its neighbours."""

    def __init__(
        self,
        run: Callable[[Sequence[Item]], Awaitable[Sequence[Outcome]]],
        *,
        max_batch: int = 32,
        max_in_flight: int = 4,
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._waiting: list[tuple[Item, asyncio.Future[Outcome]]] = []
        self._in_flight = 0
        self._scheduled = False

    async def submit(self, item: Item) -> Outcome:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if not self._scheduled and self._in_flight < self._max_in_flight:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._start)
        return await future

    def _start(self) -> None:
        """Start batches for what is waiting, as far as ``max_in_flight`` allows."""
        self._scheduled = False
        while self._waiting and self._in_flight < self._max_in_flight:
            batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
            self._in_flight += 1
            asyncio.get_running_loop().create_task(self._execute(batch))

    async def _execute(self, batch: list[tuple[Item, asyncio.Future[Outcome]]]) -> None:
        try:
            await self._settle(batch)
        finally:
            self._in_flight -= 1
            if self._waiting and not self._scheduled:
                self._start()

    async def _settle(self, batch: list[tuple[Item, asyncio.Future[Outcome]]]) -> None:
        try:
            outcomes = await self._run([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0][1], exc)
                return
            for pair in batch:  # each on its own: the error goes to whom it belongs
                await self._settle([pair])
            return
        except BaseException as exc:  # cancelled (shutdown): every waiter learns it
            for _, future in batch:
                _fail(future, exc)
            raise
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():  # its request may have gone (client disconnected)
                future.set_result(outcome)


def _fail(future: asyncio.Future[Outcome], exc: BaseException) -> None:
    if not future.done():
        if isinstance(exc, asyncio.CancelledError):
            future.cancel()
        else:
            future.set_exception(exc)
