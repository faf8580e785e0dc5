"""cnnviz.evaluate: probabilities, confusion matrix, per-class accuracy, the report and the CLI."""
import json
import re

import numpy as np
import pytest
import torch

from cnnviz.checkpoint import load, shipped_path
from cnnviz.data import load_split
from cnnviz.evaluate import (
    cell_examples,
    confusion_from_predictions,
    evaluation_report,
    largest_mistake,
    least_confident_correct,
    main,
    per_class_accuracy,
    pixels_from_text,
    pixels_text,
    predict,
    summarize,
)
from cnnviz.train import evaluate


@pytest.fixture(scope="module")
def shipped():
    return load(shipped_path("fc"))


@pytest.fixture(scope="module")
def test_split(data_root):
    return load_split("test", data_root)


def test_predict_returns_probabilities_for_every_image(shipped, test_split):
    probs = predict(shipped[0], test_split.images[:300], batch_size=128)
    assert probs.shape == (300, 10)
    torch.testing.assert_close(probs.sum(1), torch.ones(300))
    assert (probs >= 0).all()


def test_confusion_matrix_rows_are_class_counts_and_trace_is_correct_count(shipped, test_split):
    part = test_split.subset(2000)
    cm = np.asarray(summarize(predict(shipped[0], part.images), part.labels)["confusion"])
    assert cm.shape == (10, 10) and cm.dtype.kind == "i"
    assert cm.sum(1).tolist() == torch.bincount(part.labels, minlength=10).tolist()
    assert np.trace(cm) == evaluate(shipped[0], part)["correct"]


def test_confusion_counts_true_rows_against_predicted_columns():
    cm = confusion_from_predictions([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], num_classes=3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_per_class_accuracy_is_the_diagonal_over_row_sums():
    cm = [[3, 1, 0], [0, 2, 0], [0, 0, 0]]
    assert per_class_accuracy(cm) == [0.75, 1.0, 0.0]


def test_report_lists_real_mistakes_with_their_top3(shipped, test_split):
    part = test_split.subset(3000)
    report = evaluation_report(shipped[0], part, max_mistakes=5)
    assert report["total"] == 3000 and len(report["per_class"]) == 10
    assert 0 < len(report["misclassified"]) <= 5
    for m in report["misclassified"]:
        assert part.labels[m["index"]] == m["true"] != m["predicted"] == m["top3"][0][0]
        probs = [p for _, p in m["top3"]]
        assert probs == sorted(probs, reverse=True)


def test_report_is_the_summary_of_the_models_probabilities(shipped, test_split):
    part = test_split.subset(1000)
    report = evaluation_report(shipped[0], part)
    assert report == {"dataset": "mnist", "split": "test",
                      **summarize(predict(shipped[0], part.images), part.labels, raw=part.raw)}


# Five examples of three classes; rows are softmax outputs.
PROBS = np.array([[0.9, 0.05, 0.05],   # 0 -> 0
                  [0.2, 0.7, 0.1],     # 0 -> 1, confident
                  [0.4, 0.5, 0.1],     # 0 -> 1, unsure
                  [0.1, 0.8, 0.1],     # 1 -> 1
                  [0.6, 0.1, 0.3]])    # 2 -> 0
LABELS = [0, 0, 0, 1, 2]


def test_summary_counts_accuracy_per_class_and_confusion():
    summary = summarize(PROBS, LABELS)
    assert (summary["total"], summary["correct"], summary["accuracy"]) == (5, 2, 0.4)
    assert summary["confusion"] == [[1, 2, 0], [0, 1, 0], [1, 0, 0]]
    assert summary["per_class"] == pytest.approx([1 / 3, 1.0, 0.0])


def test_summary_lists_mistakes_most_confident_first_and_caps_them():
    mistakes = summarize(PROBS, LABELS, max_mistakes=2)["misclassified"]
    assert [(m["index"], m["true"], m["predicted"]) for m in mistakes] == [(1, 0, 1), (4, 2, 0)]
    assert mistakes[0]["top3"] == [[1, 0.7], [0, 0.2], [2, 0.1]]


def test_summary_accepts_tensors_like_arrays():
    assert summarize(torch.tensor(PROBS), torch.tensor(LABELS)) == summarize(PROBS, LABELS)


def test_cell_examples_are_one_cells_digits_most_confident_first():
    examples = cell_examples(PROBS, LABELS, true=0, predicted=1)
    assert [m["index"] for m in examples] == [1, 2]
    assert all(m["true"] == 0 and m["predicted"] == 1 for m in examples)
    assert cell_examples(PROBS, LABELS, true=0, predicted=1, limit=1)[0]["index"] == 1


def test_cell_examples_of_the_diagonal_are_correct_answers():
    assert [m["index"] for m in cell_examples(PROBS, LABELS, true=1, predicted=1)] == [3]


def test_largest_mistake_is_the_fullest_off_diagonal_cell():
    assert largest_mistake([[50, 1, 7], [2, 40, 0], [3, 0, 60]]) == (0, 2)


def test_predict_restores_training_mode(shipped, test_split):
    model = shipped[0].train()
    predict(model, test_split.images[:10])
    assert model.training
    model.eval()


def test_cli_prints_accuracy_per_class_and_confusion_matrix(data_root, capsys):
    assert main([str(shipped_path("fc")), "--data", str(data_root)]) == 0
    out = capsys.readouterr().out
    accuracy = float(re.search(r"Test accuracy: (\d+\.\d\d)%", out).group(1))
    assert accuracy >= 99.0
    assert "Per-class accuracy" in out and "Confusion matrix" in out
    rows = re.findall(r"^\s+(\d): ((?:\s+\d+){10})$", out, re.M)
    assert [int(d) for d, _ in rows] == list(range(10))
    assert sum(int(n) for _, row in rows for n in row.split()) == 10000


def test_cli_without_data_says_so_and_offers_the_recorded_report(tmp_path, capsys):
    assert main([str(shipped_path("fc")), "--data", str(tmp_path)]) == 2
    assert "t10k-images-idx3-ubyte" in capsys.readouterr().out
    assert main([str(shipped_path("fc")), "--recorded"]) == 0
    assert "recorded at training time" in capsys.readouterr().out


def test_cli_refuses_a_bad_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    assert main([str(bad)]) == 2
    assert "error:" in capsys.readouterr().out


def test_recorded_mistakes_carry_their_pictures_when_given_the_raw_images():
    """Offline, the evaluation page shows the recorded mistakes themselves, so the record holds their pixels."""
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    labels = np.array([0, 0, 1])
    raw = np.arange(3 * 4 * 4, dtype=np.uint8).reshape(3, 4, 4)
    report = summarize(probs, labels, raw=raw)
    assert [m["index"] for m in report["misclassified"]] == [1, 2]
    for m in report["misclassified"]:
        assert np.array_equal(pixels_from_text(m["pixels"]), raw[m["index"]])
    assert "pixels" not in summarize(probs, labels)["misclassified"][0]


def test_pixels_from_text_rejects_what_pixels_text_did_not_write():
    with pytest.raises(ValueError, match="pixels_text"):
        pixels_from_text("28x28:not base64!")
    with pytest.raises(ValueError, match="pixels_text"):
        pixels_from_text(pixels_text(np.zeros((2, 3), dtype=np.uint8)).replace("2x3", "3x3"))


@pytest.mark.parametrize("head", ["fc", "gap"])
def test_shipped_checkpoints_record_every_mistake_with_its_picture_and_no_paths(head):
    """Offline, every cell of the confusion matrix can show its digits; no absolute path in the metadata."""
    _, metadata = load(shipped_path(head))
    report = metadata["evaluation"]
    assert len(report["misclassified"]) == report["total"] - report["correct"]
    assert all(pixels_from_text(m["pixels"]).shape == (28, 28) for m in report["misclassified"])
    text = json.dumps(metadata)
    assert not re.search(r'"(/|~|[A-Za-z]:\\\\)[^"]*"', text) and "/home/" not in text and "/work/" not in text


def test_least_confident_correct_digits_come_least_sure_first_and_are_all_right():
    probs = np.array([[0.9, 0.1, 0], [0.55, 0.45, 0], [0.4, 0.6, 0], [0.7, 0.3, 0], [0.51, 0.0, 0.49],
                      [0.2, 0.8, 0]])
    labels = np.array([0, 0, 0, 0, 0, 1])
    found = least_confident_correct(probs, labels, 0, limit=3)
    assert [m["index"] for m in found] == [4, 1, 3]  # #2 is a mistake (answered 1), #5 another digit
    assert all(m["true"] == m["predicted"] == 0 for m in found)
    assert found[0]["top3"][0] == [0, 0.51] and found[0]["top3"][1] == [2, 0.49]
    assert least_confident_correct(probs, labels, 2) == []
    with pytest.raises(ValueError, match="digit"):
        least_confident_correct(probs, labels, 3)


def test_least_confident_correct_on_the_test_set_are_the_mirror_of_the_cell_examples(shipped, test_split):
    part = test_split.subset(2000)
    probs = predict(shipped[0], part.images).numpy()
    hard = least_confident_correct(probs, part.labels, 8, limit=5)
    sure = cell_examples(probs, part.labels, 8, 8, limit=10_000)
    assert [m["index"] for m in hard] == [m["index"] for m in sure[::-1][:5]] or \
        [probs[m["index"]].max() for m in hard] == sorted(probs[m["index"]].max() for m in sure)[:5]
    assert probs[hard[0]["index"]].max() <= probs[sure[0]["index"]].max()
