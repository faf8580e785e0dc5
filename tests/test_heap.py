"""cnnviz.heap: a process that keeps freed memory takes it again without page faults; the entry points that train ask
for it. Each measurement runs in a child process, since malloc's settings hold for a whole process."""
from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

from cnnviz import heap

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Allocate three 20 MiB blocks and free them, again and again, touching every page: the pattern of a training step
# (a few large blocks freed together), made large enough that glibc's own thresholds give the memory back.
_CHURN = """
import ctypes, json, resource, sys
from cnnviz import heap
kept = heap.keep_freed_memory() if sys.argv[1] == "keep" else None
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
size = 20 << 20
def churn():
    blocks = [libc.malloc(size) for _ in range(3)]
    for b in blocks:
        ctypes.memset(b, 1, size)
    for b in blocks:
        libc.free(b)
for _ in range(3):
    churn()                                    # glibc settles its thresholds here
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    churn()
print(json.dumps({"kept": kept, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""


def _churn(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHURN, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(not GLIBC, reason="mallopt's thresholds exist in glibc only")
def test_a_process_that_keeps_freed_memory_reuses_it_without_page_faults():
    pages = 10 * 3 * (20 << 20) // 4096          # the pages the ten rounds touch
    given_back = _churn("default")
    kept = _churn("keep")
    assert kept["kept"] is True
    assert given_back["faults"] > pages / 2       # glibc's own thresholds: the memory goes back and comes again
    assert kept["faults"] < pages / 100           # kept: the same memory, already mapped


def test_elsewhere_nothing_changes(monkeypatch):
    monkeypatch.setattr(heap.platform, "libc_ver", lambda: ("", ""))
    assert heap.keep_freed_memory() is False


@pytest.fixture
def asked(monkeypatch) -> list:
    """What cnnviz.train.prepare_training_process asked for, recorded instead of done (pytest's own process keeps
    glibc's thresholds and torch's optimizers as they were)."""
    import cnnviz.train as training
    asked = []
    monkeypatch.setattr(training, "keep_freed_memory", lambda: asked.append("keep freed memory"))
    monkeypatch.setattr(training, "compile_free_optimizers", lambda: asked.append("compile-free optimizers"))
    return asked


def test_the_command_line_keeps_freed_memory(asked, data_root):
    import torch

    from cnnviz.train import __main__ as cli
    threads = torch.get_num_threads()
    try:
        assert cli.main(["--max-steps", "1", "--train-size", "128", "--threads", "1", "--data", str(data_root)]) == 0
    finally:
        torch.set_num_threads(threads)
    assert asked == ["keep freed memory", "compile-free optimizers"]


def test_a_training_worker_keeps_freed_memory(asked, monkeypatch):
    from cnnviz import worker

    class Gone(Exception):
        pass

    def no_server(*_):
        raise Gone

    monkeypatch.setattr(worker, "Connection", no_server)   # stop right after the settings, before any job
    monkeypatch.setattr(worker.signal, "signal", lambda *_: None)  # pytest keeps its own Ctrl-C
    with pytest.raises(Gone):
        worker.main(["0", "0"])
    assert asked == ["keep freed memory", "compile-free optimizers"]
