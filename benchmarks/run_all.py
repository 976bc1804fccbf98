#!/usr/bin/env python
"""Runs discmot's benchmarks and rewrites their sections of docs/benchmarks.md (``make bench``).

Benchmarks are discovered by file name: ``benchmarks/bench_<name>.py`` is benchmark ``<name>`` and must
define ``run(quick: bool) -> benchlib.BenchResult``. Adding a benchmark is adding such a file; nothing
here needs to change. Only the selected modules are imported, so one benchmark's heavy or missing
dependencies never break another.

    python benchmarks/run_all.py                 # every benchmark, docs/benchmarks.md updated
    python benchmarks/run_all.py --only eval     # just the evaluation benchmark
    python benchmarks/run_all.py --quick         # smoke run: 1 repetition, docs left alone

Exit status: 0 when every selected benchmark ran (or was skipped: `benchlib.Skipped`, e.g. the GPU
benchmark without CUDA, whose section is then left as it was) and its checks passed, 1 otherwise (a
failed check is still written to the docs, flagged, so it cannot go unnoticed).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
# When run as a script this folder is already on sys.path; when imported (tests) it may not be.
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import benchlib  # noqa: E402  (needs the path above)

PREFIX = "bench_"


def discover() -> list[str]:
    """Names of all benchmarks, from the ``bench_<name>.py`` files, sorted."""
    return sorted(path.stem[len(PREFIX) :] for path in BENCH_DIR.glob(f"{PREFIX}*.py"))


def load(name: str):
    """Imports benchmark ``name``'s module and checks it has a ``run`` function."""
    module = importlib.import_module(PREFIX + name)
    if not callable(getattr(module, "run", None)):
        raise TypeError(f"{module.__file__} defines no run(quick) function")
    return module


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line; ``--only`` is checked against the discovered benchmarks."""
    available = discover()
    parser = argparse.ArgumentParser(
        description="Run discmot's benchmarks and update docs/benchmarks.md.", allow_abbrev=False
    )
    default_docs = benchlib.DOCS_PATH.relative_to(benchlib.REPO_ROOT)
    parser.add_argument(
        "--only",
        nargs="+",
        choices=available,
        metavar="NAME",
        help=f"run only these ({', '.join(available)})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: one repetition; docs written only with --docs"
    )
    parser.add_argument("--docs", type=Path, default=None, help=f"markdown file to update ({default_docs})")
    parser.add_argument("--no-docs", action="store_true", help="print the sections, write no file")
    args = parser.parse_args(argv)
    args.only = args.only or available
    return args


def docs_target(args: argparse.Namespace) -> Path | None:
    """Where to write, or None. Quick numbers go nowhere by default: they must not replace real ones."""
    if args.no_docs:
        return None
    if args.docs is not None:
        return args.docs
    return None if args.quick else benchlib.DOCS_PATH


def main(argv: list[str] | None = None) -> int:
    """Runs the selected benchmarks one after the other, updating the docs after each."""
    args = parse_args(argv)
    target = docs_target(args)
    failed = []
    for name in args.only:
        print(f"== benchmark {name}{' (quick)' if args.quick else ''}", file=sys.stderr, flush=True)
        try:
            result = load(name).run(quick=args.quick)
        except benchlib.Skipped as reason:
            print(f"== skipped {name}: {reason}", file=sys.stderr)
            continue
        except Exception:  # one broken benchmark must not cost the others their run
            traceback.print_exc()
            failed.append(name)
            continue
        print(result.render())
        if target is not None:
            # Written after each benchmark so a later crash does not lose finished sections.
            benchlib.update_docs(target, result)
            print(f"== wrote section {name!r} of {target}", file=sys.stderr)
        if not result.ok:
            failed.append(name)
    if failed:
        print(f"== failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
