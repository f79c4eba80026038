"""Run benchmark modules and write their sections into docs/benchmarks.md, keeping the others."""

from __future__ import annotations

import importlib
import os
import platform
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
PARTIAL = Path(tempfile.gettempdir()) / "edge-train-benchmarks.md"
"""The sections so far, outside the checkout: the benchmarks clone it, and must see it as committed."""
SECTION = re.compile(r"<!-- BEGIN (\S+) -->\n(.*?)<!-- END \1 -->\n", re.S)


def machine() -> str:
    cpus = os.cpu_count()
    mem_kb = (
        next(
            (
                int(line.split()[1])
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            ),
            0,
        )
        if Path("/proc/meminfo").exists()
        else 0
    )
    return (
        f"{platform.system()} {platform.machine()}, {cpus} cores, {mem_kb / 2**20:.0f} GiB RAM, "
        f"Python {platform.python_version()}"
    )


def main(names: list[str]) -> None:
    available = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    chosen = names or available
    unknown = set(chosen) - set(available)
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; available: {', '.join(available)}")
    sections = dict(SECTION.findall(DOC.read_text())) if DOC.exists() else {}
    for name in chosen:
        print(f"running {name} ...", flush=True)
        body = importlib.import_module(f"benchmarks.{name}").run().rstrip() + "\n"
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        sections[name] = f"{body}\n_Measured {stamp} on {machine()}._\n"
        print(body)
        write(sections, PARTIAL)  # an hour's run that fails late keeps what it measured
    write(sections, DOC)
    PARTIAL.unlink(missing_ok=True)


def write(sections: dict[str, str], path: Path) -> None:
    parts = [
        "# Benchmarks\n",
        "Written by `make bench` (`python -m benchmarks [NAME]`); do not edit between the markers.\n",
        "Every figure is a ratio against a baseline measured in the same run, with the absolute numbers.\n",
    ]
    parts += [f"<!-- BEGIN {name} -->\n{sections[name]}<!-- END {name} -->\n" for name in sorted(sections)]
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(parts))


if __name__ == "__main__":
    main(sys.argv[1:])
