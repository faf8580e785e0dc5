"""Class activation maps of the GAP model, and the filter responses of the filters page."""
import pytest
import torch
import torch.nn.functional as F

from cnnviz.cam import class_activation_map
from cnnviz.model import GAP_CONFIG, DigitCNN, ModelConfig
from cnnviz.responses import conv2_summary, kernel_responses


@pytest.fixture(scope="module")
def gap_model():
    torch.manual_seed(0)
    return DigitCNN(GAP_CONFIG).eval()


def test_cam_mean_equals_the_class_logit_minus_its_bias(gap_model):
    x = torch.randn(1, 1, 28, 28)
    for c in range(10):
        cam = class_activation_map(gap_model, x, c)
        assert cam.cam.mean().item() == pytest.approx(cam.logit - cam.bias, abs=1e-5)


def test_cam_logit_is_the_models_logit(gap_model):
    x = torch.randn(1, 1, 28, 28)
    with torch.no_grad():
        logits = gap_model(x)[0]
    cam = class_activation_map(gap_model, x)
    assert cam.class_index == int(logits.argmax())
    assert cam.logit == pytest.approx(float(logits.max()), abs=1e-5)


def test_cam_is_7x7_and_upsampled_to_the_input(gap_model):
    cam = class_activation_map(gap_model, torch.randn(1, 1, 28, 28), 3)
    assert cam.cam.shape == (7, 7) and cam.upsampled.shape == (28, 28)


def test_cam_refuses_a_model_with_an_fc_head():
    with pytest.raises(ValueError, match="global average pooling"):
        class_activation_map(DigitCNN(ModelConfig()).eval(), torch.randn(1, 1, 28, 28))


def test_cam_refuses_a_class_out_of_range(gap_model):
    with pytest.raises(ValueError, match="0..9"):
        class_activation_map(gap_model, torch.randn(1, 1, 28, 28), 10)


def test_kernel_responses_match_the_models_conv1_without_bias():
    torch.manual_seed(1)
    model = DigitCNN(ModelConfig()).eval()
    x = torch.randn(1, 1, 28, 28)
    ours = kernel_responses(x, model.conv1.weight[:, 0].detach())
    oracle = F.conv2d(x, model.conv1.weight, padding=1)[0].detach()
    assert torch.allclose(ours, oracle, atol=1e-6)


def test_kernel_responses_of_sobel_x_see_a_vertical_edge():
    x = torch.zeros(1, 1, 8, 8)
    x[..., 4:] = 1.0
    r = kernel_responses(x, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])[0]
    assert r[4, 3] == 4.0 and r[4, 1] == 0.0


def test_kernel_responses_refuse_even_kernels():
    with pytest.raises(ValueError, match="odd"):
        kernel_responses(torch.zeros(1, 1, 8, 8), torch.zeros(2, 2, 2))


def test_conv2_summary_ranks_the_strongest_input_channels():
    w = torch.zeros(2, 4, 3, 3)
    w[0, 2] = 3.0
    w[0, 1] = 1.0
    w[1, 0] = -5.0
    s = conv2_summary(w, top=2)
    assert s.strongest[0].tolist() == [2, 1] and s.strongest[1, 0] == 0
    assert s.norms[1] == pytest.approx(15.0)


def test_cam_of_a_deeper_gap_design_with_batch_norm_adds_up_to_its_logits():
    from cnnviz.model import ConvBlock

    torch.manual_seed(2)
    config = ModelConfig(blocks=(ConvBlock(4, batch_norm=True), ConvBlock(6, 5, activation="tanh"),
                                 ConvBlock(8, pool="none")), head="gap", hidden=())
    model = DigitCNN(config).eval()
    x = torch.randn(1, 1, 28, 28)
    for c in (0, 7):
        cam = class_activation_map(model, x, c)
        assert cam.cam.shape == (7, 7) and cam.cam.mean().item() == pytest.approx(cam.logit - cam.bias, abs=1e-5)
