"""./suite bench --report: a self-contained HTML page from Google Benchmark JSON files.

For each subsystem (the first name segment): vmmem against each peer as bars with the ratio,
curves over thread counts (threads:N, or a numeric segment labelled threads) and over other
numeric arguments, latency percentiles where a bench records them as counters (p50_ns,
p99_ns, p99.9_us...), and the ratio table with the targets the benches declare; then the
machine. Every figure is generic over names (see names.py): a new subsystem's benches appear
without changes here.

Statistics: the median over repetitions (min-max as the spread) of the time a bench measures:
real time for real_time benches, CPU time for the others (as Google Benchmark's rate
counters do). A case is compared per item when every impl reports items_per_second, else
per iteration; ratios are ours / peer from the same run, so 1.00 is parity and below 1 is
faster.
"""
import html
import re
import statistics
from collections import defaultdict

from reports import machine, page, plots

from . import names

BARS_PER_FIGURE = 10
PERCENTILE_CASES_PER_FIGURE = 6


def fmt_ns(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_rate(value, unit):
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {suffix}{unit}"
    return f"{value:.3g} {unit}"


class Case:
    """One case: its impls' results, compared per item when all report items_per_second."""

    def __init__(self, case, impls):
        self.case = case
        self.impls = impls  # impl -> Result
        self.per_item = all(r.counters.get("items_per_second") for r in impls.values())

    def values(self, impl):
        """Per-repetition times (ns per item or per iteration) of an impl."""
        r = self.impls[impl]
        if self.per_item:
            return [1e9 / v for v in r.counters["items_per_second"] if v > 0]
        return r.measured_ns

    def value(self, impl):
        return statistics.median(self.values(impl))

    @property
    def unit(self):
        return "per item" if self.per_item else "per iteration"

    def ours(self):
        """Our impls, plain vmmem first."""
        return sorted((i for i in self.impls if names.is_ours(i)), key=lambda i: (i != names.OUR_IMPL, i))

    def peers(self):
        return sorted(i for i in self.impls if not names.is_ours(i))

    def primary(self):
        ours = self.ours()
        return names.OUR_IMPL if names.OUR_IMPL in ours else (ours[0] if ours else None)


def ratio_targets(contexts):
    """{(case, ours, peer): max ratio} from the "ratio_target ..." context keys."""
    targets = {}
    for context in contexts:
        for key, value in context.items():
            if key.startswith("ratio_target "):
                _, case, pair = key.split(" ", 2)
                ours, _, peer = pair.partition("/")
                targets[(case, ours, peer)] = float(value)
    return targets


def group(results):
    """{subsystem: {case: Case}} in natural order."""
    by = defaultdict(lambda: defaultdict(dict))
    for r in results.values():
        by[r.name.subsystem][r.name.case][r.name.impl] = r
    return {s: {c: Case(c, impls) for c, impls in sorted(cases.items(), key=lambda kv: natural(kv[0]))}
            for s, cases in sorted(by.items())}


def natural(text):
    """A sort key that orders the numbers in names by value (threads:2 before threads:16)."""
    return [(0, float(t)) if re.fullmatch(r"\d+(\.\d+)?", t) else (1, t)
            for t in re.split(r"(\d+(?:\.\d+)?)", text) if t]


def ratio_rows(cases, targets):
    rows = []
    for case in cases.values():
        for ours in case.ours():
            for peer in case.peers():
                a, b = case.value(ours), case.value(peer)
                target = targets.get((case.case, ours, peer))
                rows.append({"case": case.case, "ours": ours, "peer": peer, "ours_ns": a,
                             "peer_ns": b, "ratio": a / b if b else float("nan"),
                             "unit": case.unit, "target": target,
                             "spread": (min(case.values(ours)), max(case.values(ours)))})
    return rows


# ---- figures ---------------------------------------------------------------------------------

def _bars(cases):
    """Grouped horizontal bars: time of every impl per case; peer bars carry ours/peer."""
    cases = [c for c in cases if c.ours() and c.peers()]
    height = sum(len(c.impls) for c in cases) * 0.28 + len(cases) * 0.35 + 0.8
    fig, ax = plots.figure(10, height)
    y, ticks, labels = 0.0, [], []
    colors = {}
    palette = plots.plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for case in reversed(cases):
        impls = case.ours() + case.peers()
        top = y + (len(impls) - 1) * 0.28
        primary = case.primary()
        for i, impl in enumerate(reversed(impls)):
            color = colors.setdefault(impl, palette[len(colors) % len(palette)])
            values = case.values(impl)
            v = statistics.median(values)
            ax.barh(y, v, height=0.26, color=color,
                    xerr=[[v - min(values)], [max(values) - v]] if len(values) > 1 else None,
                    error_kw={"lw": 0.8, "capsize": 2}, label=impl)
            text = f" {impl}: {fmt_ns(v)}"
            if not names.is_ours(impl) and primary:
                text += f"   {primary}/{impl} = {case.value(primary) / v:.2f}x"
            ax.text(max(values), y, text, va="center", fontsize=7)
            y += 0.28
        ticks.append((top + y - 0.28 * len(impls)) / 2 if impls else y)
        labels.append(f"{case.case} ({case.unit})")
        y += 0.35
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("median time (log scale; whiskers: min-max over repetitions)")
    ax.margins(x=0.35)
    return plots.svg(fig)


def _throughput(result):
    """(value, unit) a curve plots: bytes/s, else items/s, else iterations/s."""
    for key, unit in (("bytes_per_second", "B/s"), ("items_per_second", "items/s")):
        v = result.counter(key)
        if v:
            return v, unit
    return 1e9 / statistics.median(result.measured_ns), "iterations/s"


def curves(results, subsystem):
    """{(family, label): {impl: [(x, Result)]}} for every numeric argument with 2+ values
    (threads) or 3+ values (other arguments)."""
    fams = defaultdict(lambda: defaultdict(list))
    for r in results.values():
        if r.name.subsystem != subsystem:
            continue
        for label, x in r.name.params:
            fams[(names.family(r.name, label), label)][r.name.impl].append((x, r))
    out = {}
    for key, impls in sorted(fams.items(), key=lambda kv: natural(kv[0][0])):
        xs = {x for pts in impls.values() for x, _ in pts}
        if len(xs) >= (2 if key[1] == "threads" else 3):
            out[key] = {i: sorted(p, key=lambda t: t[0]) for i, p in impls.items()}
    return out


def _curve(family, label, impls):
    fig, ax = plots.figure(6, 3.4)
    unit = None
    for impl in sorted(impls, key=lambda i: (not names.is_ours(i), i)):
        pts = impls[impl]
        ys = [_throughput(r) for _, r in pts]
        unit = ys[0][1]
        ax.plot([x for x, _ in pts], [v for v, _ in ys], "o-" if names.is_ours(impl) else "s--",
                ms=3, lw=1.3, label=impl)
    ax.set_xscale("log", base=2)
    xs = sorted({x for pts in impls.values() for x, _ in pts})
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{int(x):,}" if float(x).is_integer() else f"{x:g}" for x in xs],
                       rotation=30 if len(xs) > 6 else 0)
    ax.set_xlabel(label)
    ax.set_ylabel(f"{unit} (median; higher is better)")
    ax.set_title(family, fontsize=8)
    ax.legend(fontsize=7)
    return plots.svg(fig)


def _percentiles(cases):
    n = len(cases)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plots.figure(4 * cols, 3 * rows, rows=rows, cols=cols, squeeze=False)
    for ax, case in zip(axes.flat, cases):
        for impl, r in case.impls.items():
            pct = r.percentiles()
            if pct:
                ax.plot(range(len(pct)), list(pct.values()), "o-" if names.is_ours(impl) else "s--",
                        ms=3, label=impl)
                ax.set_xticks(range(len(pct)))
                ax.set_xticklabels([f"p{p:g}" for p in pct], fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("latency (ns)")
        ax.set_title(case.case, fontsize=8)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return plots.svg(fig)


# ---- the page --------------------------------------------------------------------------------

def ratio_table(rows):
    out = []
    for r in rows:
        target = ""
        if r["target"] is not None:
            met = r["ratio"] <= r["target"]
            target = page.Raw(f"<span class={'good' if met else 'bad'}>&lt;= {r['target']:.2f}x"
                              f" {'met' if met else 'MISSED'}</span>")
        out.append((r["case"], r["ours"], r["peer"], fmt_ns(r["ours_ns"]), fmt_ns(r["peer_ns"]),
                    r["unit"], f"{r['ratio']:.2f}x", target))
    return page.table(["case", "ours", "peer", "ours", "peer", "time", "ours/peer", "target"],
                      out, numeric={3, 4, 6})


def text_table(rows):
    lines = [f"{'case':<52} {'ours':<16} {'peer':<8} {'ours':>10} {'peer':>10} {'ratio':>7}  target"]
    for r in rows:
        target = ""
        if r["target"] is not None:
            target = f"<= {r['target']:.2f}x {'met' if r['ratio'] <= r['target'] else 'MISSED'}"
        lines.append(f"{r['case']:<52} {r['ours']:<16} {r['peer']:<8} {fmt_ns(r['ours_ns']):>10}"
                     f" {fmt_ns(r['peer_ns']):>10} {r['ratio']:>6.2f}x  {target}")
    return "\n".join(lines) + "\n"


def render(results, contexts, errors, root, build_dir, note=""):
    """(html, text) of the report."""
    targets = ratio_targets(contexts)
    grouped = group(results)
    reps = sorted({len(r.real_ns) for r in results.values()})
    parts = ["<h1>vmmem benchmarks</h1>",
             f"<p>{len(results)} benchmarks in {len(grouped)} subsystems, "
             f"{'/'.join(map(str, reps))} repetitions each. Medians over repetitions; ratios"
             " are ours / peer measured in the same run (1.00 is parity, below 1 is faster)."
             f" {html.escape(note)}</p>"]
    parts.append("<p>" + " &middot; ".join(f"<a href='#{s}'>{s}</a>" for s in grouped) + "</p>")
    all_rows = []
    for subsystem, cases in grouped.items():
        parts.append(f"<h2 id='{subsystem}'>{page.esc(subsystem)}</h2>")
        compared = [c for c in cases.values() if c.ours() and c.peers()]
        rows = ratio_rows(cases, targets)
        all_rows += rows
        if compared:
            parts.append("<h3>vmmem against each peer</h3>")
            for i in range(0, len(compared), BARS_PER_FIGURE):
                parts.append(page.figure(_bars(compared[i:i + BARS_PER_FIGURE])))
        fams = curves(results, subsystem)
        if fams:
            parts.append("<h3>Scaling</h3>")
            for (family, label), impls in fams.items():
                parts.append(page.figure(_curve(family, label, impls)))
        with_pct = [c for c in cases.values() if any(r.percentiles() for r in c.impls.values())]
        if with_pct:
            parts.append("<h3>Latency percentiles</h3>")
            for i in range(0, len(with_pct), PERCENTILE_CASES_PER_FIGURE):
                parts.append(page.figure(_percentiles(with_pct[i:i + PERCENTILE_CASES_PER_FIGURE])))
            table = []
            for c in with_pct:
                for impl, r in c.impls.items():
                    pct = r.percentiles()
                    table.append((c.case, impl, ", ".join(f"p{p:g} {fmt_ns(v)}" for p, v in pct.items())))
            parts.append(page.table(["case", "impl", "percentiles (median over repetitions)"], table))
        if rows:
            parts.append("<h3>Ratio table</h3>")
            parts.append(ratio_table(rows))
        alone = [c for c in cases.values() if not (c.ours() and c.peers())]
        if alone:
            parts.append("<h3>Without a peer</h3>")
            parts.append(page.table(["benchmark", "median time", "throughput"], [
                (r.name.full, fmt_ns(r.median()), fmt_rate(*_throughput(r)))
                for c in alone for r in c.impls.values()], numeric={1, 2}))
    if errors:
        parts.append("<h2>Benchmarks that reported an error</h2>")
        parts.append(page.table(["benchmark", "error"], errors))
    parts.append("<h2>Machine</h2>")
    facts = machine.describe(root, build_dir)
    if contexts:
        c = contexts[0]
        facts += [("Google Benchmark", f"{c.get('num_cpus')} CPUs at {c.get('mhz_per_cpu')} MHz,"
                   f" CPU scaling {'on' if c.get('cpu_scaling_enabled') else 'off'}, library build"
                   f" {c.get('library_build_type')}"),
                  ("load average at bench start", " ".join(f"{x:.2f}" for x in c.get("load_avg", []))),
                  ("caches", ", ".join(f"L{x['level']} {x['type']} {x['size'] // 1024} KiB"
                                       for x in c.get("caches", [])) or "(not reported)"),
                  ("results", ", ".join(ctx["file"] for ctx in contexts))]
    parts.append(page.table(["", ""], facts))
    return page.document("vmmem benchmarks", parts), text_table(all_rows)
