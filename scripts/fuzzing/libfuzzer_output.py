"""libFuzzer's output lines: status lines, final statistics, the result of a merge.

  #123\tNEW    cov: 45 ft: 67 corp: 8/1234b lim: 4 exec/s: 999 rss: 40Mb L: 3/3 MS: 1 ...
  #4096\tpulse  cov: 45 ft: 67 corp: 8/1234b lim: 4 exec/s: 999 rss: 40Mb
  #9\tDONE   cov: 1058 ft: 2500 exec/s: 0 rss: 57Mb          (the end of a merge pass)
  stat::number_of_executed_units: 52345                       (-print_final_stats=1)
"""
import re

STATUS = re.compile(
    r"^#(?P<execs>\d+)\s+(?P<event>\w+)\s+cov: (?P<cov>\d+) ft: (?P<ft>\d+)"
    r"(?: corp: (?P<corp>\d+)/(?P<corp_size>\d+)(?P<unit>[bKM]?)b?)?"
    r".*?exec/s: (?P<eps>\d+)(?: rss: (?P<rss>\d+)Mb)?"
)
STAT = re.compile(r"^stat::(\w+):\s*(\d+)")
MERGE_RESULT = re.compile(r"^MERGE-OUTER: (\d+) new files with (\d+) new features added;"
                          r" (\d+) new coverage edges")
_SIZE_SCALE = {"": 1, "b": 1, "K": 1024, "M": 1024 * 1024}


def parse_status(line):
    """A status line as a dict of ints (execs, cov, ft, corp, corp_bytes, eps, rss) plus
    event, or None."""
    m = STATUS.match(line)
    if not m:
        return None
    status = {"event": m["event"], "execs": int(m["execs"]), "cov": int(m["cov"]),
              "ft": int(m["ft"]), "eps": int(m["eps"])}
    if m["corp"] is not None:
        status["corp"] = int(m["corp"])
        status["corp_bytes"] = int(m["corp_size"]) * _SIZE_SCALE[m["unit"]]
    if m["rss"] is not None:
        status["rss"] = int(m["rss"])
    return status


def parse_final_stats(text):
    """{name: int} from the stat:: lines of -print_final_stats=1."""
    stats = {}
    for line in text.splitlines():
        m = STAT.match(line)
        if m:
            stats[m.group(1)] = int(m.group(2))
    return stats


def parse_merge(text):
    """Coverage of a merged corpus: {"cov", "ft"} from the last DONE line, or None."""
    done = None
    for line in text.splitlines():
        status = parse_status(line)
        if status and status["event"] == "DONE":
            done = status
    if done is None:
        return None
    return {"cov": done["cov"], "ft": done["ft"]}
