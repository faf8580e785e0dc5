"""cnnviz.torch_internals: what it relies on is still in torch (each failure names it), its optimizers update exactly as
torch's own, and a process that trains with them never imports torch._dynamo. Import checks run in child processes:
pytest's own process has imported torch._dynamo long before."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from cnnviz import torch_internals as ti
from cnnviz.model import DigitCNN


def test_optimizers_methods_are_still_wrapped_by_disable_dynamo():
    found = ti.disable_dynamo_wrapped()
    missing = [name for name in ti.WRAPPED_METHODS if name not in found]
    assert not missing, (f"torch no longer wraps Optimizer.{missing} with torch._compile._disable_dynamo: "
                         "compile_free_optimizers() no longer covers them; see cnnviz/torch_internals.py")


@pytest.mark.parametrize("base", [torch.optim.Adam, torch.optim.SGD])
def test_adam_and_sgd_steps_are_still_wrapped_by_use_grad(base):
    assert ti.use_grad_wrapped(base) is not None, (
        f"torch.optim.{base.__name__}.step is no longer the _use_grad wrapper of _use_grad_for_differentiable: "
        "cnnviz.torch_internals' optimizers now take torch's own step (which imports torch._dynamo)")


def _run(optimizer_class, steps: int = 6) -> list[torch.Tensor]:
    """`steps` steps of one-cycle training of a small DigitCNN: its parameters after them."""
    torch.manual_seed(0)
    model = DigitCNN()
    optimizer = optimizer_class(model.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=20)
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(16, 1, 28, 28, generator=generator)       # [16, 1, 28, 28]
        y = torch.randint(0, 10, (16,), generator=generator)       # [16]
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
        schedule.step()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("ours, theirs", [(ti.Adam, torch.optim.Adam), (ti.SGD, torch.optim.SGD)])
def test_the_same_update_bit_for_bit(ours, theirs):
    for a, b in zip(_run(ours), _run(theirs)):
        assert torch.equal(a, b)


def test_a_changed_torch_falls_back_to_its_own_step(monkeypatch):
    expected = _run(torch.optim.Adam)
    monkeypatch.setattr(ti, "use_grad_wrapped", lambda base: None)
    for a, b in zip(_run(ti.Adam), expected):
        assert torch.equal(a, b)


def test_no_gradient_is_recorded_during_the_update():
    model = torch.nn.Linear(3, 2)
    optimizer = ti.Adam(model.parameters(), lr=0.1)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    assert all(p.grad_fn is None for p in model.parameters())
    assert torch.is_grad_enabled()


_TRAIN = """
import json, sys
import torch
from cnnviz.data import Split
from cnnviz.torch_internals import compile_free_optimizers
from cnnviz.train import TrainConfig, Trainer
if sys.argv[1] == "compile-free":
    compile_free_optimizers()
images = torch.zeros(64, 1, 28, 28)
split = Split(images, torch.zeros(64, dtype=torch.int64), torch.zeros(64, 28, 28, dtype=torch.uint8))
Trainer(TrainConfig(max_steps=2, batch_size=32, optimizer=sys.argv[2], precision="float32"), split, split).run()
print(json.dumps("torch._dynamo" in sys.modules))
"""


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_process_that_trains_never_imports_the_compiler(optimizer):
    def dynamo_imported(mode):
        out = subprocess.run([sys.executable, "-c", _TRAIN, mode, optimizer], capture_output=True, text=True,
                             check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert dynamo_imported("compile-free") is False
    assert dynamo_imported("as-torch-ships") is True   # without it, torch.optim imports the compiler


def _private_torch_uses(source: str) -> list[str]:
    """`torch._x` attributes and `torch._x` imports in Python code (comments and strings aside)."""
    import ast
    found = []
    for node in ast.walk(ast.parse(source)):
        private = node.attr.startswith("_") and not node.attr.endswith("__") if isinstance(node, ast.Attribute) else 0
        if private and isinstance(node.value, ast.Name) and node.value.id == "torch":
            found.append(f"torch.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torch._"):
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("torch._")]
    return found


def test_no_other_module_of_the_app_uses_torchs_internals():
    from pathlib import Path
    root = Path(ti.__file__).resolve().parents[1]
    folders = ("cnnviz", "cnnviz_ui", "pages")
    files = [root / "app.py", *(p for folder in folders for p in (root / folder).rglob("*.py"))]
    uses = {str(p.relative_to(root)): u for p in files
            if p.name != "torch_internals.py" and (u := _private_torch_uses(p.read_text()))}
    assert not uses, f"PyTorch's internals belong in cnnviz/torch_internals.py, with a test: {uses}"
    seen = _private_torch_uses("import torch._dynamo\nx = torch._C.y  # torch._z\nfrom torch._compile import f\n")
    assert sorted(seen) == ["torch._C", "torch._compile", "torch._dynamo"]   # the scan sees what it looks for
