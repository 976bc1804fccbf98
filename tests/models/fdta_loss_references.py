"""Hand references of FDTA's losses shared by the loss tests: plain-Python loops over the spec's formulas."""

from __future__ import annotations

import math

import torch

from discmot.models.fdta.losses import IdentityAdapter


def sigmoid_focal(logit: float, positive: bool, alpha: float = 0.25, gamma: float = 2.0) -> float:
    """Deformable DETR's elementwise sigmoid focal BCE of one logit; ``alpha < 0``: no class weighting."""
    p = 1 / (1 + math.exp(-logit))
    p_t = p if positive else 1 - p
    loss = -math.log(p_t) * (1 - p_t) ** gamma
    if alpha >= 0:
        loss *= alpha if positive else 1 - alpha
    return loss


def softmax_focal(logits: list[float], cls: int, gamma: float = 2.0, alpha: float = 0.25) -> float:
    """Spec §3.1.4 step 3 at one pixel: ``sum_k y_k (-alpha (1 - P_k)^gamma log P_k)``, y = one_hot + 1e-6."""
    exps = [math.exp(v) for v in logits]
    probs = [e / sum(exps) for e in exps]
    return sum(((k == cls) + 1e-6) * -alpha * (1 - p) ** gamma * math.log(p) for k, p in enumerate(probs))


def identity_cfe(dim: int = 2) -> IdentityAdapter:
    """A CFE that is the identity on non-negative inputs (identity weights, zero biases)."""
    adapter = IdentityAdapter(dim)
    with torch.no_grad():
        for layer in adapter.layers:
            layer.weight.copy_(torch.eye(dim))
            layer.bias.zero_()
    return adapter


def reference_ia_loss(z: list[list[float]], ids: list[int], q: list[float], tau: float) -> float:
    """Spec §3.3 steps 5-7 with loops on unit vectors (float64 ``math`` on unit vectors, no shift needed)."""

    def s(i, k):
        return sum(a * b for a, b in zip(z[i], z[k], strict=True)) / tau

    anchor_losses = []
    for i in range(len(z)):
        positives = [j for j in range(len(z)) if j != i and ids[j] == ids[i]]
        if not positives:
            continue
        negatives = sum(math.exp(s(i, k)) for k in range(len(z)) if ids[k] != ids[i])
        terms = [
            2 * q[i] * q[j] / (q[i] + q[j]) * (-s(i, j) + math.log(math.exp(s(i, j)) + negatives))
            for j in positives
        ]
        anchor_losses.append(sum(terms) / len(terms))
    return tau * sum(anchor_losses) / max(1, len(anchor_losses))
