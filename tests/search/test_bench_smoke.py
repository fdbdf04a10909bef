"""`python -m bench.search --smoke` runs end to end (it proves the harness, not the speed: no
timing is asserted, and a busy machine marks the run invalid)."""

from pathlib import Path

import pytest

from tests.bench_runs import bench_json


@pytest.mark.slow
def test_the_search_bench_runs_and_reports_every_figure(tmp_path: Path) -> None:
    out = bench_json("bench.search", "--smoke", "--db", str(tmp_path / "s.sqlite3"), timeout=600)
    assert out["smoke"] is True and out["messages"] == 5000
    assert out["indexed"] == 5000  # every seeded message is in the index after the rebuild
    assert out["probe_conversations"] > 10
    search = out["search"]
    assert {"common word", "rare word", "prefix (2 letters)", "common, from a person"} <= set(
        search
    )
    assert search["common word"]["results"] == 20  # a full first page
    assert search["absent word"]["results"] == 0
    for name, figures in search.items():
        assert figures["p50_ms"] is not None and figures["p99_ms"] >= figures["p50_ms"], name
    send = out["send"]
    assert send["rounds"] == 3 and len(send["load_1m"]) == 6
    for key in ("cpu_us_per_send_with_index", "cpu_us_per_send_without_index"):
        assert send[key]["min"] <= send[key]["median"] <= send[key]["max"]
    assert isinstance(out["valid"], bool)
