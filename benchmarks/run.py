"""Run every benchmark of the project side by side in one run and print one table.

Usage: python benchmarks/run.py [--quick] [--only NAME ...] [--markdown]

Each ``benchmarks/bench_*.py`` module exposes ``run(quick: bool) -> list[dict]``; a row has
``name``, ``seconds`` (a median of interleaved repetitions), optionally ``baseline`` (the
name of the row measured in the same run that it is compared with) and ``note``. Ratios are
computed here, against the baseline measured in this very run, never a stored figure.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load benchmark module {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def machine() -> str:
    import os

    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def table(rows: list[tuple[str, dict[str, Any]]], markdown: bool) -> str:
    by_name = {(suite, row["name"]): row for suite, row in rows}
    lines = []
    header = ("suite", "benchmark", "seconds", "vs baseline", "note")
    if markdown:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
    else:
        lines.append(f"{'suite':<10} {'benchmark':<58} {'seconds':>9} {'ratio':>14}  note")
    for suite, row in rows:
        ratio = ""
        base = row.get("baseline")
        if base and (suite, base) in by_name and by_name[(suite, base)]["seconds"]:
            ratio = f"{row['seconds'] / by_name[(suite, base)]['seconds']:.3f}x"
        cells = (suite, row["name"], f"{row['seconds']:.4f}", ratio, row.get("note", ""))
        if markdown:
            lines.append("| " + " | ".join(cells) + " |")
        else:
            lines.append(f"{cells[0]:<10} {cells[1]:<58} {cells[2]:>9} {cells[3]:>14}  {cells[4]}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs, fewer repetitions")
    parser.add_argument("--only", nargs="*", default=None, help="suite names, e.g. git overhead")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    rows: list[tuple[str, dict[str, Any]]] = []
    started = time.perf_counter()
    for path in sorted(HERE.glob("bench_*.py")):
        suite = path.stem.removeprefix("bench_")
        if args.only and suite not in args.only:
            continue
        print(f"running {suite} ...", file=sys.stderr, flush=True)
        module = load(path)
        rows.extend((suite, row) for row in module.run(args.quick))
    print(f"machine: {machine()}; total {time.perf_counter() - started:.0f}s")
    print(table(rows, args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
