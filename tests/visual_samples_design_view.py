"""Sample arguments for the builders of cnnviz_ui/design_view.py (read by tests/test_visual_language.py)."""
from __future__ import annotations

from visual_checks import Case


def _records():
    from cnnviz.train import StepRecord
    return [StepRecord(step=s, epoch=1, epoch_progress=s / 10, batch_loss=2.0 / s, train_acc=0.5 + s / 40,
                       lr=1e-3, images_per_sec=1000.0, elapsed=s / 10, test_acc=0.9 if s == 5 else None)
            for s in range(1, 6)]


def samples() -> dict[str, list[Case]]:
    from cnnviz.design import summarize
    from cnnviz.model import CHAPTER_CONFIG, GAP_CONFIG, ConvBlock, ModelConfig

    odd = ModelConfig(blocks=(ConvBlock(8, 5, "valid", batch_norm=True, activation="leaky_relu", pool="avg"),
                              ConvBlock(4, pool="none")), hidden=(64, 32))
    series = [{"name": "the chapter's design", "points": [(5.0, 0.98), (10.0, 0.991)], "chapter": True},
              {"name": "tiny", "points": [(2.0, 0.95), (4.0, 0.978)]}, {"name": "not tested yet", "points": []}]
    return {
        "cnnviz_ui.design_view.architecture_figure": [Case((summarize(CHAPTER_CONFIG),)),
                                                      Case((summarize(GAP_CONFIG),)), Case((summarize(odd),))],
        "cnnviz_ui.design_view.curves_figure": [Case((_records(), 10))],
        "cnnviz_ui.design_view.accuracy_figure": [Case((series,))],
    }
