"""Adversarial changes: every result is checked by running the network on the returned picture."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnviz import attack, checkpoint
from cnnviz.data import load_split
from cnnviz.preprocess import normalize_image28, preprocess
from cnnviz.sketch import draw_digit


@pytest.fixture(scope="module")
def model():
    return checkpoint.load(checkpoint.shipped_path("fc"))[0]


@pytest.fixture(scope="module")
def digits():
    return [preprocess(draw_digit(d))[0] for d in (0, 3, 7)]  # 28x28 in [0, 1]


def answer(model, image) -> tuple[int, np.ndarray]:
    """What the app does: the picture normalised as preprocess does it, one forward pass."""
    with torch.no_grad():
        p = torch.softmax(model(normalize_image28(image.astype(np.float32))), 1)[0]
    return int(p.argmax()), p.double().numpy()


def check(model, image, result, max_epsilon):
    label, p = answer(model, result.image)
    assert label == result.label
    np.testing.assert_allclose(result.probabilities, p, atol=1e-6)
    assert result.image.shape == (28, 28) and 0 <= result.image.min() and result.image.max() <= 1
    assert np.abs(result.image - image).max() <= result.epsilon + 1e-7
    assert 0 < result.epsilon <= max_epsilon + 1e-7
    np.testing.assert_allclose(result.perturbation, result.image - image, atol=1e-7)
    assert result.original_label == answer(model, image)[0]


def test_the_smallest_flip_changes_the_answer_within_epsilon(model, digits):
    for image in digits:
        result = attack.smallest_flip(model, image)
        assert result is not None and result.target is None
        check(model, image, result, 0.5)
        assert result.label != result.original_label


def test_a_targeted_flip_reaches_its_target(model, digits):
    image = digits[1]
    for target in (8, 5, 2):
        result = attack.smallest_flip(model, image, target=target)
        assert result is not None
        check(model, image, result, 0.5)
        assert result.label == target == result.target


def test_the_refined_change_is_no_larger_than_plain_fgsm_on_the_grid(model, digits):
    """FGSM worked out here with autograd: the first of 20 epsilons (0.025 apart) that flips the answer."""
    image = digits[2]
    label = answer(model, image)[0]
    x = normalize_image28(image).requires_grad_()
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), torch.tensor([label])), x)
    sign = grad.sign()[0, 0].numpy()  # d/d pixel = d/d input / STD: the same sign
    grid = [e for e in 0.025 * np.arange(1, 21)
            if answer(model, np.clip(image + e * sign, 0, 1))[0] != label]
    result = attack.smallest_flip(model, image)
    assert grid and result.epsilon <= grid[0] + 1e-7


def test_nothing_flips_within_a_tiny_epsilon(model, digits):
    assert attack.smallest_flip(model, digits[0], max_epsilon=0.005) is None
    assert attack.smallest_flip(model, digits[0], target=1, max_epsilon=0.005) is None


def test_bad_requests_say_what_to_change(model, digits):
    label = answer(model, digits[0])[0]
    with pytest.raises(ValueError, match="already answers"):
        attack.smallest_flip(model, digits[0], target=label)
    with pytest.raises(ValueError, match="max_epsilon"):
        attack.smallest_flip(model, digits[0], max_epsilon=2)
    with pytest.raises(ValueError, match="class index"):
        attack.smallest_flip(model, digits[0], target=12)


def test_the_attack_leaves_the_model_alone(model, digits):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    attack.smallest_flip(model, digits[1])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.training and all(p.grad is None for p in model.parameters())


@pytest.fixture(scope="module")
def test_digits(data_root):
    return load_split("test", root=data_root).subset(300)


def test_accuracy_at_epsilon_zero_is_the_plain_accuracy(model, test_digits):
    curve = attack.accuracy_curve(model, test_digits, [0.0])
    with torch.no_grad():
        plain = (model(test_digits.images).argmax(1) == test_digits.labels).double().mean().item()
    assert curve["accuracy"][0] == pytest.approx(plain)
    assert curve["count"] == 300 and curve["method"] == "fgsm"


def test_fgsm_accuracy_matches_fgsm_done_by_hand(model, test_digits):
    pixels = test_digits.raw.float()[:, None] / 255.0
    x = ((pixels - 0.1307) / 0.3081).requires_grad_()
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), test_digits.labels, reduction="sum"), x)
    attacked = (pixels + 0.1 * grad.sign()).clamp(0, 1)
    with torch.no_grad():
        by_hand = (model((attacked - 0.1307) / 0.3081).argmax(1) == test_digits.labels).double().mean().item()
    curve = attack.accuracy_curve(model, (pixels[:, 0].numpy(), test_digits.labels.numpy()), [0.1], batch_size=128)
    assert curve["accuracy"][0] == pytest.approx(by_hand, abs=1 / 300)  # at most one borderline digit apart


def test_pgd_is_at_least_as_strong_as_fgsm(model, test_digits):
    epsilons = [0.05, 0.1, 0.2]
    fgsm = attack.accuracy_curve(model, test_digits, epsilons)["accuracy"]
    pgd = attack.accuracy_curve(model, test_digits, epsilons, method="pgd")["accuracy"]
    assert all(p <= f + 1 / 300 for p, f in zip(pgd, fgsm))
    with pytest.raises(ValueError, match="method"):
        attack.accuracy_curve(model, test_digits, epsilons, method="cw")


def test_the_shipped_curves_load_without_mnist():
    curves = attack.load_shipped_accuracy_curve()
    fgsm, pgd = curves["fgsm"], curves["pgd"]
    assert fgsm["epsilons"] == pgd["epsilons"] and fgsm["epsilons"][0] == 0 and fgsm["count"] == curves["count"]
    assert fgsm["accuracy"][0] == pgd["accuracy"][0] > 0.97
    assert all(p <= f for p, f in zip(pgd["accuracy"], fgsm["accuracy"]))
    assert all(0 <= a <= 1 for a in fgsm["accuracy"] + pgd["accuracy"])


def test_the_shipped_curve_starts_at_the_shipped_model_s_accuracy(model, data_root):
    curves = attack.load_shipped_accuracy_curve()
    digits = load_split("test", root=data_root).subset(curves["count"])
    with torch.no_grad():
        plain = (model(digits.images).argmax(1) == digits.labels).double().mean().item()
    assert curves["fgsm"]["accuracy"][0] == pytest.approx(plain)


def test_a_missing_curve_file_says_how_to_record_it(tmp_path):
    with pytest.raises(ValueError, match="record_explain"):
        attack.load_shipped_accuracy_curve(tmp_path)
