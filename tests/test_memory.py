"""Freed memory goes back to the operating system (chatproject/memory.py, glibc's malloc).

Each case runs in a fresh interpreter, since what malloc kept depends on the process's history.
"""

import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BURST = textwrap.dedent(
    """
    import sys
    from chatproject.memory import memory_keep_big_blocks_apart, memory_trim

    def rss_mb():
        return int(open("/proc/self/statm").read().split()[1]) * 4096 // 2**20

    if "{remedy}" == "pin":
        assert memory_keep_big_blocks_apart()
    big = bytearray(30 * 2**20)
    del big  # glibc's own rule: blocks under 30 MB now come from its heap
    blocks = [bytearray(8 * 2**20) for _ in range(20)]  # a burst: 160 MB
    last = blocks.pop()
    del blocks  # all freed but the newest, which sits on top of the heap
    if "{remedy}" == "trim":
        assert memory_trim()
    print(rss_mb())
    """
)

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the remedies are for glibc's malloc",
)


def _rss_after_burst(remedy: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", BURST.format(remedy=remedy)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def test_without_a_remedy_a_burst_stays_in_the_process():
    """The problem the remedies solve: 150 MB freed, still counted in RSS."""
    assert _rss_after_burst("none") > 150


@pytest.mark.parametrize("remedy", ["pin", "trim"])
def test_memory_freed_after_a_burst_leaves_the_process(remedy):
    """With the mmap threshold pinned at start-up, or a trim after the burst, RSS goes back
    down to what is still in use (8 MB here) plus the interpreter."""
    assert _rss_after_burst(remedy) < 60
