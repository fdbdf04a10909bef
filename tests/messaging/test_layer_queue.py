"""A socket's channel queue (messaging/layer.py `_SocketQueue`): order, waiting, cancelling."""

import asyncio
import sys

from messaging.layer import _SocketQueue


async def test_items_come_out_in_order_and_a_waiting_reader_wakes_up():
    """Frames put while nobody waits, and while the consumer waits, arrive in order."""
    queue = _SocketQueue()
    queue.put_nowait("first")
    queue.put_nowait("second")
    assert [await queue.get(), await queue.get()] == ["first", "second"]

    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    queue.put_nowait("third")
    assert await asyncio.wait_for(waiting, 1) == "third"
    assert queue.qsize() == 0


async def test_a_cancelled_reader_loses_nothing():
    """The consumer's receive is cancelled (socket closing): a later put is not swallowed."""
    queue = _SocketQueue()
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    queue.put_nowait("kept")
    assert queue.qsize() == 1 and await queue.get() == "kept"


def test_an_idle_queue_is_small():
    """Idle (the usual state of a socket's queue) it is a few dozen bytes, not an
    asyncio.Queue's four deques (~3.8 KB per open socket)."""
    assert sys.getsizeof(_SocketQueue()) < 100
