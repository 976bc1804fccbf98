"""When does FDTA's ID path start to learn? Its onset against how alike the objects' embeddings are.

In every `tiny` training run the ID loss sits at chance for about two epochs (1,700-2,600 iterations) and
then falls. This script isolates the ID path (Temporal Adapter, FFN adapter and ID decoder at the `tiny`
recipe's widths; no DETR) and trains it alone on clips whose embeddings are made to order: every object keeps
one feature ``common + separation * identity`` in all frames (plus 5% noise, then LayerNorm, as the DETR's
last decoder layer ends in one). ``common`` is shared by every object of every clip, so ``separation`` sets
how alike two objects look: mean cosine between different objects about ``1 / (1 + separation**2)``. ID
labels are drawn afresh per clip and group, so they can only be read off the history by matching features.

For each separation the script prints the cosine statistics of its features (the same two that
``discmot analyze`` reports for a model's embeddings) and the first step at which the known-object accuracy,
averaged over 100 steps, exceeds 0.5. Compare them with the DETR embeddings of a real run at each epoch
(``discmot analyze SEQ --weights RUN/checkpoints/epoch-00N.pt``): the ID loss of a run leaves chance
when its embeddings are about as distinct as the fastest-learning separations here.

Optimiser as the `tiny` recipe's (read from it: AdamW, lr 6e-4, weight decay 5e-4, gradients clipped at
norm 0.1); no warm-up.
Not part of ``make bench`` (the four default separations: 5.6 minutes on the 2-core developer machine,
while a training run shared it):

    python benchmarks/fdta_id_onset.py --separations 1.0 0.5 0.3 0.2 --steps 2500
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from discmot.analysis.embeddings import fraction_above, pair_similarities
from discmot.models.fdta.losses import id_loss
from discmot.models.fdta.model import FDTA
from discmot.models.fdta.recipe import load_recipe

FRAMES, OBJECTS, GROUPS, BATCH = 8, 8, 2, 4
NOISE = 0.05
WINDOW = 100  # steps averaged for the onset


def made_clips(batch: int, separation: float, common: torch.Tensor, labels: int, generator: torch.Generator):
    """Clips ``[B, G, T, N, ...]``: features, history labels, times, masks (True = absent) and targets.

    Each object enters at a random frame 0..3 (object 0 at frame 0); its target is its label, or the
    newborn class ``labels`` at its entry frame.
    """
    dim = common.shape[0]
    identity = common + separation * torch.randn(batch, 1, 1, OBJECTS, dim, generator=generator)
    noise = NOISE * torch.randn(batch, 1, FRAMES, OBJECTS, dim, generator=generator)
    features = F.layer_norm(identity + noise, (dim,))
    entry = torch.randint(0, 4, (batch, 1, 1, OBJECTS), generator=generator)
    entry[..., 0] = 0
    time = torch.arange(FRAMES).view(1, 1, FRAMES, 1)
    masks = (time < entry).expand(batch, GROUPS, FRAMES, OBJECTS)
    features = features.expand(batch, GROUPS, FRAMES, OBJECTS, dim).masked_fill(masks[..., None], 0.0)
    drawn = [torch.randperm(labels, generator=generator)[:OBJECTS] for _ in range(batch * GROUPS)]
    history = torch.stack(drawn).view(batch, GROUPS, 1, OBJECTS).expand(batch, GROUPS, FRAMES, OBJECTS)
    targets = torch.where(time == entry, torch.full_like(history, labels), history)
    return features, history, time.expand(batch, GROUPS, FRAMES, OBJECTS), masks, targets


def cosine_statistics(features: torch.Tensor) -> tuple[float, float]:
    """Mean cosine between different objects of the last frame (all present) and the share above 0.9,
    computed as ``discmot analyze`` computes them for a model's embeddings."""
    ids = np.arange(OBJECTS)
    pooled = np.concatenate([pair_similarities(clip.numpy(), ids) for clip in features[:, 0, -1]])
    return float(pooled.mean()), fraction_above(pooled, 0.9)


def onset(separation: float, steps: int, seed: int) -> dict:
    """Trains a fresh ID path on one separation's clips.

    Returns the cosine statistics of its features (``mean``, ``share``), the first step whose 100-step
    known-object accuracy exceeds 0.5 (``step``; None if none within ``steps``) and that mean (``accuracy``).
    """
    torch.manual_seed(seed)
    recipe = load_recipe("tiny")
    config, train = recipe.model, recipe.train
    model = FDTA(config)
    parameters = [
        p
        for module in (model.trajectory_embedding, model.trajectory_modeling, model.id_decoder)
        for p in module.parameters()
    ]
    optimizer = torch.optim.AdamW(
        parameters, lr=train.lr, betas=train.betas, eps=train.eps, weight_decay=train.weight_decay
    )
    generator = torch.Generator().manual_seed(seed)
    common = torch.randn(config.detr.hidden_dim, generator=generator)
    labels = config.id_decoder.num_id_vocabulary
    mean, share = cosine_statistics(made_clips(64, separation, common, labels, generator)[0])
    accuracies: list[float] = []
    for step in range(1, steps + 1):
        features, history, times, masks, targets = made_clips(BATCH, separation, common, labels, generator)
        logits = model.id_logits(features, history, times, masks, features, times, masks)
        loss = id_loss(logits, targets, masks)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, train.max_grad_norm)
        optimizer.step()
        keep = ~masks[:, :, 1:]
        wanted, predicted = targets[:, :, 1:][keep], logits[:, :, 1:][keep].argmax(-1)
        known = wanted < labels
        accuracies.append(float((predicted[known] == wanted[known]).float().mean()))
        accuracy = sum(accuracies[-WINDOW:]) / WINDOW
        if step % WINDOW == 0 and accuracy > 0.5:
            return {"mean": mean, "share": share, "step": step, "accuracy": accuracy}
    return {"mean": mean, "share": share, "step": None, "accuracy": accuracy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument("--separations", type=float, nargs="+", default=[1.0, 0.5, 0.3, 0.2])
    parser.add_argument("--steps", type=int, default=2500, help="give up after this many steps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| separation | mean cosine, different objects | share above 0.9 | onset (steps) |")
    print("|---|---|---|---|")
    for separation in args.separations:
        result = onset(separation, args.steps, args.seed)
        found = result["step"] or f"none in {args.steps} (accuracy {result['accuracy']:.2f})"
        print(f"| {separation} | {result['mean']:.3f} | {result['share']:.2f} | {found} |", flush=True)


if __name__ == "__main__":
    main()
