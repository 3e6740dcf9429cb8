"""What the comparison benchmarks (scripts/bench-vs-ezkl, scripts/bench-vs-zkml) share."""

import os
import platform
from pathlib import Path


def machine() -> str:
    """The CPU, cores, memory and kernel, for the header of a benchmark table."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}"


def write_section(bench: Path, start: str, end: str, heading: str, section: str) -> None:
    """Replaces the text between the `start` and `end` markers of `bench` (BENCHMARKS.md) with
    `section` (markers included), or appends it under `heading` the first time."""
    text = bench.read_text()
    if start in text and end in text:
        text = text[:text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text += f"\n{heading}\n\n{section}\n"
    bench.write_text(text)
