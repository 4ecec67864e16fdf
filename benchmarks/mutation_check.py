"""Does the suite catch deliberate one-line breaks of the source? A small mutation check.

    python benchmarks/mutation_check.py              # every break, each on its tests (-x)
    python benchmarks/mutation_check.py --only halo-second-axis train-applies-best-k
    python benchmarks/mutation_check.py --full       # each break on the whole suite (slow)
    python benchmarks/mutation_check.py --list

The repository (tracked and untracked, not ignored, files) is copied to a temporary folder;
each break of :data:`BREAKS` replaces one exact snippet of one file there, the tests run
(``pytest -x -q`` on the break's tests, or the whole suite with ``--full``) with the copy's
``src`` first on the path, and the file is restored. A break is **caught** when pytest fails
(exit status 1, or 2 for an error while collecting), **MISSED** when it passes, and **NOT
APPLIED** when its snippet is not found exactly once (the source moved: update the entry's
``path`` or ``old``; never counted as caught). The unbroken copy is run first on the union of
the tests: if it fails, nothing is reported. Exit status: 0 when every applied break is caught
and every break applied, else 1.

Each break is a file path plus an exact ``old → new`` snippet, so an entry survives a file move
with only its path changed. Add one when a bug slipped through the suite: the break that
reproduces it, and the tests that must catch it.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Break:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    why: str


BREAKS = [
    Break("halo-second-axis", "src/varda/array/fill.py",
          "            depth[ax] = g.halo\n",
          "            depth[ax] = g.halo if i == 0 else 0\n",
          ("tests/array/test_fill_array.py", "-k", "two_spatial or every_axis or tile_boundaries"),
          "a dask fill chunked along a second tiled axis gets no halo there (issue 28.1)"),
    Break("train-applies-best-k", "src/varda/training/choice.py",
          "        m.n_iter = int(k_best)\n",
          "        pass\n",
          ("tests/xr/test_train.py", "-k", "applies_the_iteration"),
          "varda.train records the K that validates best but does not apply it (issue 28.2)"),
    Break("halo-off-by-one", "src/varda/array/tiling.py",
          "        return self.patch - 1 if self.tiled else 0\n",
          "        return self.patch - 2 if self.tiled else 0\n",
          ("tests/array/test_fill_array.py", "-k", "tile_boundaries or two_spatial"),
          "the halo misses the last point of a tile that crosses a chunk boundary"),
    Break("unchanged-windows-not-kept", "src/varda/array/fill.py",
          "    keep = observed & (keep_observed | ~todo)\n",
          "    keep = observed & keep_observed\n",
          ("tests/array/test_fill_array.py", "-k", "unchanged"),
          "complete='unchanged' stops returning gap-free windows as they are"),
    Break("resume-skips-a-missing-region", "src/varda/io/zarr_store.py",
          "        if i in done:\n",
          "        if i in done or i - 1 in done:\n",
          ("tests/io/test_regions.py", "-k", "resumes_bit_for_bit"),
          "a resumed fill skips a region that was never written"),
    Break("regions-cut-inside-a-chunk", "src/varda/io/regions.py",
          "        if edge % zarr_chunk == 0 and edge - last >= step:\n",
          "        if edge - last >= step:\n",
          ("tests/io/test_regions.py", "-k", "dask_and_zarr"),
          "regions cut inside a Zarr chunk (two regions would write one chunk)"),
]


def copy_repo(dest: Path) -> None:
    """Tracked and untracked (not ignored) files of the repository, as they are now."""
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"],
                           check=True, capture_output=True).stdout.decode().split("\0")
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / f)


def run_tests(copy: Path, args: "tuple[str, ...] | list[str]") -> tuple[int, float, str]:
    env = {**os.environ, "PYTHONPATH": str(copy / "src"), "OMP_NUM_THREADS": "1",
           "HYPOTHESIS_PROFILE": "mutation"}   # the examples of CI, failures not shrunk
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                           *args], cwd=copy, env=env, capture_output=True, text=True)
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return proc.returncode, time.perf_counter() - t0, lines[-1] if lines else ""


def union_of_tests(breaks: list[Break]) -> list[str]:
    """pytest arguments selecting every test of ``breaks`` (their files, their -k's or'ed)."""
    files = sorted({t for b in breaks for t in b.tests if t.startswith("tests/")})
    ks = [b.tests[b.tests.index("-k") + 1] for b in breaks if "-k" in b.tests]
    if len(ks) < len(breaks):
        return files
    return [*files, "-k", " or ".join(f"({k})" for k in ks)]


def main(argv: "list[str] | None" = None) -> int:
    p = argparse.ArgumentParser(description="apply one-line breaks; does the suite catch each?")
    p.add_argument("--only", nargs="+", metavar="NAME", help="run these breaks only")
    p.add_argument("--full", action="store_true", help="the whole suite for every break")
    p.add_argument("--list", action="store_true", help="list the breaks and exit")
    a = p.parse_args(argv)
    chosen = [b for b in BREAKS if not a.only or b.name in a.only]
    if a.only and len(chosen) != len(set(a.only)):
        p.error(f"unknown break in {a.only}; known: {[b.name for b in BREAKS]}")
    if a.list:
        for b in chosen:
            found = (ROOT / b.path).read_text().count(b.old) if (ROOT / b.path).is_file() else 0
            state = "applies" if found == 1 else "NOT APPLIED"
            print(f"{b.name:32s} {state:11s} {b.path}: {b.why}")
        return 0
    with tempfile.TemporaryDirectory(prefix="varda-mutation-") as tmp:
        copy = Path(tmp)
        copy_repo(copy)
        rc, dt, last = run_tests(copy, [] if a.full else union_of_tests(chosen))
        print(f"{'(no break)':32s} {'passes' if rc == 0 else 'FAILS'}  {dt:6.1f} s  {last}")
        if rc != 0:
            print("the unbroken suite fails: fix it first; no break reported")
            return 1
        ok = True
        for b in chosen:
            target = copy / b.path
            text = target.read_text() if target.is_file() else ""
            if text.count(b.old) != 1:
                print(f"{b.name:32s} NOT APPLIED ({b.path}: snippet found {text.count(b.old)} "
                      "times, expected once)")
                ok = False
                continue
            target.write_text(text.replace(b.old, b.new))
            try:
                rc, dt, last = run_tests(copy, [] if a.full else b.tests)
            finally:
                target.write_text(text)
            verdict = "caught" if rc in (1, 2) else "MISSED" if rc == 0 else f"rc={rc}"
            ok &= verdict == "caught"
            print(f"{b.name:32s} {verdict:7s} {dt:6.1f} s  {last}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
