"""The parity report as one self-contained HTML page: inline CSS, the
per-shape table, the difference paths, and an inline SVG chart of
p50/p95/p99 latency per shape for both backends. No scripts, fonts,
images or external URLs."""
import math
from html import escape

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}
th{background:#f3f3f3}td.l,th.l{text-align:left}
tr.bad td{background:#fde8e8}tr.expl td{background:#fff7e0}
code{font:12px ui-monospace,monospace}
.sum{font-weight:bold}.muted{color:#777}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
"""
_PRIMARY = "#4e79a7"
_CANDIDATE = "#f28e2b"


def _fmt(v):
    return "-" if v is None else f"{v:.2f}"


def _chart(report):
    """Grouped horizontal bars: per shape, p50/p95/p99 of both backends, on
    a log scale (latencies of one report span several powers of ten)."""
    shapes = report.ordered_shapes()
    if not shapes:
        return "<p class=muted>no calls</p>"
    seen = [v for s in shapes for side in ("primary", "candidate")
            for v in s.percentiles(side).values() if v is not None and v > 0]
    if not seen:
        return "<p class=muted>no latencies</p>"
    lo = 10.0 ** math.floor(math.log10(min(seen)))
    hi = 10.0 ** math.ceil(math.log10(max(seen)))
    if hi <= lo:
        hi = lo * 10.0
    span = math.log10(hi) - math.log10(lo)
    label_w, bar_w, bar_h, gap = 300, 520, 7, 14
    group_h = 6 * bar_h + 2 * 3 + gap

    def x_of(v):
        v = min(max(v, lo), hi)
        return bar_w * (math.log10(v) - math.log10(lo)) / span

    height = 30 + group_h * len(shapes)
    width = label_w + bar_w + 40
    out = [f'<svg width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" '
           'aria-label="latency percentiles per shape (log scale)">']
    decade = lo
    while decade <= hi * 1.0001:
        x = label_w + x_of(decade)
        text = f"{decade:g} ms"
        out.append(f'<line x1="{x:.1f}" y1="18" x2="{x:.1f}" '
                   f'y2="{height}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{x:.1f}" y="12" font-size="10" '
                   f'text-anchor="middle" fill="#666">{text}</text>')
        decade *= 10.0
    y = 26
    for s in shapes:
        label = s.label if len(s.label) <= 46 else s.label[:45] + "…"
        out.append(f'<text x="{label_w - 8}" y="{y + 3 * bar_h + 6}" '
                   f'font-size="11" text-anchor="end">'
                   f'<title>{escape(s.label)} [{escape(s.id)}]</title>'
                   f'{escape(label)}</text>')
        row = 0
        for q in ("p50", "p95", "p99"):
            for side, color in (("primary", _PRIMARY),
                                ("candidate", _CANDIDATE)):
                v = s.percentiles(side)[q]
                w = 0.0 if v is None or v <= 0 else max(1.0, x_of(v))
                yy = y + row * bar_h + (row // 2) * 3
                name = report.primary if side == "primary" \
                    else report.candidate
                out.append(
                    f'<rect x="{label_w}" y="{yy}" width="{w:.1f}" '
                    f'height="{bar_h - 1}" fill="{color}" '
                    f'opacity="{1.0 - 0.25 * ("p50", "p95", "p99").index(q):.2f}">'
                    f'<title>{escape(name)} {q}: {_fmt(v)} ms</title></rect>')
                if side == "candidate":
                    out.append(
                        f'<text x="{label_w + bar_w + 6}" y="{yy + bar_h}" '
                        f'font-size="9" fill="#555">{q}</text>')
                row += 1
        y += group_h
    out.append("</svg>")
    return "".join(out)


def render(report, count_explained=False, title="Parity report"):
    d = report.to_dict(count_explained)
    summary = d["summary"]
    p, c = escape(report.primary), escape(report.candidate)
    parts = ["<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
             f"<title>{escape(title)}</title><style>{_CSS}</style></head>",
             f"<body><h1>{escape(title)}: {p} vs {c}</h1>",
             f"<p class=sum>{escape(report.summary_line(count_explained))}"
             "</p>"]
    if d["rules"]:
        parts.append("<p>rules: " + ", ".join(
            f"<code>{escape(n)}</code> ({escape(k)})" for n, k in d["rules"])
            + "</p>")
    if d["ignore"]:
        parts.append("<p>ignored paths: " + ", ".join(
            f"<code>{escape(i)}</code>" for i in d["ignore"]) + "</p>")
    parts.append("<h2>Shapes</h2><table><tr><th class=l>shape</th>"
                 "<th>calls</th><th>match</th><th>mismatch</th>"
                 "<th>explained</th>"
                 f"<th>errors {p}</th><th>errors {c}</th>"
                 f"<th>p50 {p}</th><th>p50 {c}</th>"
                 f"<th>p95 {p}</th><th>p95 {c}</th>"
                 f"<th>p99 {p}</th><th>p99 {c}</th>"
                 "<th>ratio p50</th></tr>")
    for s in d["shapes"]:
        cls = "bad" if s["mismatches"] or s.get("replay_errors") else ("expl" if s["explained"] else "")
        lp, lc = s["latency_ms"]["primary"], s["latency_ms"]["candidate"]
        ratio = s["ratio"]["p50"]
        parts.append(
            f"<tr class='{cls}'><td class=l><code>{escape(s['label'])}"
            f"</code> <span class=muted>{escape(s['id'])}</span></td>"
            f"<td>{s['calls']}</td><td>{s['matches']}</td>"
            f"<td>{s['mismatches']}</td><td>{s['explained']}</td>"
            f"<td>{sum(s['errors']['primary'].values())}</td>"
            f"<td>{sum(s['errors']['candidate'].values())}</td>"
            f"<td>{_fmt(lp['p50'])}</td><td>{_fmt(lc['p50'])}</td>"
            f"<td>{_fmt(lp['p95'])}</td><td>{_fmt(lc['p95'])}</td>"
            f"<td>{_fmt(lp['p99'])}</td><td>{_fmt(lc['p99'])}</td>"
            f"<td>{'-' if ratio is None else f'{ratio:.2f}x'}</td></tr>")
    parts.append("</table>")
    parts.append("<h2>Differences by path</h2>")
    any_diff = False
    for s in d["shapes"]:
        errs = [(side, cls_, n) for side in ("primary", "candidate")
                for cls_, n in sorted(s["errors"][side].items())]
        if not s["differences"] and not errs:
            continue
        any_diff = True
        parts.append(f"<h3><code>{escape(s['label'])}</code></h3>")
        if errs:
            parts.append("<p>errors: " + ", ".join(
                f"{escape(side)} {escape(cls_)} &times;{n}"
                for side, cls_, n in errs) + "</p>")
        if s["differences"]:
            parts.append("<table><tr><th class=l>path</th><th class=l>kind"
                         "</th><th>count</th><th>unexplained</th>"
                         "<th class=l>explained by</th><th class=l>example"
                         f" ({p} &rarr; {c})</th></tr>")
            for diff in s["differences"]:
                ex = diff["example"]
                rules = ", ".join(f"{escape(k)} &times;{v}"
                                  for k, v in sorted(diff["rules"].items()))
                cls = "bad" if diff["unexplained"] else "expl"
                parts.append(
                    f"<tr class={cls}><td class=l><code>"
                    f"{escape(diff['path'])}</code></td>"
                    f"<td class=l>{escape(diff['kind'])}</td>"
                    f"<td>{diff['count']}</td><td>{diff['unexplained']}</td>"
                    f"<td class=l>{rules}</td><td class=l><code>"
                    f"{escape(ex['path'])}: "
                    f"{escape(str(ex['primary']))} &rarr; "
                    f"{escape(str(ex['candidate']))}</code></td></tr>")
            parts.append("</table>")
    if not any_diff:
        parts.append("<p>none</p>")
    parts.append("<h2>Latency (ms)</h2><p class=legend>"
                 f"<span style='background:{_PRIMARY}'></span>{p}"
                 f"<span style='background:{_CANDIDATE}'></span>{c}"
                 " &nbsp; bars per shape: p50, p95, p99 (lighter: higher); "
                 "log scale"
                 "</p>")
    parts.append(_chart(report))
    parts.append("</body></html>\n")
    return "".join(parts)
