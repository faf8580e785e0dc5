"""The two server-wide memory settings: glibc's allocator thresholds and when gc.freeze() runs."""
import gc
import platform
import sys
import types

import pytest

from cnnviz_ui import memory, shell


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_accepts_the_allocator_settings_once():
    assert memory.tune_malloc() is True
    assert memory.tune_malloc() is True          # a second call changes nothing and says the same


def test_freeze_waits_for_a_large_batch_of_new_modules(monkeypatch):
    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(len(sys.modules)))
    monkeypatch.setattr(gc, "collect", lambda *a: 0)
    monkeypatch.setattr(shell, "_modules_when_frozen", len(sys.modules))
    assert shell.freeze_new_imports() is False                      # nothing new: no freeze
    fake = [f"_cnnviz_fake_module_{i}" for i in range(shell._FREEZE_AFTER_NEW_MODULES)]
    for name in fake[:5]:
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    assert shell.freeze_new_imports() is False and frozen == []      # a few lazy imports: still no freeze
    for name in fake[5:]:
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    assert shell.freeze_new_imports() is True and frozen == [len(sys.modules)]   # torch-sized: freeze
    assert shell.freeze_new_imports() is False and len(frozen) == 1  # and only once for that batch
