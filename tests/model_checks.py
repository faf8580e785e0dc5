"""Models for the tests that check a design's numbers against PyTorch's forward pass."""
import torch
from torch import nn

from cnnviz.model import DigitCNN, ModelConfig


def trained_looking(config: ModelConfig, seed: int = 0) -> nn.Module:
    """The design in eval mode, its batch norms holding statistics and scales away from 0 / 1 (as after
    training), so that a wrong use of any of them shows in the numbers."""
    torch.manual_seed(seed)
    model = DigitCNN(config).eval()
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.2, 3.0)
            bn.weight.uniform_(0.5, 2.0)
            bn.bias.uniform_(-0.5, 0.5)
    return model
