#!/usr/bin/env python3
"""Live progress for one libFuzzer run.

Reads libFuzzer's output on stdin, copies all of it to --log, and shows one status line:
refreshed in place on a terminal, printed every 10 s otherwise (CI logs). Error reports and
artifact notices are passed through as they come.

Understands both status line formats:
  #123\tNEW    cov: 45 ft: 67 corp: 8/1234b lim: 4 exec/s: 999 rss: 40Mb L: 3/3 MS: 1 ...
  #4096: cov: 45 ft: 67 corp: 8 exec/s 999 oom/timeout/crash: 0/0/0 time: 5s job: 2 ...  (-fork)
"""
import argparse
import os
import re
import select
import signal
import sys
import time

STATUS = re.compile(
    r"^#(?P<execs>\d+):?\s+(?:\w+\s+)?cov: (?P<cov>\d+) ft: (?P<ft>\d+)"
    r" corp: (?P<corp>\d+)(?:/(?P<size>\S+))?.*?exec/s:? (?P<eps>\d+)"
)
PASS_THROUGH = re.compile(
    r"==\d+==\s*ERROR|^SUMMARY:|Test unit written to|deadly signal|runtime error:"
    r"|^ERROR:|^WARNING:|^INFO: libFuzzer disabled|^\S+: Running \d+ inputs"
)
TTY_REFRESH_S = 0.5
PLAIN_REFRESH_S = 10.0


def fmt_time(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    def __init__(self, label, budget_s, out):
        self.label = label
        self.budget = budget_s
        self.out = out
        self.tty = out.isatty()
        self.start = time.monotonic()
        self.last_shown = 0.0
        self.state = None
        self.line_open = False

    def text(self):
        elapsed = fmt_time(time.monotonic() - self.start)
        head = f"  {self.label}  {elapsed} / {fmt_time(self.budget)}"
        if self.state is None:
            return head + "  (starting)"
        s = self.state
        corp = s["corp"] + (f" ({s['size']})" if s["size"] else "")
        return (f"{head}  execs {int(s['execs']):>10,}  exec/s {int(s['eps']):>7,}"
                f"  cov {s['cov']:>6}  ft {s['ft']:>7}  corpus {corp}")

    def show(self, force=False):
        now = time.monotonic()
        interval = TTY_REFRESH_S if self.tty else PLAIN_REFRESH_S
        if not force and now - self.last_shown < interval:
            return
        self.last_shown = now
        if self.tty:
            self.out.write("\r\033[K" + self.text())
            self.line_open = True
        else:
            self.out.write(self.text() + "\n")
        self.out.flush()

    def passthrough(self, line):
        self.close_line()
        self.out.write(line + "\n")
        self.out.flush()

    def close_line(self):
        if self.line_open:
            self.out.write("\n")
            self.line_open = False

    def feed(self, line):
        m = STATUS.match(line)
        if m:
            self.state = m.groupdict()
        elif PASS_THROUGH.search(line):
            self.passthrough(line)
        self.show()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", required=True, help="file that gets the full output")
    parser.add_argument("--label", required=True, help="target name shown on the line")
    parser.add_argument("--seconds", type=int, required=True, help="time budget of the run")
    args = parser.parse_args()

    # Ctrl-C reaches libFuzzer too; keep reading so its final stats still reach the log.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    progress = Progress(args.label, args.seconds, sys.stdout)
    progress.show(force=True)
    fd = sys.stdin.fileno()
    pending = b""
    with open(args.log, "wb", buffering=0) as log:
        while True:
            # Wake up regularly so the elapsed time moves even when libFuzzer is quiet.
            ready, _, _ = select.select([fd], [], [], TTY_REFRESH_S)
            if not ready:
                progress.show()
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            log.write(chunk)
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                progress.feed(line.decode("utf-8", errors="replace").rstrip("\r"))
        if pending:
            progress.feed(pending.decode("utf-8", errors="replace").rstrip("\r"))
    progress.show(force=True)
    progress.close_line()


if __name__ == "__main__":
    main()
