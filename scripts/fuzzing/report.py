"""The morning report of a ./suite fuzz run: text (printed at the end) and a self-contained
HTML page with plots, from the per-target summaries, the findings store and the coverage.

Per target: execs and exec/s (all workers and each one), coverage (cov: edges, ft: features)
over time per worker and of the merged corpus, corpus size before and after, findings. Then
every finding hit in this run, and line coverage per subsystem of the committed corpus and of
the working corpus after the run.
"""
import os
from pathlib import Path

from reports import machine, page, plots

KIND_ORDER = {"crash": 0, "leak": 1, "oom": 2, "timeout": 3}


def _kb(n):
    return f"{n / 1024:,.1f} KiB" if n >= 1024 else f"{n} B"


def _corpus(c):
    return f"{c['files']:,} inputs, {_kb(c['bytes'])}"


def _coverage_span(summary):
    merges = summary["merges"]
    if not merges:
        return "no merge completed"
    a, b = merges[0], merges[-1]
    return f"cov {a['cov']:,} -> {b['cov']:,}, ft {a['ft']:,} -> {b['ft']:,}"


def run_findings(summaries, store):
    """[(ident, record, hits in this run)] for every finding hit in this run, worst first."""
    rows = []
    for s in summaries:
        for ident, hits in s["findings"].items():
            record = store.records.get(ident)
            if record:
                rows.append((ident, record, hits))
    rows.sort(key=lambda r: (KIND_ORDER.get(r[1]["kind"], 9), r[1]["first_seen"]))
    return rows


# ---- text ------------------------------------------------------------------------------------

def text_report(run_id, summaries, store, coverage, html_path):
    out = [f"fuzz run {run_id}"]
    for s in summaries:
        out.append("")
        out.append(f"== {s['target']} ({s['engine']}, {s['jobs']} workers, fuzzed {s['seconds']:.0f} s"
                   f" of a {s['budget_s']} s budget, {s['wall_seconds']:.0f} s with merges and"
                   f" triage{', interrupted' if s['interrupted'] else ''})")
        out.append(f"  execs {s['execs']:,}   exec/s {s['eps']:,.0f} (all workers)   limits:"
                   f" -timeout={s['timeout_s']} -rss_limit_mb={s['rss_limit_mb']}")
        out.append(f"  {'worker':>6} {'execs':>14} {'seconds':>8} {'exec/s':>9} {'restarts':>8}")
        for w in s["workers"]:
            out.append(f"  {w['worker']:>6} {w['execs']:>14,} {w['seconds']:>8.0f} {w['eps']:>9,.0f}"
                       f" {w['restarts']:>8}")
        out.append(f"  coverage of the merged corpus: {_coverage_span(s)}"
                   f" ({len(s['merges'])} merges)")
        out.append(f"  corpus: {_corpus(s['corpus_before'])} before ->"
                   f" {_corpus(s['corpus_after'])} after   ({s['work_corpus']})")
        hits = sum(s["findings"].values())
        out.append(f"  findings: {hits} hits of {len(s['findings'])} distinct"
                   f" ({len(s['new_findings'])} new)")
        for path in s["unreproduced"]:
            out.append(f"  not reproduced with the libFuzzer build (kept): {path}")
        for error in s["errors"]:
            out.append(f"  ERROR: {error}")
    rows = run_findings(summaries, store)
    out.append("")
    out.append("== findings" + ("" if rows else ": none"))
    for ident, r, hits in rows:
        out.append(f"  [{r['kind']}] {ident}  {r['target']}  hits: {hits} in this run,"
                   f" {r['count']} in all  first seen {r['first_seen']}")
        out.append(f"    signature: {r['signature']}")
        stored = r.get("stored", "")
        if r.get("already_committed"):
            out.append(f"    already committed: {stored}")
        elif stored:
            out.append(f"    stored: {stored} (minimized {r.get('original_bytes')} ->"
                       f" {r.get('minimized_bytes')} bytes)")
        out.append(f"    reproduce: {r.get('reproduce', '?')}")
    if coverage:
        out.append("")
        out.append("== line coverage per subsystem (coverage build, corpus replay)")
        out.append(f"  {'subsystem':<16} {'committed corpus':>24} {'after this run':>24}")
        for name in sorted(set(coverage.get("committed", {})) | set(coverage.get("after", {}))):
            cells = []
            for key in ("committed", "after"):
                count, covered = coverage.get(key, {}).get(name, (0, 0))
                pct = 100.0 * covered / count if count else 0.0
                cells.append(f"{pct:6.2f}% ({covered}/{count})")
            out.append(f"  {name:<16} {cells[0]:>24} {cells[1]:>24}")
    elif coverage is not None:
        out.append("")
        out.append("== line coverage: not measured (--no-coverage)")
    out.append("")
    out.append(f"report: {html_path}")
    return "\n".join(out) + "\n"


# ---- HTML ------------------------------------------------------------------------------------

def _rates(samples, window):
    """exec/s between samples at least `window` seconds apart: ([minutes], [exec/s])."""
    xs, ys, last = [], [], None
    for s in sorted(samples, key=lambda s: s["t"]):
        if last is None:
            last = s
            xs, ys = [s["t"] / 60], [None]
            continue
        span = s["t"] - last["t"]
        if span >= window and s["execs"] >= last["execs"]:
            xs.append(s["t"] / 60)
            ys.append((s["execs"] - last["execs"]) / span)
            last = s
    return xs, ys


def _plot(summary):
    samples = summary["samples"]
    afl = summary["engine"] == "afl"
    fig, axes = plots.figure(10, 7.5, rows=3, sharex=True)
    cov_ax, ft_ax, eps_ax = axes
    for w in sorted({s["worker"] for s in samples}):
        mine = [s for s in samples if s["worker"] == w]
        t = [s["t"] / 60 for s in mine]
        cov_ax.plot(t, [s["cov"] for s in mine], drawstyle="steps-post", lw=1,
                    label=f"worker {w}" + (" (AFL++ edges)" if afl else ""))
        if not afl:
            ft_ax.plot(t, [s["ft"] for s in mine], drawstyle="steps-post", lw=1,
                       label=f"worker {w}")
    merges = summary["merges"]
    if merges:
        mt = [m["t"] / 60 for m in merges]
        # Points, not a line: nothing is known about the union between two merges.
        cov_ax.plot(mt, [m["cov"] for m in merges], "ko", ms=4, label="merged corpus")
        ft_ax.plot(mt, [m["ft"] for m in merges], "ko", ms=4, label="merged corpus")
    cov_ax.set_ylabel("cov (edges)")
    ft_ax.set_ylabel("ft (features)")
    if afl:
        for w in sorted({s["worker"] for s in samples}):
            mine = [s for s in samples if s["worker"] == w and s.get("eps") is not None]
            eps_ax.plot([s["t"] / 60 for s in mine], [s["eps"] for s in mine], lw=1,
                        label=f"worker {w}")
    else:
        duration = max((s["t"] for s in samples), default=0)
        for w in sorted({s["worker"] for s in samples}):
            xs, ys = _rates([s for s in samples if s["worker"] == w], max(5.0, duration / 60))
            eps_ax.plot(xs, ys, drawstyle="steps-pre", lw=1.2, label=f"worker {w}")
    eps_ax.set_ylabel("exec/s")
    eps_ax.set_ylim(bottom=0)
    eps_ax.set_xlabel("minutes since the target's start")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower right", fontsize=7)
    cov_ax.set_title(f"{summary['target']}: coverage, features and exec/s over time")
    return plots.svg(fig)


def _target_section(s):
    parts = [f"<h2 id='{page.esc(s['target'])}'>{page.esc(s['target'])}</h2>"]
    facts = [
        ("engine", f"{s['engine']}, {s['jobs']} workers"),
        ("time", f"fuzzed {s['seconds']:.0f} s of a {s['budget_s']} s budget,"
                 f" {s['wall_seconds']:.0f} s with merges and triage"
                 + (" (interrupted)" if s["interrupted"] else "")),
        ("execs", f"{s['execs']:,}"), ("exec/s (all workers)", f"{s['eps']:,.0f}"),
        ("limits", f"-timeout={s['timeout_s']} -rss_limit_mb={s['rss_limit_mb']}"),
        ("options", " ".join(s["options"]) or "(none)"),
        ("coverage of the merged corpus", _coverage_span(s)),
        ("corpus before", _corpus(s["corpus_before"])
         + f" (carried over from earlier runs: {_corpus(s['corpus_before_run'])})"),
        ("corpus after", _corpus(s["corpus_after"]) + f" in {s['work_corpus']}"),
        ("findings", f"{sum(s['findings'].values())} hits of {len(s['findings'])} distinct,"
                     f" {len(s['new_findings'])} new"),
    ]
    parts.append(page.table(["", ""], facts))
    rows = [(w["worker"], f"{w['execs']:,}", f"{w['seconds']:.0f}", f"{w['eps']:,.0f}",
             w["restarts"]) for w in s["workers"]]
    parts.append(page.table(["worker", "execs", "seconds", "exec/s", "restarts"], rows,
                            numeric={1, 2, 3, 4}))
    if s["samples"] or s["merges"]:
        parts.append(page.figure(_plot(s), "Per worker: libFuzzer's status lines (AFL++:"
                                 " plot_data). Black: the working corpus after each merge"
                                 " (libFuzzer's cov/ft of the union, for either engine)."))
    for path in s["unreproduced"]:
        parts.append(f"<p class=note>Not reproduced with the libFuzzer build (kept):"
                     f" <code>{page.esc(path)}</code></p>")
    for error in s["errors"]:
        parts.append(f"<pre class=bad>{page.esc(error)}</pre>")
    return "\n".join(parts)


def html_report(run_id, summaries, store, coverage, root, build_dir):
    parts = [f"<h1>vmmem fuzz run {page.esc(run_id)}</h1>"]
    overview = [(page.Raw(f"<a href='#{page.esc(s['target'])}'>{page.esc(s['target'])}</a>"),
                 s["engine"], s["jobs"], f"{s['seconds']:.0f}", f"{s['execs']:,}",
                 f"{s['eps']:,.0f}", _coverage_span(s),
                 f"{s['corpus_before']['files']:,} -> {s['corpus_after']['files']:,}",
                 sum(s["findings"].values()), len(s["new_findings"]))
                for s in summaries]
    parts.append(page.table(["target", "engine", "workers", "seconds", "execs", "exec/s",
                             "coverage", "corpus inputs", "finding hits", "new findings"],
                            overview, numeric={2, 3, 4, 5, 8, 9}))
    rows = run_findings(summaries, store)
    parts.append("<h2>Findings</h2>")
    if rows:
        table = []
        for ident, r, hits in rows:
            stored = r.get("stored", "")
            if r.get("already_committed"):
                stored += " (already committed)"
            elif stored:
                stored += f" ({r.get('original_bytes')} -> {r.get('minimized_bytes')} bytes)"
            table.append((r["kind"], ident, r["target"], page.Raw(
                "<code>" + page.esc(r["signature"]).replace(" | ", "<br>") + "</code>"),
                hits, r["count"], r["first_seen"], stored,
                page.Raw(f"<code>{page.esc(r.get('reproduce', ''))}</code>")))
        parts.append(page.table(["kind", "id", "target", "signature", "hits (run)", "hits (all)",
                                 "first seen", "stored", "reproduce"], table, numeric={4, 5}))
    else:
        parts.append("<p>None.</p>")
    parts.append("<h2>Line coverage per subsystem</h2>")
    if coverage:
        table = []
        for name in sorted(set(coverage.get("committed", {})) | set(coverage.get("after", {}))):
            cells = [name]
            for key in ("committed", "after"):
                count, covered = coverage.get(key, {}).get(name, (0, 0))
                pct = 100.0 * covered / count if count else 0.0
                cells.append(f"{pct:.2f}% ({covered}/{count})")
            table.append(cells)
        parts.append(page.table(["subsystem", "committed corpus", "working corpus after the run"],
                                table, numeric={1, 2}))
        parts.append("<p class=note>Coverage preset (clang source-based coverage), every corpus"
                     " replayed through every target.</p>")
    else:
        parts.append("<p>Not measured in this run (--no-coverage).</p>")
    parts += [_target_section(s) for s in summaries]
    parts.append("<h2>Machine</h2>")
    parts.append(page.table(["", ""], machine.describe(root, build_dir)))
    return page.document(f"vmmem fuzz run {run_id}", parts)


def write(run_id, summaries, store, coverage, report_dir, root, build_dir):
    """Writes index.html and report.txt into report_dir; returns the text."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    html_path = report_dir / "index.html"
    rel = os.path.relpath(html_path, root)
    text = text_report(run_id, summaries, store, coverage,
                       html_path if rel.startswith("..") else rel)
    (report_dir / "report.txt").write_text(text, encoding="utf-8")
    html_path.write_text(html_report(run_id, summaries, store, coverage, root, build_dir),
                         encoding="utf-8")
    return text
