"""`make bench-smoke`: the benchmark harness runs end to end at tiny rates (it proves the harness
works, not how fast anything is: no timing is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = {"A", "B", "C", "D", "D2"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    printed = json.loads(result.stdout)
    assert "latency" in printed and "trials" not in printed["latency"]  # stdout is the summary
    return json.loads(out.read_text())


@pytest.mark.slow
def test_every_system_delivers_every_message_to_both_sockets(smoke: dict) -> None:
    summary = smoke["latency"]["summary"]
    assert set(summary) == SYSTEMS
    for system, by_rate in summary.items():
        for rate, row in by_rate.items():
            assert row["runs"] == 1, (system, rate)
            assert row["lost_total"] == 0, (system, rate)
            assert row["send_errors_total"] == 0, (system, rate)
            assert row["latency_ms.p50"] is not None and row["latency_ms.p99_9"] is not None
    for trials in smoke["latency"]["trials"].values():
        for runs in trials.values():
            for run in runs:
                assert run["received_deliveries"] == run["expected_deliveries"] == 2 * run["sent"]
                assert run["duplicates"] == 0
                assert set(run["generator"]) >= {"cpu_share", "loop_lag_p99_ms", "cpu_bound"}
                assert run["server_cpu_s_per_1k_msgs"] is not None


@pytest.mark.slow
def test_variants_max_rate_login_history_and_capacity_report(smoke: dict) -> None:
    assert set(smoke["variants"]["summary"]) == set(smoke["profile"]["variants"])
    for row in smoke["variants"]["summary"].values():
        assert all(r["lost_total"] == 0 for r in row.values())

    steps = smoke["max_rate"]["D2"]["steps"]
    assert steps and all(s["rows_stored"] == s["acked"] == s["sent"] for s in steps)

    login = smoke["login"]
    assert login["lost"] == 0 and login["login_failures"] == 0 and login["logins_per_s"] > 0

    history = smoke["history"]
    assert history["rows"] == smoke["profile"]["history_rows"]
    assert history["before"]["errors"] == 0 and history["before"]["latency_ms"]["count"] > 0

    capacity = smoke["capacity"]["D"]
    steps, churn = smoke["profile"]["capacity"]["D"]
    assert capacity["held_max"] == max(steps)
    assert all(p.get("alive", p["sockets"]) == p["sockets"] for p in capacity["points"])
    assert capacity["churn_cycles"] == churn
    assert {"sockets", "rss_mb"} <= set(capacity["points"][-1])
