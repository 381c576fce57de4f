"""The trainable part of the emotion model and the whole exportable graph."""

from __future__ import annotations

import torch
from torch import nn

from edge.training.whisper_encoder import WhisperEncoder


def pool(states: torch.Tensor) -> torch.Tensor:
    """(layers, batch, frames, width) -> (batch, layers, 2*width): mean and std over time."""
    mean = states.mean(dim=2)
    std = (states - mean.unsqueeze(2)).pow(2).mean(dim=2).clamp_min(1e-6).sqrt()
    return torch.cat([mean, std], dim=-1).transpose(0, 1)


class Head(nn.Module):
    """Pooled per-layer statistics -> label logits and an arousal logit.

    Statistics are standardised with the training set's mean and spread, the
    layers mixed with learned softmax weights, then a small MLP.
    """

    centre: torch.Tensor  # a buffer
    spread: torch.Tensor  # a buffer

    def __init__(self, layers: int, dims: int, labels: int, hidden: int = 256) -> None:
        super().__init__()
        self.register_buffer("centre", torch.zeros(layers, dims))
        self.register_buffer("spread", torch.ones(layers, dims))
        self.layer_logits = nn.Parameter(torch.zeros(layers))
        self.mlp = nn.Sequential(
            nn.Dropout(0.2),
            nn.Linear(dims, hidden),
            nn.GELU(),
            nn.Dropout(0.3),
            nn.Linear(hidden, labels + 1),
        )

    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = (pooled - self.centre) / self.spread
        mixed = (torch.softmax(self.layer_logits, 0)[None, :, None] * z).sum(dim=1)
        out = self.mlp(mixed)
        return out[:, :-1], out[:, -1]


class EmotionModel(nn.Module):
    """What ships.

    Inputs: log-mel (1, 80, frames); the speaker's baseline statistics (layers, 2*width).
    Outputs: probs (1, labels), arousal (1,), this window's statistics
    (layers, 2*width) and the population mean of the statistics (layers, 2*width),
    the baseline to use before a speaker has one.
    """

    prior: torch.Tensor  # a buffer

    def __init__(self, encoder: WhisperEncoder, head: Head, prior: torch.Tensor) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.register_buffer("prior", prior)

    def forward(
        self, mel: torch.Tensor, baseline: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        stats = pool(self.encoder(mel))
        logits, arousal = self.head(stats - baseline)
        prior = self.prior + 0 * baseline  # tied to an input, so export keeps the output name
        return torch.softmax(logits, dim=-1), torch.sigmoid(arousal), stats[0], prior
