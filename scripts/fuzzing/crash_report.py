"""What a sanitizer or libFuzzer report says: the kind of finding and its stack signature.

A finding's signature is its kind, a detail (the sanitizer's error type, READ or WRITE), the
top frames that lie in project code (function names without parameter lists, so line moves
and overloads of one function do not split a bug), and for an abort also the target's own
message with numbers blanked out (a model divergence or a VMM_CHECK aborts from the same
frame whatever went wrong; its message is what tells two of them apart). Two reports with the
same signature are the same bug.

Kinds: "crash" (sanitizer errors, deadly signals, aborts), "timeout", "oom", "leak".
"""
import hashlib
import os
import re
from dataclasses import dataclass, field

TOP_FRAMES = 3
MESSAGE_LINES = 3
MESSAGE_WIDTH = 160

_ASAN = re.compile(r"==\d+==\s*ERROR: AddressSanitizer: ([\w-]+)")
_LEAK = re.compile(r"==\d+==\s*ERROR: LeakSanitizer: detected memory leaks")
_TIMEOUT = re.compile(r"==\d+==\s*ERROR: libFuzzer: timeout after")
_OOM = re.compile(r"==\d+==\s*ERROR: libFuzzer: out-of-memory \((malloc\()?")
_SIGNAL = re.compile(r"==\d+==\s*ERROR: libFuzzer: (deadly signal|fuzz target exited"
                     r"|fuzz target overwrites its const input)")
_UBSAN = re.compile(r"(?:^|\s)runtime error: (.*)$")
# AddressSanitizer errors that are the input asking for too much memory.
_ASAN_OOM = ("allocation-size-too-big", "out-of-memory", "rss-limit-exceeded")
_ACCESS = re.compile(r"^(READ|WRITE) of size \d+|caused by a (READ|WRITE) memory access")
_REPLAY_TIMEOUT = re.compile(r"^replay: timeout:")
_FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-fA-F]+(?: in (?P<func>.+?))?"
                    r"(?:\s+(?P<loc>/\S+?:\d+(?::\d+)?|\(.*\)|\S+:\d+(?::\d+)?))?\s*$")
# Lines of libFuzzer's own output, never part of a target's message.
_FUZZER_LINE = re.compile(r"^(#\d+|INFO:|MS:|Running:|Executed |==\d+==|ALARM:|\s+and the timeout"
                          r"|0x[0-9a-f]+,|Base64:|artifact_prefix|\*\*\*|\S+: Running \d+ inputs"
                          r"|MERGE-|CRASH_MIN:|stat::|Done \d+ runs)")
# Frames of sanitizer, libFuzzer and C runtimes: never the place a bug is.
_RUNTIME_FUNC = re.compile(r"^(__sanitizer|__asan|__ubsan|__lsan|__interceptor|___interceptor"
                           r"|__libc_|__GI_|_start$|fuzzer::|abort$|raise$|gsignal$|__pthread_kill"
                           r"|pthread_kill|operator new|operator delete|malloc$|calloc$|realloc$"
                           r"|free$|__cxa_|std::terminate|__gnu_cxx::__verbose_terminate)")


@dataclass
class CrashReport:
    kind: str
    detail: str
    frames: list = field(default_factory=list)
    message: str = ""

    def signature(self):
        parts = [self.detail] + self.frames
        if self.message:
            parts.append(self.message)
        return " | ".join(parts)

    def ident(self):
        """A short stable name for the signature (for file names and the report)."""
        return hashlib.sha1(self.signature().encode()).hexdigest()[:10]


def normalize(line):
    """A message line with addresses and numbers blanked, for comparing two messages."""
    line = re.sub(r"0x[0-9a-fA-F]+", "0x?", line)
    line = re.sub(r"\b\d+\b", "N", line)
    return " ".join(line.split())[:MESSAGE_WIDTH]


def function_name(func):
    """'ns::f(int, char) const' -> 'ns::f': the trailing parameter list goes."""
    func = func.strip()
    if func.endswith(" const"):
        func = func[: -len(" const")]
    if func.endswith(")"):
        depth = 0
        for i in range(len(func) - 1, -1, -1):
            if func[i] == ")":
                depth += 1
            elif func[i] == "(":
                depth -= 1
                if depth == 0:
                    # "(anonymous namespace)" and "operator()" are part of the name.
                    if i > 0 and not func[:i].endswith("operator"):
                        func = func[:i]
                    break
    return func


def _first_stack(lines, start):
    """Frames (func, location) of the first stack after lines[start]."""
    frames, seen = [], False
    for line in lines[start + 1:]:
        m = _FRAME.match(line)
        if m:
            if seen and m.group(1) == "0":
                break  # a second stack ("allocated by thread T0 here:")
            seen = True
            frames.append((m.group("func") or "", m.group("loc") or ""))
        elif seen:
            break
    return frames


def _in_project(location, root):
    path = location.rsplit(":", 2)[0] if location[:1] == "/" else ""
    if not path or not root:
        return False
    path = os.path.normpath(path)
    return path.startswith(root + os.sep) and not path.startswith(os.path.join(root, "build") + os.sep)


def _signature_frames(frames, root):
    project = [function_name(f) for f, loc in frames if f and _in_project(loc, root)]
    if project:
        return project[:TOP_FRAMES]
    # No frame in project code (a crash inside a library): the top frames outside runtimes.
    others = [function_name(f) for f, _ in frames if f and not _RUNTIME_FUNC.match(function_name(f))]
    return others[:TOP_FRAMES]


def _message_before(lines, index):
    """The target's own lines printed just before the report header at lines[index]."""
    block = []
    for line in reversed(lines[:index]):
        if not line.strip():
            if block:
                break
            continue
        if _FUZZER_LINE.match(line):
            break
        block.append(line)
    block.reverse()
    return " / ".join(normalize(line) for line in block[:MESSAGE_LINES])


def parse(text, root=""):
    """The first finding reported in `text` (a fuzzer or replay log), or None."""
    root = os.path.normpath(root) if root else ""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _ASAN.search(line)
        if m:
            kind = "oom" if m.group(1) in _ASAN_OOM else "crash"
            detail = f"asan {m.group(1)}"
            for follow in lines[i + 1:i + 4]:
                access = _ACCESS.search(follow)
                if access:
                    detail += " " + (access.group(1) or access.group(2))
                    break
            if m.group(1) in ("SEGV", "BUS", "FPE", "ILL", "ABRT"):
                report = CrashReport(kind, detail, _signature_frames(_first_stack(lines, i), root))
                if m.group(1) == "ABRT":
                    report.message = _message_before(lines, i)
                return report
            return CrashReport(kind, detail, _signature_frames(_first_stack(lines, i), root))
        if _LEAK.search(line):
            return CrashReport("leak", "leak", _signature_frames(_first_stack(lines, i), root))
        if _TIMEOUT.search(line) or _REPLAY_TIMEOUT.search(line):
            return CrashReport("timeout", "timeout", _signature_frames(_first_stack(lines, i), root))
        m = _OOM.search(line)
        if m:
            if m.group(1):
                return CrashReport("oom", "oom malloc",
                                   _signature_frames(_first_stack(lines, i), root))
            # The RSS limit is noticed by a watchdog thread; its stack says nothing.
            return CrashReport("oom", "oom rss")
        m = _UBSAN.search(line)
        if m:
            return CrashReport("crash", "ubsan " + normalize(m.group(1)),
                               _signature_frames(_first_stack(lines, i), root))
        m = _SIGNAL.search(line)
        if m:
            frames = _first_stack(lines, i)
            names = [function_name(f) for f, _ in frames[:8]]
            aborted = any(n in ("abort", "raise", "gsignal") or n.startswith("__pthread_kill")
                          for n in names)
            what = m.group(1)
            detail = "abort" if aborted and what == "deadly signal" else what
            report = CrashReport("crash", detail, _signature_frames(frames, root))
            if detail in ("abort", "fuzz target exited"):
                report.message = _message_before(lines, i)
            return report
    return None
