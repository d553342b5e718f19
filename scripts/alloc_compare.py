#!/usr/bin/env python3
"""./suite bench --against: the allocator workloads and real programs under each allocator.

Every program runs under vmmem (libvmmem_malloc.so), vmmem in hardened mode, and each peer
named in --against, all through LD_PRELOAD (glibc: nothing preloaded), --runs times each with
the allocators interleaved run by run, so that load on the machine falls on all of them alike.
Prints one table: median wall time and median peak RSS (the child's ru_maxrss, taken by peak_rss) per allocator,
and vmmem's ratio to the best peer of the same run (time: the fastest; RSS: the smallest).
A program whose output differs from its glibc output is marked, never silently timed.

With --cachegrind the workloads (not the real programs: they take minutes under valgrind) run
once per allocator under cachegrind instead, and the table gives instructions, L1 data misses
and last-level data misses: counts that do not move with the load on the machine, at the price
of a simulated cache and of threads that run one at a time (valgrind's scheduling of them still
varies the threaded workloads' misses from run to run)."""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

LIBDIR = os.environ.get("VMMEM_PEER_LIBDIR", "/usr/lib/x86_64-linux-gnu")
# Debian's packages: libmimalloc2.0, libjemalloc2, libtcmalloc-minimal4 (dpkg -L names these).
PEERS = {
    "glibc": None,
    "mimalloc": f"{LIBDIR}/libmimalloc.so.2",
    "jemalloc": f"{LIBDIR}/libjemalloc.so.2",
    "tcmalloc": f"{LIBDIR}/libtcmalloc_minimal.so.4",
}
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"

CXX_PROGRAM = r"""
#include <algorithm>
#include <iostream>
#include <map>
#include <regex>
#include <string>
#include <vector>
int main() {
  std::map<std::string, std::vector<int>> index;
  for (int i = 0; i < 100000; ++i) index[std::to_string(i % 977)].push_back(i);
  std::regex pattern("[0-9]+");
  std::cout << index.size() << " " << std::regex_match("123", pattern) << "\n";
}
"""


def programs(workloads, root, work):
    """(name, argv) of every program in the table, with its input files prepared in `work`."""
    lines = os.path.join(work, "lines.txt")
    if not os.path.exists(lines):
        import random

        r = random.Random(7)
        words = ["".join(r.choice("abcdefgh") for _ in range(r.randrange(1, 40)))
                 for _ in range(5000)]
        with open(lines, "w") as f:
            f.writelines("%08d %s\n" % (r.randrange(10**8), r.choice(words))
                         for _ in range(400_000))
    source = os.path.join(work, "program.cc")
    with open(source, "w") as f:
        f.write(CXX_PROGRAM)
    table = [
        ("churn", [f"{workloads}/churn"]),
        ("larson", [f"{workloads}/larson"]),
        ("xthread", [f"{workloads}/xthread"]),
        ("cache_scratch", [f"{workloads}/cache_scratch"]),
        ("realloc_grow", [f"{workloads}/realloc_grow"]),
        ("python3", [PYTHON, f"{root}/tests/shim/python_workload.py", "1"]),
        ("sort", ["sort", lines]),
        ("g++ -O1", ["g++", "-O1", "-frandom-seed=x", "-c", source, "-o", "/dev/null"]),
    ]
    # A script that runs git 21 times on this repository (when it is one): short processes,
    # whose time is mostly start-up, so what a preloaded library costs there shows.
    head = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, check=False)
    if head.returncode == 0:
        script = os.path.join(work, "git_session.sh")
        with open(script, "w") as f:
            f.write(f"for i in $(seq 20); do git -C '{root}' log -p -2 {head.stdout.strip()}"
                    " >/dev/null; done\n"
                    f"git -C '{root}' rev-list --count {head.stdout.strip()}\n")
        table.append(("git x21", ["sh", script]))
    return table


def program_env(options):
    """The environment every run gets: ours, with a fixed locale and hash seed, no preload of
    its own, and VMMEM_MALLOC set to `options` (None: unset)."""
    env = dict(os.environ, LC_ALL="C", PYTHONHASHSEED="0")
    env.pop("LD_PRELOAD", None)
    env.pop("VMMEM_MALLOC", None)
    if options is not None:
        env["VMMEM_MALLOC"] = options
    return env


def run_once(argv, preload, options, work, meter):
    """(seconds, peak RSS in KiB, stdout) of one run, measured by `meter` (peak_rss.cc: a child
    forked by this Python process would count the interpreter's pages until its exec)."""
    env = program_env(options)
    if preload:
        env["LD_PRELOAD"] = preload
    report = os.path.join(work, "meter.out")
    done = subprocess.run([meter, report, *argv], cwd=work, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {done.returncode}")
    with open(report) as f:
        seconds, peak_kib = f.read().split()
    return float(seconds), int(peak_kib), done.stdout


# The L1 and L2 of a typical x86 core; cachegrind simulates two levels, so LL stands for L2.
CACHEGRIND = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--D1=32768,8,64",
              "--LL=524288,8,64", "--trace-children=yes", "--cachegrind-out-file=/dev/null"]
COUNTERS = {"instructions": r"I\s+refs:\s+([\d,]+)", "d1_misses": r"D1\s+misses:\s+([\d,]+)",
            "ll_misses": r"LLd\s+misses:\s+([\d,]+)"}


def parse_cachegrind(report):
    """The counters of cachegrind's summary on stderr (the last one: the program after exec)."""
    counts = {}
    for name, pattern in COUNTERS.items():
        found = re.findall(pattern, report)
        if not found:
            raise RuntimeError(f"no '{name}' in cachegrind's summary:\n{report[-2000:]}")
        counts[name] = int(found[-1].replace(",", ""))
    return counts


def run_cachegrind(argv, preload, options, work):
    """(counters, stdout) of one run of argv under cachegrind with the allocator preloaded."""
    env = program_env(options)
    # env(1) sets LD_PRELOAD for the program only, not for valgrind's own launcher.
    command = [*CACHEGRIND, "env", *([f"LD_PRELOAD={preload}"] if preload else []), *argv]
    done = subprocess.run(command, cwd=work, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} under cachegrind exited with {done.returncode}")
    return parse_cachegrind(done.stderr.decode(errors="replace")), done.stdout


def format_cachegrind_table(results, names, peers):
    """One row per program and allocator (millions of each counter), then vmmem's ratio to the
    lowest count among `peers`, counter by counter."""
    lines = ["cachegrind, one run each (D1 32 KiB and LL 512 KiB, 8-way; threads run one at a "
             "time): millions of instructions, D1 misses, LL data misses "
             f"(best = lowest of {', '.join(peers)})",
             f"{'program':<14}{'allocator':<22}{'instr':>10}{'D1 miss':>10}{'LL miss':>10}"]
    for program, by_name in results.items():
        for name in names:
            counts = by_name[name]
            row = f"{program:<14}{name + (' DIFF' if counts['output_differs'] else ''):<22}"
            row += "".join(f"{counts[c] / 1e6:>10.2f}" for c in COUNTERS)
            lines.append(row)
        row = f"{program:<14}{'vmmem/best':<22}"
        for counter in COUNTERS:
            best = min(by_name[p][counter] for p in peers)
            row += f"{by_name['vmmem'][counter] / best if best else float('inf'):>10.2f}"
        lines.append(row)
    return "\n".join(lines)


def paired_time_ratios(by_name, peer):
    """vmmem's time over `peer`'s, run by run: the runs interleave the allocators, so run i of
    each saw the same machine, and the spread of these ratios says how far to trust the median."""
    return [ours / theirs for ours, theirs in zip(by_name["vmmem"]["runs_s"], by_name[peer]["runs_s"])]


def format_table(results, names, peers, runs):
    """The table: one row per program, "time / RSS" per allocator in `names` (DIFF when its
    output differed from glibc's), then vmmem's time and RSS over the best of `peers`, and the
    lowest and highest of the run-by-run time ratios to that fastest peer."""
    lines = [f"median of {runs} runs each: time in s / peak RSS in MiB "
             f"(best = best of {', '.join(peers)}; runs = vmmem's time over the fastest "
             f"peer's in each run, lowest-highest)"]
    head = f"{'program':<14}" + "".join(f"{name:>22}" for name in names)
    lines.append(head + f"{'time/best':>11}{'rss/best':>10}{'runs':>13}")
    for program, by_name in results.items():
        row = f"{program:<14}"
        for name in names:
            cell = f"{by_name[name]['time_s']:.3f} / {by_name[name]['rss_kib'] / 1024:.1f}"
            if by_name[name]["output_differs"]:
                cell += " DIFF"
            row += f"{cell:>22}"
        fastest = min(peers, key=lambda p: by_name[p]["time_s"])
        best_rss = min(by_name[p]["rss_kib"] for p in peers)
        row += f"{by_name['vmmem']['time_s'] / by_name[fastest]['time_s']:>11.2f}"
        row += f"{by_name['vmmem']['rss_kib'] / best_rss:>10.2f}"
        ratios = paired_time_ratios(by_name, fastest)
        row += f"{min(ratios):>8.2f}-{max(ratios):.2f}"
        lines.append(row)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="glibc,mimalloc,jemalloc,tcmalloc")
    parser.add_argument("--shim", required=True)
    parser.add_argument("--workloads", required=True, help="directory of the workload binaries")
    parser.add_argument("--root", required=True, help="the source tree")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--filter", default="", help="only programs whose name contains this")
    parser.add_argument("--json", help="also write the measurements here")
    parser.add_argument("--cachegrind", action="store_true",
                        help="count instructions and cache misses of the workloads instead")
    args = parser.parse_args()

    args.shim, args.workloads, args.root = (os.path.abspath(p) for p in
                                            (args.shim, args.workloads, args.root))
    peers = [name.strip() for name in args.against.split(",") if name.strip()]
    for name in peers:
        if name not in PEERS:
            sys.exit(f"alloc_compare: unknown allocator '{name}' (known: {', '.join(PEERS)})")
        if PEERS[name] and not os.path.exists(PEERS[name]):
            sys.exit(f"alloc_compare: {name} is not installed ({PEERS[name]} missing)")
    if args.cachegrind and shutil.which("valgrind") is None:
        sys.exit("alloc_compare: --cachegrind needs valgrind (./suite deps installs it)")
    allocators = [("vmmem", args.shim, ""), ("vmmem hardened", args.shim, "hardened")]
    allocators += [(name, PEERS[name], None) for name in peers]

    meter = os.path.join(args.workloads, "peak_rss")
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for program, argv in programs(args.workloads, args.root, work):
            if args.filter and args.filter not in program:
                continue
            if args.cachegrind and not argv[0].startswith(args.workloads):
                continue
            expected = run_once(argv, None, None, work, meter)[2]
            if args.cachegrind:
                results[program] = {}
                for name, preload, options in allocators:
                    counts, out = run_cachegrind(argv, preload, options, work)
                    results[program][name] = {**counts, "output_differs": out != expected}
                print(f"  counted {program}", file=sys.stderr, flush=True)
                continue
            times = {name: [] for name, _, _ in allocators}
            rss = {name: [] for name, _, _ in allocators}
            differs = set()
            for _ in range(args.runs):
                for name, preload, options in allocators:
                    seconds, peak, out = run_once(argv, preload, options, work, meter)
                    if out != expected:
                        differs.add(name)
                    times[name].append(seconds)
                    rss[name].append(peak)
            results[program] = {
                name: {"time_s": statistics.median(times[name]),
                       "rss_kib": statistics.median(rss[name]),
                       "runs_s": times[name], "output_differs": name in differs}
                for name, _, _ in allocators}
            print(f"  measured {program}", file=sys.stderr, flush=True)

    sys.stderr.flush()
    names = [name for name, _, _ in allocators]
    if args.cachegrind:
        print(format_cachegrind_table(results, names, peers))
    else:
        print(format_table(results, names, peers, args.runs))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if any(v["output_differs"] for by_name in results.values() for v in by_name.values()):
        print("alloc_compare: some output differed from glibc's (DIFF)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
