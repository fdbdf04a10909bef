"""Turn a full run's JSON into docs/PERFORMANCE.md and docs/perf-latency.png.

    python -m bench.report bench/results/full-<stamp>.json [more.json ...]

`python -m bench` calls this itself at the end of a full run. The analysis prose lives in
bench/notes.md and is copied in verbatim; every number comes from the JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
PLOT = ROOT / "docs" / "perf-latency.png"
NOTES = Path(__file__).resolve().parent / "notes.md"
MAIN = ["A", "B", "C", "D", "D2"]


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a is not None and b else "-"


def plot(summary: dict[str, dict[str, dict[str, Any]]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, key, title in zip(
        axes, ["latency_ms.p50", "latency_ms.p99"], ["p50", "p99"], strict=True
    ):
        for system, by_rate in summary.items():
            rates = sorted(by_rate, key=float)
            values = [by_rate[r][key] for r in rates]
            ax.plot([float(r) for r in rates], values, marker="o", label=system)
        ax.set_yscale("log")
        ax.set_xlabel("messages / s (open loop, 1,000 sockets)")
        ax.set_title(f"send -> receive latency, {title}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("ms (log scale)")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def latency_table(summary: dict[str, Any], reorder: bool = True) -> list[str]:
    lines = [
        "| system | msgs/s | p50 ms | p90 ms | p99 ms | p99.9 ms | lost | errors | reordered "
        "| server CPU s / 1k msgs | runs (invalid) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for system, by_rate in summary.items():
        for rate in sorted(by_rate, key=float):
            row = by_rate[rate]
            lines.append(
                f"| {system} | {rate} | {fmt(row['latency_ms.p50'], 2)} "
                f"| {fmt(row['latency_ms.p90'], 2)} | {fmt(row['latency_ms.p99'], 2)} "
                f"| {fmt(row['latency_ms.p99_9'], 2)} | {row['lost_total']} "
                f"| {fmt(row['send_errors_total'], 0)} "
                f"| {fmt(row['reordered'], 0) if reorder else 'n/a'} "
                f"| {fmt(row['server_cpu_s_per_1k_msgs'], 2)} "
                f"| {row['runs']} ({row['invalid_runs']}) |"
            )
    return lines


def targets(result: dict[str, Any]) -> list[str]:
    lat = result.get("latency", {}).get("summary", {})
    at200 = {name: rows.get("200") or rows.get("200.0") or {} for name, rows in lat.items()}
    a, d = at200.get("A", {}), at200.get("D", {})
    rows = ["| target | measured | vs floor | met |", "|---|---|---|---|"]

    def add(target: str, measured: str, vs: str, met: bool | None) -> None:
        rows.append(
            f"| {target} | {measured} | {vs} | {'-' if met is None else 'yes' if met else 'NO'} |"
        )

    if a and d:
        a50, d50, d99 = a.get("latency_ms.p50"), d.get("latency_ms.p50"), d.get("latency_ms.p99")
        add(
            "D p50 <= A p50 + 2 ms at 200 msgs/s, 1,000 sockets",
            f"D {fmt(d50, 2)} ms, A {fmt(a50, 2)} ms",
            ratio(d50, a50),
            d50 is not None and a50 is not None and d50 <= a50 + 2,
        )
        add(
            "D p99 <= 20 ms at 200 msgs/s",
            f"{fmt(d99, 2)} ms",
            ratio(d99, a.get("latency_ms.p99")),
            d99 is not None and d99 <= 20,
        )
        # At the lowest rate: a saturated server burns CPU on work that arrives too late.
        low = min(lat["A"], key=float)
        a_low, d_low = lat["A"][low], lat["D"].get(low, {})
        acpu, dcpu = a_low.get("server_cpu_s_per_1k_msgs"), d_low.get("server_cpu_s_per_1k_msgs")
        add(
            "CPU per delivered message <= 3x floor",
            f"D {fmt(dcpu, 2)} s vs A {fmt(acpu, 2)} s per 1k msgs at {low} msgs/s",
            ratio(dcpu, acpu),
            dcpu is not None and acpu is not None and dcpu <= 3 * acpu,
        )
    mx = result.get("max_rate", {}).get("D2")
    if mx:
        best = mx["max_sustained_rate"]
        add(
            ">= 1,000 persisted msgs/s on D2, zero loss",
            f"{fmt(best)} msgs/s",
            "-",
            best is not None and best >= 1000,
        )
    cap = result.get("capacity", {})
    for name, data in cap.items():
        if name == "A":
            continue
        per = data.get("memory_per_socket", {}).get("slope_kb")
        add(
            f">= 10,000 idle sockets per process at <= 50 KB ({name})",
            f"{data['held_max']} held, {fmt(per)} KB/socket",
            ratio(per, cap.get("A", {}).get("memory_per_socket", {}).get("slope_kb")),
            data["held_max"] >= 10000 and per is not None and per <= 50,
        )
    hist = result.get("history")
    if hist:
        p99 = hist["before"]["latency_ms"]["p99"]
        sql = hist.get("sql", {}).get("per_direction")
        fixed = f" (proposed query alone: {fmt(sql['p99'], 2)} ms)" if sql else ""
        add(
            f"history page p99 <= 20 ms at {hist['rows']:,} rows",
            f"{fmt(p99, 2)} ms{fixed}",
            "-",
            p99 is not None and p99 <= 20,
        )
    return rows


def render(result: dict[str, Any]) -> str:
    m = result["machine"]
    lat = result.get("latency", {})
    summary = lat.get("summary", {})
    out = [
        "# Performance",
        "",
        "Generated by `make bench` (`python -m bench`) from "
        f"`{result.get('summary_file', 'bench/results/full-*.json')}`; do not edit by hand "
        "(the analysis comes from `bench/notes.md`).",
        "",
        f"- Command: `{result['command']}` (the `make bench` target), started "
        f"{result['started']}, {result['elapsed_s'] / 60:.0f} minutes.",
        f"- Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB RAM, Python "
        f"{m['python']}, {m['platform']}; load average at start {m['load_avg_at_start']}.",
        "- Everything on 127.0.0.1: generator, servers and redis-server share the 2 cores.",
        *[f"- Re-run and merged in: `{c}`" for c in result.get("reruns", [])],
        *[f"- Erratum ({key}): {text}" for key, text in result.get("errata", {}).items()],
        "",
        "## Targets",
        "",
        *targets(result),
        "",
        "## 1. Latency at 1,000 sockets, 500 conversations (medians of "
        f"{result['profile']['repeats']} interleaved runs)",
        "",
        "![latency vs rate](perf-latency.png)",
        "",
        *latency_table(summary),
        "",
    ]
    if summary.get("A") and summary.get("D"):
        out += [
            "Ratios (medians):",
            "",
            "| msgs/s | D/A p50 | D/A p99 | D2/D p50 | D2/D p99 | D/A CPU per msg |",
            "|---|---|---|---|---|---|",
        ]
        for rate in sorted(summary["A"], key=float):
            a, d = summary["A"][rate], summary["D"].get(rate, {})
            d2 = summary.get("D2", {}).get(rate, {})
            out.append(
                f"| {rate} | {ratio(d.get('latency_ms.p50'), a['latency_ms.p50'])} "
                f"| {ratio(d.get('latency_ms.p99'), a['latency_ms.p99'])} "
                f"| {ratio(d2.get('latency_ms.p50'), d.get('latency_ms.p50'))} "
                f"| {ratio(d2.get('latency_ms.p99'), d.get('latency_ms.p99'))} "
                f"| {ratio(d.get('server_cpu_s_per_1k_msgs'), a['server_cpu_s_per_1k_msgs'])} |"
            )
        out.append("")
    if lat.get("connect"):
        out += [
            "Connecting the sockets (before the clock starts):",
            "",
            "| system | connect s | settle s | frames while settling |",
            "|---|---|---|---|",
        ]
        for name, c in lat["connect"].items():
            out.append(
                f"| {name} | {c['connect_s']} | {c['settle_s']} | {c['frames_while_settling']} |"
            )
        out.append("")
    var = result.get("variants", {}).get("summary")
    if var:
        out += [
            "## Variants: channel layer, server, candidate fixes "
            f"({result['profile']['small_sockets']} sockets, "
            f"{result['profile']['variant_repeats']} runs)",
            "",
            *latency_table(var, reorder="variants.reordered" not in result.get("errata", {})),
            "",
        ]
    if result.get("max_rate"):
        out += [
            "## 2. Highest sustained persisted rate (p99 < 100 ms, zero loss, rows == acks)",
            "",
            "| system | step msgs/s | acked | rows | lost | errors | p50 ms | p99 ms | sustained |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, data in result["max_rate"].items():
            for s in data["steps"]:
                out.append(
                    f"| {name} | {s['rate']} | {s['acked']} | {s['rows_stored']} | {s['lost']} "
                    f"| {sum(s['send_errors'].values())} | {fmt(s['p50_ms'], 2)} "
                    f"| {fmt(s['p99_ms'], 2)} | {s['sustained']} |"
                )
            out.append(f"| **{name} max** | **{fmt(data['max_sustained_rate'])}** |||||||")
        out.append("")
    if result.get("capacity"):
        out += [
            "## 3. Idle capacity and memory",
            "",
            "| system | sockets | alive | RSS MB | connect s |",
            "|---|---|---|---|---|",
        ]
        for name, data in result["capacity"].items():
            for p in data["points"]:
                out.append(
                    f"| {name} | {p['sockets']} | {p.get('alive', '-')} "
                    f"| {p.get('rss_mb', '-')} | {p.get('connect_s', '-')} |"
                )
        out.append("")
        for name, data in result["capacity"].items():
            per = data["memory_per_socket"]
            churn = (
                f"after {data['churn_cycles']} connect/disconnect cycles "
                f"{data['rss_after_churn_mb']} MB ({data['churn_growth_mb']:+} MB)"
                if data["churn_cycles"]
                else "no churn run (the last step did not complete)"
            )
            out.append(
                f"- {name}: {fmt(per.get('slope_kb'))} KB per extra socket (slope), "
                f"{fmt(per.get('average_kb'))} KB average; RSS after closing all "
                f"{data['rss_after_close_mb']} MB; {churn}."
            )
        out.append("")
    if result.get("history"):
        h = result["history"]
        out += [
            f"## 4. History page with {h['rows']:,} stored messages",
            "",
            "| page | requests | p50 ms | p99 ms | errors |",
            "|---|---|---|---|---|",
        ]
        for name in ("before", "newest"):
            lat_ms = h[name]["latency_ms"]
            out.append(
                f"| {name} | {lat_ms['count']} | {fmt(lat_ms['p50'], 2)} "
                f"| {fmt(lat_ms['p99'], 2)} | {h[name]['errors']} |"
            )
        out.append("")
        sql = h.get("sql")
        if sql:
            out += [
                "The page query alone, raw SQL on the same file (300 random pages + 20 newest):",
                "",
                "| query shape | p50 ms | p99 ms | SQLite plan |",
                "|---|---|---|---|",
            ]
            for name, label in (
                ("or", "app today: one OR, ORDER BY id"),
                ("per_direction", "proposed: one query per direction, merged"),
            ):
                out.append(
                    f"| {label} | {fmt(sql[name]['p50'], 2)} | {fmt(sql[name]['p99'], 2)} "
                    f"| {'; '.join(sql['plans'][name])} |"
                )
            out += ["", f"Same rows from both shapes: {sql['same_rows']}.", ""]
    if result.get("login"):
        g = result["login"]
        out += [
            "## 6. Login burst",
            "",
            f"{g['concurrency']} clients logging in back to back while D chats at "
            f"{g['rate']} msgs/s: **{fmt(g['logins_per_s'])} logins/s**; chat p50 "
            f"{fmt(g['chat_p50_quiet_ms'], 2)} -> {fmt(g['chat_p50_burst_ms'], 2)} ms, p99 "
            f"{fmt(g['chat_p99_quiet_ms'], 2)} -> {fmt(g['chat_p99_burst_ms'], 2)} ms; "
            f"lost {g['lost']}, failed logins {g['login_failures']}.",
            "",
        ]
    if NOTES.exists():
        out += [NOTES.read_text().rstrip(), ""]
    return "\n".join(out)


def write(result: dict[str, Any]) -> None:
    DOC.parent.mkdir(exist_ok=True)
    summary = result.get("latency", {}).get("summary")
    if summary:
        plot(summary, PLOT)
    DOC.write_text(render(result))


if __name__ == "__main__":
    # Later files replace whole metrics (a metric re-run after a failure or a fix).
    metrics = {"latency", "variants", "max_rate", "capacity", "history", "login"}
    merged: dict[str, Any] = json.loads(Path(sys.argv[1]).read_text())
    for name in sys.argv[2:]:
        extra = json.loads(Path(name).read_text())
        for key in metrics & extra.keys():
            if key in ("capacity", "max_rate") and key in merged:
                merged[key] = {**merged[key], **extra[key]}  # per system
            else:
                merged[key] = extra[key]
        merged.setdefault("reruns", []).append(extra["command"])
    write(merged)
    print(DOC)
