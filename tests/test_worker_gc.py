"""The pool workers tune their garbage collector; the caller's process is left alone."""

from __future__ import annotations

import gc
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from qualscan.config import Config
from qualscan.engine.worker import GC_THRESHOLD, init_worker


def test_pool_workers_raise_the_gc_threshold_and_the_caller_keeps_its_own() -> None:
    before = gc.get_threshold()
    init_worker(Config())  # the serial path: runs in this (the caller's) process
    assert gc.get_threshold() == before
    ctx = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=init_worker, initargs=(Config(),)) as pool:
        assert pool.submit(gc.get_threshold).result() == GC_THRESHOLD
        assert pool.submit(gc.get_freeze_count).result() > 0  # the inherited modules were frozen
    assert gc.get_threshold() == before


def test_the_program_entry_point_tunes_the_gc_and_main_does_not() -> None:
    import subprocess
    import sys

    from qualscan import cli

    assert cli.GC_THRESHOLD == GC_THRESHOLD
    code = (
        "import gc, sys\n"
        "sys.argv = ['qualscan', 'rules']\n"
        "from qualscan import cli\n"
        "before = gc.get_threshold()\n"
        "assert cli.main() == 0 and gc.get_threshold() == before\n"
        "assert cli.run() == 0\n"
        "print('GC', gc.get_threshold(), gc.get_freeze_count() > 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip().splitlines()[-1] == f"GC {GC_THRESHOLD} True"
