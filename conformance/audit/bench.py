"""Benchmark of ``lossmask audit``: conversations/s per worker, scaling 1 → N workers, peak memory vs size.

Run: ``python -m lossmask.audit.bench`` (or ``nox -s audit_bench``). It writes synthetic datasets
(:mod:`.synthetic`, 2% planted problems) of each size, runs the real command line on each (size, workers) in a
fresh process, and writes a table into ``BENCHMARKS.md`` between the ``<!-- audit:start -->`` and
``<!-- audit:end -->`` markers only (other regions belong to other benchmarks). Peak memory is the largest
resident set of any one process of the run (the parent or a worker), read with ``getrusage(RUSAGE_CHILDREN)``
in a wrapper process, so one run's peak never leaks into another's. Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..atomic import write_text
from . import synthetic

START, END = "<!-- audit:start -->", "<!-- audit:end -->"
ROOT = Path(__file__).resolve().parents[2]

#: Runs the audit in a child and prints that child's (and its workers') peak RSS in KiB (Linux units).
WRAPPER = ("import json, resource, subprocess, sys\n"
           "rc = subprocess.run(sys.argv[1:]).returncode\n"
           "print(json.dumps({'rc': rc, 'maxrss_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n")


def measure(data: Path, family: str, workers: int, out: Path) -> dict:
    audit_argv = [sys.executable, "-m", "conformance", "audit", str(data), "--family", family, "--workers",
                  str(workers), "--json", str(out), "--no-progress"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *audit_argv], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    try:
        usage = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise SystemExit(f"audit run failed (workers={workers}, {data}):\n{proc.stderr[-2000:]}") from None
    if usage["rc"] != 0:
        raise SystemExit(f"audit exited {usage['rc']} (workers={workers}, {data}):\n{proc.stderr[-2000:]}")
    report = json.loads(out.read_text())
    return {"samples": report["samples"], "workers": workers, "rate": report["conversations_per_second"],
            "elapsed": report["elapsed_seconds"], "wall": round(wall, 1),
            "peak_mib": round(usage["maxrss_kib"] / 1024, 1), "findings": report["findings"],
            "errors": report["errors"]["total"], "tokens": report["tokens"]["all"], "load_before": round(load, 2)}


def versions() -> str:
    import tokenizers
    import transformers

    return (f"Python {platform.python_version()}, transformers {transformers.__version__}, "
            f"tokenizers {tokenizers.__version__}, {os.cpu_count()} CPUs ({platform.machine()})")


def render(results: list[dict], family: str, sizes: list[int], note: str) -> str:
    base = {r["samples"]: r["rate"] for r in results if r["workers"] == 1}
    lines = [
        START,
        "## lossmask audit",
        "",
        f"`python -m lossmask.audit.bench` ({time.strftime('%Y-%m-%d')}; {versions()}). Synthetic JSONL with "
        f"2% planted problems, family `{family}` (rebuilt tokenizer), profile `canonical` plus supervised totals "
        f"for all profiles; each row is one fresh `lossmask audit` process. {note}",
        "",
        "| conversations | workers | conversations/s | per worker | speedup vs 1 | audit s | peak RSS of one process "
        "| 1-min load before |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        speed = r["rate"] / base[r["samples"]] if base.get(r["samples"]) else float("nan")
        lines.append(f"| {r['samples']:,} | {r['workers']} | {r['rate']:,.0f} | {r['rate'] / r['workers']:,.0f} | "
                     f"{speed:.2f}× | {r['elapsed']:.1f} | {r['peak_mib']:,.0f} MiB | {r['load_before']:.2f} |")
    by_size = {}
    for r in results:
        by_size.setdefault(r["workers"], {})[r["samples"]] = r["peak_mib"]
    flat = "; ".join(f"{w} worker{'s' if w > 1 else ''}: " + " → ".join(f"{v:,.0f} MiB" for _, v in sorted(m.items()))
                     for w, m in sorted(by_size.items()))
    lines += ["", f"Peak memory as the dataset grows ({' → '.join(f'{s:,}' for s in sizes)} conversations): {flat}. "
              "The reader keeps at most 2 × workers chunks of 256 conversations in flight, so memory does not grow "
              "with the dataset.", END]
    return "\n".join(lines)


def write_region(path: Path, region: str) -> None:
    """Replace only the audit region of BENCHMARKS.md (re-read just before writing; atomic)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + region + tail
    else:
        text = text.rstrip("\n") + "\n\n" + region + "\n"
    write_text(path, text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="20000,100000", help="dataset sizes (comma-separated)")
    p.add_argument("--workers", default=f"1,{max(2, os.cpu_count() or 2)}", help="worker counts (comma-separated)")
    p.add_argument("--family", default="qwen3_5")
    p.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"), help="file to update ('-' prints only)")
    p.add_argument("--note", default="Timings are from a shared 2-core machine with other jobs running: noisy.")
    args = p.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    workers = sorted(int(w) for w in args.workers.split(","))
    results = []
    with tempfile.TemporaryDirectory(prefix="lossmask-audit-bench-") as tmp:
        for size in sizes:
            data = Path(tmp) / f"synthetic-{size}.jsonl"
            synthetic.write_jsonl(data, size, plant_every=50, seed=size)
            for w in workers:
                r = measure(data, args.family, w, Path(tmp) / "report.json")
                print(json.dumps(r), flush=True)
                results.append(r)
            data.unlink()
    counts = {(r["samples"], json.dumps(r["findings"], sort_keys=True), r["errors"], r["tokens"]) for r in results}
    if len({c for c in counts}) != len(sizes):
        raise SystemExit(f"worker counts disagree on the numbers: {sorted(counts)}")
    region = render(results, args.family, sizes, args.note)
    print(region)
    if args.out != "-":
        write_region(Path(args.out), region)
    return 0


if __name__ == "__main__":
    sys.exit(main())
