"""Every use of PyTorch's internals, in one place: optimizers that train without importing the compiler.

Written against torch 2.14. tests/test_torch_internals.py fails, naming what changed, when an upgrade removes what
this relies on; then everything here falls back to torch's own public path, slower to start and otherwise the same.

What it works around: torch.optim imports torch._dynamo (the compiler's front end, sympy with it: ~0.9 s of CPU on
the 2-core VM) the first time an optimizer is built or stepped, though eager training never compiles anything, and
in a fresh training process that import sat on the way to the first step (bench/NOTES.md §22).
- `Optimizer.add_param_group`, `zero_grad`, `state_dict` and `load_state_dict` are wrapped by
  `torch._compile._disable_dynamo`, which on its first call imports torch._dynamo to build a "not compiled" version
  of the function and caches it on the function as `__dynamo_disable`. Outside compilation that version behaves as
  the function itself, so `compile_free_optimizers()` caches the function itself there.
- `Adam.step` and `SGD.step` are wrapped by `_use_grad_for_differentiable`, which imports torch._dynamo to call
  `graph_break()` (nothing, outside compilation) around the update, run with autograd set to the optimizer's
  `differentiable` option. `Adam` and `SGD` below run the wrapped update in the same autograd setting, without it.
Only for processes that train eagerly (the CLI, a training worker): do not mix with torch.compile.
"""
from __future__ import annotations

import torch
from torch.optim import Optimizer

DISABLE_CACHE = "__dynamo_disable"   # the attribute _disable_dynamo caches its "not compiled" function in
WRAPPED_METHODS = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")


def _disable_dynamo_code():
    """The code object of _disable_dynamo's wrapper (None if torch no longer has it)."""
    disable = getattr(getattr(torch, "_compile", None), "_disable_dynamo", None)
    return None if disable is None else disable(lambda: None).__code__


def disable_dynamo_wrapped() -> dict:
    """name -> the function that the `_disable_dynamo` wrapper of each of WRAPPED_METHODS calls."""
    code, found = _disable_dynamo_code(), {}
    for name in WRAPPED_METHODS:
        method = getattr(Optimizer, name, None)
        inner = getattr(method, "__wrapped__", None)
        if code is not None and inner is not None and getattr(method, "__code__", None) is code:
            found[name] = inner
    return found


def unhooked_step(optimizer_class: type):
    """`optimizer_class.step` below the profiling hook that Optimizer puts around a class's step once one of its
    instances is built (a subclass's step gets its own hook)."""
    step = optimizer_class.__dict__["step"]
    while getattr(step, "hooked", False) and hasattr(step, "__wrapped__"):
        step = step.__wrapped__
    return step


def use_grad_wrapped(optimizer_class: type):
    """The update that `optimizer_class.step`'s `_use_grad` wrapper runs, or None if torch no longer wraps it so."""
    step = unhooked_step(optimizer_class)
    code = getattr(step, "__code__", None)
    return getattr(step, "__wrapped__", None) if code is not None and code.co_name == "_use_grad" else None


def compile_free_optimizers() -> bool:
    """Let Optimizer's wrapped methods run without importing torch._dynamo in this process; True if all four could."""
    found = disable_dynamo_wrapped()
    for inner in found.values():
        if getattr(inner, DISABLE_CACHE, None) is None:
            setattr(inner, DISABLE_CACHE, inner)
    return len(found) == len(WRAPPED_METHODS)


def _step(base: type, optimizer: Optimizer, closure):
    update = use_grad_wrapped(base)
    if update is None:                       # torch changed: its own step, which imports torch._dynamo
        return unhooked_step(base)(optimizer, closure)
    with torch.set_grad_enabled(optimizer.defaults["differentiable"]):  # what _use_grad sets around the update
        return update(optimizer, closure)


class Adam(torch.optim.Adam):
    """torch.optim.Adam whose step does not import torch._dynamo (see the module's note); the same update."""

    def step(self, closure=None):
        return _step(torch.optim.Adam, self, closure)


class SGD(torch.optim.SGD):
    """torch.optim.SGD whose step does not import torch._dynamo (see the module's note); the same update."""

    def step(self, closure=None):
        return _step(torch.optim.SGD, self, closure)
