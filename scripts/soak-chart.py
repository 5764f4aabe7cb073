#!/usr/bin/env python3
"""The chart and the verdict for one backend's soak (scripts/soak.sh).

    scripts/soak-chart.py [--svg soak-sqlite.svg] [--rss-bound-mib 16] target/soak/soak-sqlite.csv

Reads the samples that soak.sh wrote (one row per window of wrk: when it ended, requests per
second, p99, the server's VmRSS and VmHWM, answers by class), draws throughput, p99 and RSS over
time as three stacked panels of one SVG, and prints a summary and a verdict. Both come from
here so that the parts shaded in the chart are the parts the verdict compares.

The parts, by window: the first tenth is warm-up (caches, the pool, the allocator settling:
minute 0 to 1 of a 10-minute soak) and is left out; "early" is the next three tenths (minutes 1
to 4), "late" the last three tenths (minutes 7 to 10). The verdict:

- throughput is flat when the late mean is within twice the windows' own standard deviation
  (pooled over both parts) of the early mean: closer than that, the difference is what this
  machine does from one window to the next anyway. Otherwise it degrades (or improves).
- RSS is flat when its median over the late part is less than the bound above its median over
  the early part. Medians, not the first and last samples: on SQLite one sample can sit 10 to
  20 MiB above its neighbours when it catches reports in flight. The default bound, 16 MiB,
  is about the most the largest cache that may still be filling up can take: SQLite's page
  cache, 2,000 KiB per connection by default, times the pool's 8 connections. The parts'
  middles are 6 minutes apart, so a leak of 45 bytes per request at 1,000 requests per second
  passes it. The slope over the late part is printed too: a cache levels off, a leak does not.

Standard library only (no matplotlib): the SVG is written by hand.
"""

import argparse
import csv
import math
import statistics
import sys
from xml.sax.saxutils import escape

WARM_UP_SHARE = 0.1
PART_SHARE = 0.3


def parts(rows):
    """(warm-up, early, late) slices of the rows, by window."""
    n = len(rows)
    warm = max(1, math.ceil(n * WARM_UP_SHARE))
    part = max(1, round(n * PART_SHARE))
    return rows[:warm], rows[warm:warm + part], rows[max(warm, n - part):]


def mean_sd(values):
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def pooled_sd(a, b):
    """The standard deviation of windows around their own part's mean, over both parts."""
    dof = len(a) + len(b) - 2
    if dof <= 0:
        return 0.0
    squares = sum((x - statistics.fmean(a)) ** 2 for x in a)
    squares += sum((x - statistics.fmean(b)) ** 2 for x in b)
    return math.sqrt(squares / dof)


def slope_per_minute(rows, key):
    """Least-squares slope of `key` against time, per minute."""
    if len(rows) < 2:
        return 0.0
    ts = [r["t_seconds"] for r in rows]
    ys = [r[key] for r in rows]
    mt, my = statistics.fmean(ts), statistics.fmean(ys)
    var = sum((t - mt) ** 2 for t in ts)
    return 60 * sum((t - mt) * (y - my) for t, y in zip(ts, ys)) / var if var else 0.0


def percent(new, old):
    return 100 * (new - old) / old if old else float("nan")


def verdict(rows, rss_bound):
    """The printed summary, the overall verdict word, and the parts' figures for the chart."""
    warm, early, late = parts(rows)
    after = rows[len(warm):]
    early_rps, late_rps = [r["req_per_s"] for r in early], [r["req_per_s"] for r in late]
    early_mean, early_sd = mean_sd(early_rps)
    late_mean, late_sd = mean_sd(late_rps)
    spread = 2 * pooled_sd(early_rps, late_rps)
    change = late_mean - early_mean
    if len(early) < 2 or len(late) < 2:
        throughput = "not judged (a part of one window has no spread)"
    elif abs(change) <= spread:
        throughput = "flat"
    else:
        throughput = "degrades" if change < 0 else "improves"

    p99_early = statistics.median(r["p99_ms"] for r in early)
    p99_late = statistics.median(r["p99_ms"] for r in late)
    p99_after = [r["p99_ms"] for r in after]

    rss_start, rss_end = warm[-1]["rss_mib"], rows[-1]["rss_mib"]
    rss_early = statistics.median(r["rss_mib"] for r in early)
    rss_late = statistics.median(r["rss_mib"] for r in late)
    growth = rss_late - rss_early
    memory = "flat" if growth < rss_bound else "grows"
    peak = max(r["hwm_mib"] for r in rows)

    requests = sum(r["requests"] for r in rows)
    total = {k: sum(int(r[k]) for r in rows)
             for k in ("status_2xx", "status_409", "status_4xx_other", "status_5xx",
                       "socket_errors", "timeouts")}
    words = [w for w in (throughput != "flat" and f"throughput {throughput}",
                         memory != "flat" and "RSS grows") if w]
    overall = ", ".join(words) if words else "flat"
    backend = rows[0]["backend"]
    lines = [
        f"{backend}: {len(rows)} windows, {requests:,.0f} requests, "
        f"mean {statistics.fmean(r['req_per_s'] for r in rows):,.0f} req/s; answers: "
        f"{total['status_2xx']:,} 2xx, {total['status_409']:,} 409, "
        f"{total['status_4xx_other']:,} other 4xx, {total['status_5xx']:,} 5xx, "
        f"{total['socket_errors']:,} socket errors, {total['timeouts']:,} timeouts; "
        f"load average up to {max(r['load1'] for r in rows):.1f}",
        f"  throughput  early {early_mean:,.0f} ± {early_sd:,.0f} req/s, late {late_mean:,.0f} ± "
        f"{late_sd:,.0f}: {percent(late_mean, early_mean):+.1f}% "
        f"(windows' spread, 2 sd: {spread:,.0f} req/s = {percent(early_mean + spread, early_mean):.1f}%)"
        f" -> {throughput}",
        f"  p99         early median {p99_early:.2f} ms, late {p99_late:.2f} ms: "
        f"{percent(p99_late, p99_early):+.1f}%; after warm-up {min(p99_after):.2f} to "
        f"{max(p99_after):.2f} ms",
        f"  RSS         early median {rss_early:.1f} MiB, late {rss_late:.1f} MiB: {growth:+.1f} MiB "
        f"(bound {rss_bound:g} MiB); {rss_start:.1f} MiB after warm-up, {rss_end:.1f} MiB at the "
        f"end, peak (VmHWM) {peak:.1f} MiB; late slope "
        f"{slope_per_minute(late, 'rss_mib'):+.2f} MiB/min -> {memory}",
        f"  verdict     {backend}: {overall}",
    ]
    return lines, {"warm": warm, "early": early, "late": late,
                   "early_mean": early_mean, "late_mean": late_mean}


def nice_step(span, ticks=5):
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    # A little slack, so that a run of 10.02 minutes still gets a tick every minute.
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power * 1.05:
            return m * power
    return 10 * power


def fmt(value):
    return f"{value:,.0f}" if value >= 10 or value == 0 else f"{value:g}"


WIDTH, LEFT, RIGHT = 760, 80, 20
TOP, PANEL, GAP = 84, 140, 46


def chart(rows, marks, title):
    """Three stacked panels (req/s, p99, RSS) over one time axis, as SVG text."""
    t_end = rows[-1]["t_seconds"]
    minutes = t_end >= 120
    unit = 60 if minutes else 1
    x_max = t_end / unit
    plot_w = WIDTH - LEFT - RIGHT

    def x(t):
        return LEFT + plot_w * (t / unit) / x_max

    height = TOP + 3 * PANEL + 2 * GAP + 50
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{LEFT}" y="20" font-size="14">{escape(title)}</text>',
           f'<text x="{LEFT}" y="40" fill="#555">each point is one window of wrk, drawn at its '
           'end; shaded: warm-up (grey), the early and late parts the verdict compares</text>']

    def start_of(part):
        i = rows.index(part[0])
        return rows[i - 1]["t_seconds"] if i else 0.0

    bands = [(0.0, marks["warm"][-1]["t_seconds"], "#eeeeee", "warm-up"),
             (start_of(marks["early"]), marks["early"][-1]["t_seconds"], "#e3eefa", "early"),
             (start_of(marks["late"]), marks["late"][-1]["t_seconds"], "#fbeedd", "late")]
    panels = [("throughput, requests/s", [("req_per_s", "#1f5fa8", "")]),
              ("p99 latency, ms", [("p99_ms", "#b5470b", "")]),
              ("server memory, MiB", [("rss_mib", "#2b7a3b", ""), ("hwm_mib", "#888", "4 3")])]
    step_x = nice_step(x_max, 10)
    for index, (label, series) in enumerate(panels):
        top = TOP + index * (PANEL + GAP)
        bottom = top + PANEL
        y_top_value = max(r[key] for key, _, _ in series for r in rows) * 1.1 or 1
        step_y = nice_step(y_top_value, 4)
        y_max = step_y * math.ceil(y_top_value / step_y)

        def y(value, bottom=bottom, y_max=y_max):
            return bottom - PANEL * value / y_max

        for start, end, colour, name in bands:
            out.append(f'<rect x="{x(start):.1f}" y="{top}" width="{x(end) - x(start):.1f}" '
                       f'height="{PANEL}" fill="{colour}"/>')
            if index == 0:
                out.append(f'<text x="{(x(start) + x(end)) / 2:.1f}" y="{top - 5}" '
                           f'text-anchor="middle" fill="#555">{name}</text>')
        out.append(f'<text x="{LEFT}" y="{top - 22}" font-weight="bold">{escape(label)}</text>')
        value = 0.0
        while value <= y_max + 1e-9:
            out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" '
                       f'y2="{y(value):.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
                       f'{fmt(value)}</text>')
            value += step_y
        tick = 0.0
        while tick <= x_max + 1e-9:
            px = LEFT + plot_w * tick / x_max
            out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{bottom}" stroke="#ddd"/>')
            if index == len(panels) - 1:
                out.append(f'<text x="{px:.1f}" y="{bottom + 16}" text-anchor="middle">'
                           f'{fmt(tick)}</text>')
            tick += step_x
        out.append(f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL}" '
                   'fill="none" stroke="#999"/>')
        if index == 0:
            for part, mean in ((marks["early"], marks["early_mean"]),
                               (marks["late"], marks["late_mean"])):
                out.append(f'<line x1="{x(start_of(part)):.1f}" x2="{x(part[-1]["t_seconds"]):.1f}" '
                           f'y1="{y(mean):.1f}" y2="{y(mean):.1f}" stroke="#1f5fa8" '
                           'stroke-dasharray="6 3" opacity="0.7"/>')
        for key, colour, dash in series:
            points = " ".join(f"{x(r['t_seconds']):.1f},{y(r[key]):.1f}" for r in rows)
            extra = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                       f'stroke-width="1.5"{extra}/>')
            if not dash:
                out.extend(f'<circle cx="{x(r["t_seconds"]):.1f}" cy="{y(r[key]):.1f}" r="2" '
                           f'fill="{colour}"/>' for r in rows)
        if index == 2:
            out.append(f'<text x="{WIDTH - RIGHT - 6}" y="{bottom - 8}" text-anchor="end">'
                       '<tspan fill="#2b7a3b">— VmRSS</tspan>  '
                       '<tspan fill="#888">- - VmHWM (peak)</tspan></text>')
    axis_y = TOP + 3 * PANEL + 2 * GAP + 38
    out.append(f'<text x="{LEFT + plot_w / 2}" y="{axis_y}" text-anchor="middle">'
               f'time since the first window started, {"minutes" if minutes else "seconds"}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


NUMBERS = ("t_seconds", "requests", "req_per_s", "p99_ms", "rss_mib", "hwm_mib", "load1")


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for key in NUMBERS:
            row[key] = float(row[key])
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", help="one backend's samples, as written by scripts/soak.sh")
    parser.add_argument("--svg", help="where to write the chart")
    parser.add_argument("--title", help="the chart's first line (default: the backend)")
    parser.add_argument("--rss-bound-mib", type=float, default=16.0,
                        help="RSS growth after warm-up still called flat (default 16)")
    args = parser.parse_args()
    rows = read(args.csv)
    if len(rows) < 3:
        sys.exit(f"{args.csv}: {len(rows)} windows; a verdict needs warm-up, early and late: 3 at least")
    lines, marks = verdict(rows, args.rss_bound_mib)
    print("\n".join(lines))
    if args.svg:
        title = args.title or f"Mercado soak, {rows[0]['backend']}"
        with open(args.svg, "w") as f:
            f.write(chart(rows, marks, title))
        print(f"  chart       {args.svg}")


if __name__ == "__main__":
    main()
