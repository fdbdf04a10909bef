"""`python -m bench.sqlite_costs` runs end to end and stores what it says it stores (no timing
is asserted: it proves the script works, not how fast SQLite is)."""

import sqlite3

import pytest

from bench import sqlite_costs
from tests.bench_runs import bench_json


@pytest.mark.slow
def test_it_prints_every_variant_with_its_spread():
    report = bench_json("bench.sqlite_costs", "--messages", "20", "--repeats", "1", timeout=300)
    assert set(report["cpu_us_per_message"]) == set(sqlite_costs.VARIANTS)
    for figures in report["cpu_us_per_message"].values():
        assert figures["min"] <= figures["median"] <= figures["max"]
    assert "load_1m_at_start" in report and "valid" in report


def test_the_variants_drop_only_what_they_name(tmp_path):
    """The trigger and the five FK indexes go; the unique indexes the send path relies on stay."""
    con = sqlite3.connect(tmp_path / "db.sqlite3")
    con.execute(
        "CREATE TABLE messaging_message (id INTEGER PRIMARY KEY, sender_id, client_id,"
        " receiver_id, conversation_id, seq, deleted_by_id, reply_to_id, text)"
    )
    for column in sqlite_costs.FK_INDEXES:
        con.execute(f'CREATE INDEX "ix_{column}" ON "messaging_message" ("{column}")')
    con.execute('CREATE UNIQUE INDEX "u_client" ON "messaging_message" ("sender_id", "client_id")')
    con.execute('CREATE UNIQUE INDEX "u_seq" ON "messaging_message" ("conversation_id", "seq")')
    con.execute(
        "CREATE TRIGGER search_message_ai AFTER INSERT ON messaging_message BEGIN SELECT 1; END"
    )

    sqlite_costs._prepare(con, no_fts=True, no_fk_indexes=True)

    left = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type != 'table'")}
    assert left == {"u_client", "u_seq"}
