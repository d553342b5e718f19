"""Live progress of a campaign: one status line, refreshed in place on a terminal and printed
every 30 s otherwise (CI logs); messages (findings, merges, errors) are printed as they come."""
import sys
import threading
import time

TTY_REFRESH_S = 0.5
PLAIN_REFRESH_S = 30.0


def clock(seconds):
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    def __init__(self, out=sys.stdout):
        self.out = out
        self.tty = out.isatty()
        self.lock = threading.Lock()
        self.last_shown = 0.0
        self.line_open = False
        self.text = None

    def update(self, name, elapsed, budget, workers, execs, eps, cov, ft, corp, findings):
        self.text = (f"  {name}  {clock(elapsed)} / {clock(budget)}  workers {workers}"
                     f"  execs {execs:>12,}  exec/s {eps:>8,.0f}  cov {cov:>6}  ft {ft:>7}"
                     f"  corpus {corp:>6}  findings {findings}")
        now = time.monotonic()
        if now - self.last_shown < (TTY_REFRESH_S if self.tty else PLAIN_REFRESH_S):
            return
        self.last_shown = now
        self._show()

    def _show(self):
        with self.lock:
            if self.tty:
                self.out.write("\r\033[K" + self.text)
                self.line_open = True
            else:
                self.out.write(self.text + "\n")
            self.out.flush()

    def message(self, text):
        with self.lock:
            if self.line_open:
                self.out.write("\n")
                self.line_open = False
            self.out.write(text + "\n")
            self.out.flush()

    def finish(self):
        if self.text:
            self._show()
        with self.lock:
            if self.line_open:
                self.out.write("\n")
                self.line_open = False
            self.out.flush()
        self.text = None
