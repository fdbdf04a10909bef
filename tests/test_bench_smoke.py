"""`make bench-smoke`: the benchmark harness runs end to end at tiny rates (it proves the harness
works, not how fast anything is: no timing is asserted, and on a busy machine every trial may be
marked invalid by the load gate, so the figures here are read from the trials themselves)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.latency import NO_WS_SEND

ROOT = Path(__file__).resolve().parent.parent
ROWS = {"A ws", "B ws", "C ws", "D rest", "D2 rest"}
NODE_ROWS = {"N rest", "N ws"}
APP_WS_ROWS = {"D ws", "D2 ws"}  # measured once the product answers sendMessage (issue 9)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,  # a fresh machine compiles better-sqlite3 for system N first (~3 min)
    )
    assert result.returncode == 0, result.stderr[-4000:]
    printed = json.loads(result.stdout)
    assert "latency" in printed and "trials" not in printed["latency"]  # stdout is the summary
    return json.loads(out.read_text())


def node_ran(smoke: dict) -> bool:
    return "N" not in smoke["skipped_systems"]


def every_trial(smoke: dict, metric: str = "latency"):
    for row, by_rate in smoke[metric]["trials"].items():
        for runs in by_rate.values():
            for run in runs:
                yield row, run


@pytest.mark.slow
def test_every_row_delivers_every_message_to_both_sockets(smoke: dict) -> None:
    """Each system with each send mode it has gets a row, and every message it acknowledged
    reached the sender's and the receiver's socket, once."""
    rows = set(smoke["latency"]["summary"])
    expected = ROWS | (NODE_ROWS if node_ran(smoke) else set())
    for row in APP_WS_ROWS:
        if row in rows:
            expected.add(row)
        else:
            assert smoke["latency"]["skipped"][row] == NO_WS_SEND
    assert rows == expected
    for row, run in every_trial(smoke):
        assert run["acked"] == run["sent"], row
        assert run["received_deliveries"] == run["expected_deliveries"] == 2 * run["sent"], row
        assert run["lost"] == run["duplicates"] == run["send_errors_total"] == 0, row
        assert run["refused_total"] == 0, row
        assert set(run["generator"]) >= {"cpu_share", "loop_lag_p99_ms", "cpu_bound"}
        assert run["server_cpu_s_per_1k_msgs"] is not None


@pytest.mark.slow
def test_websocket_sends_are_answered_and_stored_sends_counted(smoke: dict) -> None:
    """A WebSocket send gets its own answer (messageSent, or a Socket.IO ack) for every message,
    and systems with a database hold exactly as many rows as sends acknowledged."""
    ws_rows = 0
    for row, run in every_trial(smoke):
        if row.endswith(" ws"):
            ws_rows += 1
            assert run["ack_ms"]["count"] == run["sent"], row
        if row.startswith(("D", "N")):
            assert run["rows_stored"] == run["acked"], row
        else:
            assert run["rows_stored"] is None, row
    assert ws_rows >= 3


@pytest.mark.slow
def test_each_trial_records_the_load_gate_and_the_summary_gives_min_median_max(
    smoke: dict,
) -> None:
    """Every trial says the 1-minute load average it started at and whether it counts; the
    summary counts the invalid ones and gives min/median/max of the valid ones only."""
    for row, by_rate in smoke["latency"]["summary"].items():
        for rate, cell in by_rate.items():
            runs = smoke["latency"]["trials"][row][rate]
            assert cell["runs"] == len(runs) == 1
            assert cell["invalid_runs"] == sum(not r["valid"] for r in runs)
            assert set(cell["latency_ms.p99"]) == {"min", "median", "max"}
            valid = [r for r in runs if r["valid"]]
            assert (cell["latency_ms.p99"]["median"] is None) == (not valid)
            assert cell["with_invalid"]["latency_ms.p99"]["median"] is not None
    for _, run in every_trial(smoke):
        assert isinstance(run["load_1m"], float) and isinstance(run["load_ok"], bool)
        assert run["valid"] == (run["load_ok"] and not run["generator"]["cpu_bound"])


@pytest.mark.slow
def test_max_rate_ladder_and_twice_capacity_lose_nothing(smoke: dict) -> None:
    """Each max-rate row climbs its ladder with rows == acks, then runs at twice the rate it
    sustained, where nothing acknowledged is lost."""
    rows = smoke["max_rate"]["rows"]
    assert "D2 rest" in rows and (not node_ran(smoke) or set(rows) >= NODE_ROWS)
    for name, data in rows.items():
        assert data["steps"], name
        for step in data["steps"]:
            assert step["acked"] == step["rows_stored"], name
        over = data["overload"]
        assert over["rate"] == 2 * (data["max_sustained_rate"] or smoke["profile"]["max_rates"][0])
        assert over["lost"] == 0 and over["acked"] == over["rows_stored"], name


@pytest.mark.slow
def test_variants_login_storm_history_and_capacity_report(smoke: dict) -> None:
    """The variants matrix (with a WebSocket send through Django), the login storm, the history
    pages and idle capacity (the app and, where Node runs, the Node peer) all report."""
    variants = set(smoke["variants"]["summary"])
    assert variants == {"C-core ws", "D-wsstub rest", "D-wsstub ws"}
    for _, run in every_trial(smoke, "variants"):
        assert run["lost"] == 0 and run["acked"] == run["sent"]

    login = smoke["login"]
    assert "rest" in login["modes"]
    for mode, data in login["modes"].items():
        assert data["logins_ok"] == login["login_rate"] * login["login_seconds"], mode
        assert data["login_failures"] == data["lost"] == 0, mode
        assert data["login_p99_ms"]["median"] is not None

    history = smoke["history"]
    assert history["rows"] == smoke["profile"]["history_rows"]
    assert history["before"]["errors"] == 0 and history["before"]["latency_ms"]["count"] > 0

    systems = {"D", "N"} if node_ran(smoke) else {"D"}
    assert set(smoke["capacity"]) == systems
    for name in systems:
        capacity = smoke["capacity"][name]
        steps, churn = smoke["profile"]["capacity"][name]
        assert capacity["held_max"] == max(steps), name
        assert all(p.get("alive", p["sockets"]) == p["sockets"] for p in capacity["points"])
        assert capacity["churn_cycles"] == churn
        assert {"rss_before_mb", "rss_back_after_close", "rss_back_after_churn"} <= set(capacity)


@pytest.mark.slow
def test_the_fanout_bench_delivers_every_copy_in_both_designs() -> None:
    """`python -m bench.fanout` at a tiny size: every group copy arrives in both designs, and a
    member of 200 conversations costs 201 subscriptions per socket per conversation group."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.fanout", "--repeats", "1", "--messages", "5"]
        + ["--rate", "50", "--sockets", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    trials = json.loads(result.stdout)["trials"]
    assert {t["design"]: t["copies_received"] for t in trials["group"]} == {
        "user": 5 * 49,
        "conversation": 5 * 49,
    }
    assert {t["design"]: t["subscribes"] for t in trials["member"]} == {
        "user": 2,
        "conversation": 2 * 201,
    }
