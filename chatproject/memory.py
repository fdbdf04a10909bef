"""Give freed memory back to the operating system (glibc's malloc; elsewhere these do nothing).

Every request runs in a thread of its own here, and glibc keeps what threads free for reuse.
After a burst of uploads (7 MB request bodies handed over in 8 KB pieces, Pillow's pixel
blocks, decoded base64) the process would stay hundreds of megabytes bigger for good, which is
what the issue measured (docs/PERFORMANCE.md, "Image uploads"). Two remedies:

- `memory_keep_big_blocks_apart()` at start-up: glibc serves blocks of 128 KB and up with mmap,
  so freeing them returns the memory, but the first time one is freed it raises that threshold
  to the block's size (up to 32 MB) and later ones come from heaps that keep them. A fixed
  threshold keeps big blocks on mmap.
- `memory_trim()` once a burst is over: returns the free pages left between live allocations
  in the heaps (~30 ms for a few hundred megabytes).
"""

import ctypes
import functools
import logging
from typing import Any

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
MMAP_THRESHOLD = 1024 * 1024  # bytes; blocks this big and bigger are mmapped


@functools.cache
def _libc() -> Any:
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def memory_keep_big_blocks_apart() -> bool:
    """Pin glibc's mmap threshold; False where the C library has no such setting."""
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None or mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1:
        logger.info("malloc has no mmap threshold to set: RSS may not shrink after bursts")
        return False
    return True


def memory_trim() -> bool:
    """Hand the free pages inside malloc's heaps back to the OS; False if none could be."""
    malloc_trim = getattr(_libc(), "malloc_trim", None)
    return bool(malloc_trim and malloc_trim(0))
