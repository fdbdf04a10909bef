"""The issue-9 targets, judged from one run's JSON: the numbers, the ratios, met or not.

Every figure is a median over the valid (load-gated) trials of the same run; a target whose
figures are missing (a metric not run, a row skipped, every trial invalid) is "not measured".
"""

from __future__ import annotations

from typing import Any

FLOOR = "A ws"
CPU_LIMITS = {"D rest": 10.0, "D ws": 5.0}  # x the floor's CPU per delivered message
MAX_RATE_LIMITS = {"D rest": 200.0, "D ws": 400.0}  # persisted msgs/s at 1,000 sockets
SCALE_OUT = 1.5  # D2 >= 1.5x D
IDLE_SOCKETS = 10_000
IDLE_KB, IDLE_KB_STRETCH = 30.0, 20.0
CONNECT_S = 30.0
LOGIN_P99_MS = 100.0
SERVER_GAP = 0.25  # Uvicorn becomes the default only if it is faster by more than this
IDLE_SYSTEMS = ("D", "D-uvicorn")


def median(row: dict[str, Any] | None, key: str) -> float | None:
    value = (row or {}).get(key)
    return value.get("median") if isinstance(value, dict) else value


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def verdict(met: bool | None) -> str:
    return "not measured" if met is None else "yes" if met else "NO"


def lowest_common_rate(summary: dict[str, Any], *rows: str) -> str | None:
    rates = [set(summary.get(r, {})) for r in rows]
    common = set.intersection(*rates) if rates else set()
    return min(common, key=float) if common else None


def cpu_rows(result: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """CPU per delivered message against the floor, at the lowest rate (nothing saturated)."""
    summary = result.get("latency", {}).get("summary", {})
    out = []
    for row, limit in CPU_LIMITS.items():
        rate = lowest_common_rate(summary, FLOOR, row)
        target = f"CPU per delivered message, {row} <= {limit:g}x A"
        if rate is None:
            out.append((target, "-", None))
            continue
        mine = median(summary[row][rate], "server_cpu_s_per_1k_msgs")
        floor = median(summary[FLOOR][rate], "server_cpu_s_per_1k_msgs")
        x = ratio(mine, floor)
        if x is None:  # every trial of one of the two rows was invalid
            out.append((target, f"- (no valid trial at {rate} msgs/s)", None))
            continue
        measured = f"{fmt(mine, 2)} vs {fmt(floor, 2)} CPU s per 1k msgs at {rate} msgs/s"
        out.append((target, f"{measured}: **{fmt(x)}x**", x <= limit))
    return out


def _clean_steps(data: dict[str, Any]) -> bool:
    return all(
        s["lost"] == 0 and all(a == r for a, r in zip(s["acked"], s["rows_stored"], strict=True))
        for s in data["steps"]
    )


def rate_rows(result: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    rows = result.get("max_rate", {}).get("rows", {})
    out = []
    for row, limit in MAX_RATE_LIMITS.items():
        data = rows.get(row)
        target = f"{row}: >= {limit:g} persisted msgs/s sustained, 1,000 sockets"
        if data is None:
            out.append((target, "-", None))
            continue
        best = data["max_sustained_rate"]
        out.append((target, f"{fmt(best)} msgs/s", best is not None and best >= limit))
        two = rows.get(row.replace("D ", "D2 "))
        target = f"{row.replace('D ', 'D2 ')} >= {SCALE_OUT:g}x {row}"
        if two is None:
            out.append((target, "-", None))
        else:
            x = ratio(two["max_sustained_rate"], best)
            measured = f"{fmt(two['max_sustained_rate'])} vs {fmt(best)} msgs/s: {fmt(x)}x"
            out.append((target, measured, x is not None and x >= SCALE_OUT))
    for row, data in rows.items():
        if row.startswith("D"):
            out.append((f"{row}: zero loss and rows == acks at every step", "", _clean_steps(data)))
    for row, data in rows.items():
        over = data["overload"]
        measured = (
            f"{fmt(over['rate'])} msgs/s: lost {over['lost']}, refused {over['refused_total']}, "
            f"delayed {over['delayed_deliveries']} deliveries"
        )
        out.append((f"{row} at 2x capacity loses nothing", measured, over["lost"] == 0))
    return out


def idle_rows(result: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    cap = result.get("capacity", {})
    out = []
    for name in IDLE_SYSTEMS:
        data = cap.get(name)
        target = (
            f"{name}: {IDLE_SOCKETS:,} idle sockets, <= {IDLE_KB:g} KB each "
            f"(stretch {IDLE_KB_STRETCH:g}), connected in < {CONNECT_S:g} s"
        )
        if data is None:
            out.append((target, "-", None))
            continue
        per = data["memory_per_socket"]
        avg, connect = per.get("average_kb"), data.get("connect_total_s")
        stretch = " (stretch met)" if avg is not None and avg <= IDLE_KB_STRETCH else ""
        measured = (
            f"{data['held_max']:,} held, {fmt(avg)} KB average ({fmt(per.get('slope_kb'))} "
            f"slope){stretch}, {fmt(connect)} s"
        )
        met = (
            data["held_max"] >= IDLE_SOCKETS
            and avg is not None
            and avg <= IDLE_KB
            and connect is not None
            and connect < CONNECT_S
        )
        out.append((target, measured, met))
        measured = (
            f"{data['rss_before_mb']} MB before, {data['rss_after_close_mb']} MB after closing, "
            f"{data['rss_after_churn_mb']} MB after {data['churn_cycles']:,} cycles"
        )
        met = data["rss_back_after_close"] and bool(data["rss_back_after_churn"])
        out.append((f"{name}: RSS back within 20% after close and churn", measured, met))
    return out


def login_rows(result: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    login = result.get("login")
    if not login:
        return [("login storm: chat p99 < 100 ms", "-", None)]
    out = []
    for mode, data in login["modes"].items():
        p99 = data["chat_p99_storm_ms"]["median"]
        target = (
            f"{login['login_rate']:g} logins/s for {login['login_seconds']:g} s: "
            f"chat ({mode}) p99 < {LOGIN_P99_MS:g} ms"
        )
        out.append((target, f"{fmt(p99)} ms", None if p99 is None else p99 < LOGIN_P99_MS))
    return out


def server_rows(result: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """Daphne vs Uvicorn: the default changes only if Uvicorn is faster by more than 25%."""
    summary = result.get("latency", {}).get("summary", {})
    out = []
    for mode in ("rest", "ws"):
        daphne, uvicorn = f"D {mode}", f"D-uvicorn {mode}"
        rate = lowest_common_rate(summary, daphne, uvicorn)
        if rate is None:
            continue
        d, u = summary[daphne][rate], summary[uvicorn][rate]
        cpu_d, cpu_u = (median(x, "server_cpu_s_per_1k_msgs") for x in (d, u))
        p50_d, p50_u = (median(x, "latency_ms.p50") for x in (d, u))
        x = ratio(cpu_u, cpu_d)
        measured = (
            f"at {rate} msgs/s, Uvicorn vs Daphne: CPU per 1k msgs {fmt(cpu_u, 2)} vs "
            f"{fmt(cpu_d, 2)} s, p50 {fmt(p50_u, 2)} vs {fmt(p50_d, 2)} ms"
        )
        if x is not None:
            choice = "switch to Uvicorn" if 1 - x > SERVER_GAP else "keep Daphne"
            measured += f" ({1 - x:+.0%} CPU): {choice}"
        out.append((f"server ({mode}): Uvicorn the default only if > 25% cheaper", measured, None))
    return out


def targets(result: dict[str, Any]) -> list[str]:
    rows = ["| target | measured | met |", "|---|---|---|"]
    for target, measured, met in (
        cpu_rows(result)
        + rate_rows(result)
        + idle_rows(result)
        + login_rows(result)
        + server_rows(result)
    ):
        shown = verdict(met) if not target.startswith("server") else "decision"
        rows.append(f"| {target} | {measured} | {shown} |")
    return rows
