"""`python -m bench`: run every benchmark module `bench/bench_*.py` and print its `key=value` lines.

Each module has `run() -> dict[str, object]` (it may start servers and clients, but only on
127.0.0.1, and must stop by itself in a few minutes). Progress goes to stderr; stdout ends with the
collected `key=value` lines, one per line and nothing else on the line, so scripts can read them.
`python -m bench NAME ...` runs only the named modules (e.g. `python -m bench results fanout`).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path

PREFIX = "bench_"


def available() -> list[str]:
    folder = Path(__file__).parent
    return sorted(m.name[len(PREFIX):] for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith(PREFIX))


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; there are: {', '.join(available())}", file=sys.stderr)
        return 2
    figures: dict[str, object] = {}
    failed: list[str] = []
    for name in names:
        started = time.perf_counter()
        print(f"bench {name} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench.{PREFIX}{name}")
            figures.update(module.run())
        except Exception as error:  # one broken benchmark must not hide the others' figures
            failed.append(name)
            print(f"bench {name} failed: {error!r}", file=sys.stderr, flush=True)
        print(f"bench {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    for key, value in figures.items():
        print(f"{key}={value}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
