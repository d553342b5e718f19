"""The machine a report was made on: CPU, cores, compiler, flags, commit, load."""
import datetime
import os
import platform
import re
import subprocess
from pathlib import Path


def _run(command, cwd=None):
    try:
        done = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, timeout=20)
        return done.stdout.decode("utf-8", errors="replace").strip() if done.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cmake_cache(build_dir):
    values = {}
    try:
        for line in (Path(build_dir) / "CMakeCache.txt").read_text().splitlines():
            m = re.match(r"^([A-Za-z_0-9]+):[A-Z]+=(.*)$", line)
            if m:
                values[m.group(1)] = m.group(2)
    except OSError:
        pass
    return values


def commit(root):
    head = _run(["git", "rev-parse", "HEAD"], cwd=root)
    if not head:
        return "unknown (not a git checkout)"
    dirty = _run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root)
    subject = _run(["git", "log", "-1", "--format=%s"], cwd=root)
    return f"{head[:12]}{' (with uncommitted changes)' if dirty else ''} {subject}"


def describe(root, build_dir=None):
    """[(label, value)] for the report's machine table."""
    rows = [("date", datetime.datetime.now().isoformat(timespec="seconds")),
            ("host", platform.node()),
            ("CPU", cpu_model()),
            ("logical CPUs", str(os.cpu_count())),
            ("kernel", f"{platform.system()} {platform.release()}"),
            ("load average at report time", " ".join(f"{x:.2f}" for x in os.getloadavg()))]
    if build_dir:
        cache = cmake_cache(build_dir)
        compiler = cache.get("CMAKE_CXX_COMPILER", "")
        if compiler:
            version = _run([compiler, "--version"]).splitlines()
            rows.append(("compiler", f"{compiler}: {version[0] if version else '?'}"))
        build_type = cache.get("CMAKE_BUILD_TYPE", "")
        flags = " ".join(f for f in (cache.get("CMAKE_CXX_FLAGS", ""),
                                     cache.get(f"CMAKE_CXX_FLAGS_{build_type.upper()}", "")) if f)
        rows.append(("build", f"{build_dir} ({build_type or 'no build type'})"))
        rows.append(("flags", flags or "(none)"))
    rows.append(("commit", commit(root)))
    return rows
