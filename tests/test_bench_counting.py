"""The benchmark's counting rules (bench/trial.py) and its load-average gate (bench/loadavg.py):
what the report calls lost, refused, an error, and an invalid trial."""

import pytest

from bench import loadavg
from bench.loadavg import LoadGate, load_gate
from bench.trial import Trial

MS = 1_000_000


def trial(mode: str, messages: int = 3) -> Trial:
    t = Trial(trial_id=1, mode=mode, warm_seq=0, sched_ns=[0] * messages)
    for seq in range(messages):
        t.expect(seq, 2)  # the receiver's socket and the sender's own
    t.finish_sending()
    return t


def test_an_acknowledged_message_missing_from_a_socket_is_lost() -> None:
    """A REST 201 whose message reached only one of the two sockets counts as one lost message."""
    t = trial("rest", messages=1)
    t.answer(0, 201, 5 * MS)
    t.deliver(0, own_socket=True, now_ns=6 * MS)
    t.close()
    counts = t.counts()
    assert (counts["acked"], counts["lost"], counts["lost_deliveries"]) == (1, 1, 1)


def test_a_refused_send_is_counted_as_refused_never_as_lost() -> None:
    """429 and 503 (or messageFailed with them) are refusals; their deliveries are not expected."""
    t = trial("ws", messages=2)
    t.answer(0, 429, 5 * MS, kind="ws")
    t.answer(1, 503, 5 * MS, kind="ws")
    t.close()
    counts = t.counts()
    assert counts["refused"] == {"429": 1, "503": 1} and counts["refused_total"] == 2
    assert counts["lost"] == counts["send_errors_total"] == counts["expected_deliveries"] == 0


def test_a_websocket_send_never_answered_is_an_error_not_a_loss() -> None:
    """No messageSent by the end of the drain: an error ("no_answer"), even if it was delivered."""
    t = trial("ws", messages=1)
    t.deliver(0, own_socket=False, now_ns=3 * MS)
    t.close()
    counts = t.counts()
    assert counts["send_errors"] == {"no_answer": 1} and counts["lost"] == 0


def test_a_late_delivery_is_delayed_and_a_second_one_a_duplicate() -> None:
    """Deliveries over 100 ms after the scheduled send are delayed; a repeat is a duplicate."""
    t = trial("ws", messages=1)
    t.answer(0, 201, 2 * MS, kind="ws")
    t.deliver(0, own_socket=True, now_ns=150 * MS)
    t.deliver(0, own_socket=False, now_ns=20 * MS)
    t.deliver(0, own_socket=False, now_ns=30 * MS)
    counts = t.counts()
    assert counts["delayed_deliveries"] == 1 and counts["duplicates"] == 1
    assert counts["lost"] == 0 and t.done.is_set()


async def test_a_trial_starting_above_the_load_limit_is_invalid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A machine still busy when the wait runs out gives an invalid trial, not a published one."""
    monkeypatch.setattr(loadavg, "load_1m", lambda: 1.7)
    gate = await load_gate(LoadGate(limit=1.0, wait=0.0))
    assert gate == {"load_1m": 1.7, "load_wait_s": 0.0, "load_ok": False}


async def test_the_gate_waits_for_the_load_to_fall(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate polls until the 1-minute load average is at the limit, then lets the trial run."""
    readings = iter([2.4, 1.6, 0.9])
    monkeypatch.setattr(loadavg, "load_1m", lambda: next(readings))
    monkeypatch.setattr(loadavg, "POLL_S", 0.0)
    gate = await load_gate(LoadGate(limit=1.0, wait=60.0))
    assert gate["load_ok"] is True and gate["load_1m"] == 0.9
