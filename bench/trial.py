"""The book-keeping of one timed run: what was sent, answered, refused, delivered and lost.

Counting rules (docs/PERFORMANCE.md, "How it is measured"):

- A send is *acknowledged* by REST 200/201 or a `messageSent` (a Socket.IO ack with the
  message). *Refused* is REST 429/503 or a `messageFailed` with status 429/503: the server said
  "not now", which is allowed past capacity and never counted as lost. Any other answer, a
  broken connection, or no answer by the end of the drain is an *error*.
- *Lost* is an acknowledged message that did not reach every open socket of both people by
  the end of the drain. A message that was not acknowledged can't be lost (nobody was told it
  was sent); its deliveries, if they come, still count for latency.
- *Delayed* is a delivery later than DELAYED_MS after the message's scheduled send time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bench.stats import Latency

DELAYED_MS = 100.0  # the p99 bound of a sustained rate (issue 9)
REFUSED = {429, 503}


@dataclass
class Trial:
    trial_id: int
    mode: str  # "rest" or "ws"
    warm_seq: int  # messages below this are warm-up: counted for loss, not for latency
    sched_ns: list[int] = field(default_factory=list)
    pending: dict[int, int] = field(default_factory=dict)  # seq -> deliveries still expected
    unanswered: set[int] = field(default_factory=set)  # ws sends with no answer yet
    acked: set[int] = field(default_factory=set)
    dropped: set[int] = field(default_factory=set)  # refused or failed: deliveries not expected
    expected: int = 0
    received: int = 0
    duplicates: int = 0
    reordered: int = 0
    stray: int = 0  # frames of another trial
    delivered_after_refusal: int = 0
    delayed: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    send_errors: dict[str, int] = field(default_factory=dict)
    latency: Latency = field(default_factory=Latency)  # to the receiver's socket
    echo: Latency = field(default_factory=Latency)  # back to the sender's own socket
    ack: Latency = field(default_factory=Latency)  # the send's answer (REST or WS)
    lateness: Latency = field(default_factory=Latency)  # generator's own send lateness
    done: asyncio.Event = field(default_factory=asyncio.Event)
    sending: bool = True

    def expect(self, seq: int, deliveries: int) -> None:
        self.pending[seq] = deliveries
        self.expected += deliveries
        if self.mode == "ws":
            self.unanswered.add(seq)

    def answer(self, seq: int, status: int, now_ns: int, kind: str = "http") -> None:
        """The send of `seq` got `status` (200/201 ok, 429/503 refused, else an error)."""
        if seq in self.acked or seq in self.dropped:
            return  # a second answer to the same send
        self.unanswered.discard(seq)
        self.ack.record_ns(now_ns - self.sched_ns[seq])
        if status in (200, 201):
            self.acked.add(seq)
        elif status in REFUSED:
            self.refused[str(status)] = self.refused.get(str(status), 0) + 1
            self.drop(seq)
        else:
            self.error(f"{kind}_{status}")
            self.drop(seq)
        self._check_done()

    def error(self, kind: str) -> None:
        self.send_errors[kind] = self.send_errors.get(kind, 0) + 1

    def drop(self, seq: int) -> None:
        """No deliveries are expected for a send that was refused or failed."""
        self.dropped.add(seq)
        self.unanswered.discard(seq)
        self.expected -= self.pending.pop(seq, 0)
        self._check_done()

    def deliver(self, seq: int, own_socket: bool, now_ns: int) -> bool:
        """Count one delivery; False for a duplicate (or a delivery of a dropped send)."""
        left = self.pending.get(seq, 0)
        if left <= 0:
            if seq in self.dropped:
                self.delivered_after_refusal += 1
            else:
                self.duplicates += 1
            return False
        if left == 1:
            del self.pending[seq]
        else:
            self.pending[seq] = left - 1
        self.received += 1
        delay = now_ns - self.sched_ns[seq]
        if delay > DELAYED_MS * 1e6:
            self.delayed += 1
        if seq >= self.warm_seq:
            (self.echo if own_socket else self.latency).record_ns(delay)
        self._check_done()
        return True

    def _check_done(self) -> None:
        if not self.sending and not self.pending and not self.unanswered:
            self.done.set()

    def finish_sending(self) -> None:
        self.sending = False
        self._check_done()

    def close(self) -> None:
        """End of the drain: a ws send still unanswered is an error (it may never be stored)."""
        for seq in sorted(self.unanswered):
            self.error("no_answer")
            self.drop(seq)

    def counts(self) -> dict[str, object]:
        lost = [seq for seq in self.pending if seq in self.acked]
        return {
            "acked": len(self.acked),
            "refused": self.refused,
            "refused_total": sum(self.refused.values()),
            "send_errors": self.send_errors,
            "send_errors_total": sum(self.send_errors.values()),
            "expected_deliveries": self.expected,
            "received_deliveries": self.received,
            "lost": len(lost),
            "lost_deliveries": sum(self.pending[seq] for seq in lost),
            "delayed_deliveries": self.delayed,
            "duplicates": self.duplicates,
            "delivered_after_refusal": self.delivered_after_refusal,
            "reordered": self.reordered,
            "stray": self.stray,
        }
