"""Bench names: `<subsystem>/<case...>/<impl>[/<arg>...][/real_time][/threads:N]`.

The impl is the last segment that is not an argument: not a number, not `key:value` (Google
Benchmark's threads:N, or an ArgName), not a timing-mode suffix (real_time, process_time,
manual_time). Impls named `vmmem` or `vmmem_<variant>` are ours, every other impl of the
same case is a peer (glibc, mimalloc, raw, memcpy...). The case is the name without the impl,
so ours and a peer on the same arguments and thread count share one case.
"""
import re
from dataclasses import dataclass

OUR_IMPL = "vmmem"
_MODE_SUFFIX = {"real_time", "process_time", "manual_time"}
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_KEY_VALUE = re.compile(r"^([A-Za-z_][\w.]*):(-?[\d.]+)$")


def uses_real_time(full):
    """True when the bench measures wall time (UseRealTime / UseManualTime put real_time or
    manual_time in its name); the others measure CPU time, as Google Benchmark itself does
    when it decides how many iterations to run and what its rate counters divide by."""
    return any(s in ("real_time", "manual_time") for s in full.split("/"))


@dataclass(frozen=True)
class BenchName:
    full: str
    subsystem: str
    case: str          # the name without the impl (and without timing-mode suffixes)
    impl: str          # "" when no segment qualifies
    params: tuple      # ((label, value), ...) of the numeric segments, in order
    threads: int

    @property
    def ours(self):
        return is_ours(self.impl)


def is_ours(impl):
    return impl == OUR_IMPL or impl.startswith(OUR_IMPL + "_")


def parse(full, threads=1):
    segments = full.split("/")
    impl_index = None
    for i in range(len(segments) - 1, 0, -1):
        s = segments[i]
        if s in _MODE_SUFFIX or _NUMBER.match(s) or _KEY_VALUE.match(s):
            continue
        impl_index = i
        break
    impl = segments[impl_index] if impl_index is not None else ""
    case_segments = [s for i, s in enumerate(segments)
                     if i != impl_index and s not in _MODE_SUFFIX]
    params = []
    for i, s in enumerate(segments):
        kv = _KEY_VALUE.match(s)
        if kv:
            params.append((kv.group(1), float(kv.group(2))))
            if kv.group(1) == "threads":
                threads = int(float(kv.group(2)))
        elif _NUMBER.match(s) and i > 0:
            # A bare number is labelled by the segment before it (bulk_read/4096 -> bulk_read,
            # threads/8 -> threads).
            label = segments[i - 1] if i - 1 != impl_index else segments[max(0, i - 2)]
            params.append((label, float(s)))
            if label == "threads":
                threads = int(float(s))
    return BenchName(full=full, subsystem=segments[0], case="/".join(case_segments), impl=impl,
                     params=tuple(params), threads=threads)


def family(name, label):
    """The case with the value of parameter `label` replaced by '*' (a curve over it)."""
    out = []
    for i, s in enumerate(name.case.split("/")):
        kv = _KEY_VALUE.match(s)
        if kv and kv.group(1) == label:
            out.append(f"{label}:*")
        elif _NUMBER.match(s) and i > 0 and name.case.split("/")[i - 1] == label:
            out.append("*")
        else:
            out.append(s)
    return "/".join(out)
