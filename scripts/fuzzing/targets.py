"""A fuzz target as the pipeline sees it: its binaries, flags, dictionary and corpus folders.

fuzz/<T>.options holds libFuzzer flags, one per line ('#' starts a comment). -timeout (seconds)
and -rss_limit_mb are the limits that turn an input into a timeout or oom finding; they are
passed to every run of the target: fuzzing, merging, minimizing and reproducing.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

# libFuzzer's defaults, used when a target's .options does not set them.
DEFAULT_TIMEOUT_S = 1200
DEFAULT_RSS_LIMIT_MB = 2048
# The flags that decide what counts as a finding; a reproducer needs exactly these.
LIMIT_FLAGS = ("timeout", "rss_limit_mb", "malloc_limit_mb")


def read_options(path):
    """The flags in an .options file (none when it does not exist)."""
    flags = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return flags
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if not line.startswith("-") or "=" not in line:
            raise ValueError(f"{path}:{number}: not a libFuzzer flag -name=value: '{line}'")
        flags.append(line)
    return flags


def flag_value(flags, name):
    """The value of -name=value in flags (the last one wins, as in libFuzzer), else None."""
    value = None
    for flag in flags:
        key, _, rest = flag.lstrip("-").partition("=")
        if key == name:
            value = rest
    return value


@dataclass
class Target:
    name: str
    binary: Path               # the libFuzzer build (fuzz preset): fuzzing, triage, merges
    options: list = field(default_factory=list)
    dict_path: Path = None
    corpus_root: Path = None   # holds <name>/seed and <name>/regressions
    afl_binary: Path = None    # the AFL++ build, when fuzzing with AFL++

    @classmethod
    def find(cls, name, bin_dir, config_dirs, corpus_root, afl_bin_dir=None):
        """Target `name`: binary bin_dir/<name>_fuzzer, its .options and .dict from the first
        of config_dirs that has them."""
        def first(suffix):
            for d in config_dirs:
                p = Path(d) / f"{name}{suffix}"
                if p.is_file():
                    return p
            return None
        options_path = first(".options")
        return cls(
            name=name,
            binary=Path(bin_dir) / f"{name}_fuzzer",
            options=read_options(options_path) if options_path else [],
            dict_path=first(".dict"),
            corpus_root=Path(corpus_root),
            afl_binary=Path(afl_bin_dir) / f"{name}_fuzzer" if afl_bin_dir else None,
        )

    @property
    def seed_dir(self):
        return self.corpus_root / self.name / "seed"

    @property
    def regressions_dir(self):
        return self.corpus_root / self.name / "regressions"

    def committed_dirs(self):
        return [d for d in (self.seed_dir, self.regressions_dir) if d.is_dir()]

    @property
    def timeout_s(self):
        return int(flag_value(self.options, "timeout") or DEFAULT_TIMEOUT_S)

    @property
    def rss_limit_mb(self):
        return int(flag_value(self.options, "rss_limit_mb") or DEFAULT_RSS_LIMIT_MB)

    def limit_flags(self):
        """-timeout / -rss_limit_mb / -malloc_limit_mb as the .options set them."""
        return [f for f in self.options if f.lstrip("-").partition("=")[0] in LIMIT_FLAGS]

    def fuzz_flags(self):
        """Every .options flag plus the dictionary: what a fuzzing worker runs with."""
        flags = list(self.options)
        if self.dict_path:
            flags.append(f"-dict={self.dict_path}")
        return flags

    def reproduce_command(self, input_path, root):
        """The one command that replays input_path, relative to root where possible."""
        def rel(p):
            p = os.path.abspath(p)
            r = os.path.relpath(p, root)
            return p if r.startswith("..") else r
        return " ".join([rel(self.binary)] + self.limit_flags() + [rel(input_path)])
