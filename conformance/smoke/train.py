"""Overfit one fixed batch for a few steps: the loss must fall clearly, and we measure tokens/s on the way.

Why overfitting: with labels that point at the right targets a tiny model memorises a fixed batch fast (the
loss halves within 30 AdamW steps, research/ecosystem.md §6); labels that point at padding, at nothing, or at
tokens the inputs do not determine train far worse. It is also the one place a throughput number is taken.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .batch import IGNORE_INDEX, PaddedBatch
from .vocab import VocabMap

LEARNING_RATE = 3e-3
#: The last loss must be below this fraction of the first.
FALL_RATIO = 0.5


@dataclass
class TrainResult:
    loss_curve: list[float]
    seconds: float
    tokens_per_step: int
    trained_tokens_per_step: int

    @property
    def loss_fell(self) -> bool:
        return len(self.loss_curve) >= 2 and self.loss_curve[-1] < FALL_RATIO * self.loss_curve[0]

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_per_step * len(self.loss_curve) / self.seconds if self.seconds else 0.0

    @property
    def trained_tokens_per_s(self) -> float:
        return self.trained_tokens_per_step * len(self.loss_curve) / self.seconds if self.seconds else 0.0


def overfit(model: Any, batch: PaddedBatch, vmap: VocabMap, device: Any, steps: int) -> TrainResult:
    import torch

    x = torch.tensor(vmap.encode(batch.input_ids), device=device)
    att = torch.tensor(batch.attention_mask, device=device)
    labels = torch.tensor(vmap.encode_labels(batch.labels, IGNORE_INDEX), device=device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    model.train()
    curve: list[float] = []
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        optimiser.zero_grad(set_to_none=True)
        loss = model(input_ids=x, attention_mask=att, labels=labels).loss
        loss.backward()
        optimiser.step()
        curve.append(float(loss.detach()))
    sync()
    seconds = time.perf_counter() - start
    trained = int((labels[:, 1:] != IGNORE_INDEX).sum())
    return TrainResult(curve, seconds, batch.real_tokens, trained)
