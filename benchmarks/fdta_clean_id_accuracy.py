"""How often does a trained FDTA's ID decoder give a known object its label, on clips without noise?

The ID loss a training run logs is measured on augmented clips: each trajectory hidden over part of the
clip with probability 0.5, and in every frame about half of the history entries shuffled among
themselves (spec ``fdta.md`` §2.3). This script measures the decoder on the task itself: clips of
consecutive frames with that augmentation off, the model in eval mode, each object's token taken from the
query matched to its gt box (as in training), the ID labels of the recipe's tables. It prints, for frames
2 to T of each clip, the share of known objects labelled right (overall and by frame in the clip, i.e. by
how much history the decoder has) and how many objects entering a clip were labelled newborn.

For scale it also prints what overlap alone knows on the ground-truth boxes of the same sequences: the
share of boxes whose best-overlapping box in the previous frame is the same object.

Not part of ``make bench`` (the demo model on the quick start's 6 training sequences: about 15 s on the
2-core developer machine)::

    python benchmarks/fdta_clean_id_accuracy.py --data-root data/synth --split train \\
        --weights src/discmot/assets/fdta_tiny_synth_dancetrack.safetensors
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from discmot.data.clips import Clip, ClipDataset, SequenceIndex, collate_clips
from discmot.models.fdta.checkpoint import load_fdta
from discmot.models.fdta.recipe import load_recipe
from discmot.models.fdta.training import FDTATraining, clip_id_logits, detr_targets, normalise
from discmot.ops.boxes import box_iou


def clean_clips(index: SequenceIndex, recipe, every: int) -> tuple[ClipDataset, list[Clip]]:
    """The recipe's clip dataset without trajectory augmentation, and a clip of consecutive frames every
    ``every`` frames of every sequence."""
    config = replace(recipe.clips, occlusion_prob=0.0, switch_prob=0.0)
    dataset = ClipDataset(index, config, train=False)
    length = config.sample_length
    clips = [
        Clip(sequence, tuple(range(start, start + length)), epoch=1)
        for sequence, record in enumerate(index.records)
        for start in range(0, len(record.image_files) - length + 1, every)
    ]
    return dataset, clips


def label_accuracy(training: FDTATraining, dataset: ClipDataset, clips: list[Clip]) -> dict:
    """Known-object accuracy (overall and per frame of the clip) and newborn recognition."""
    model = training.model
    right = np.zeros(dataset.config.sample_length)
    known = np.zeros(dataset.config.sample_length)
    newborn_right = newborn = 0
    with torch.no_grad():
        for clip in clips:
            batch = collate_clips([dataset[clip]])
            images, masks = batch["images"].flatten(0, 1), batch["masks"].flatten(0, 1)
            outputs = model.detect(normalise(images, masks), masks)
            matches = training.criterion.detr.matcher(outputs, detr_targets(batch, images.device))
            logits = clip_id_logits(model, batch, outputs["outputs"], matches)
            predicted, target = logits.argmax(-1), batch["unknown_labels"]
            valid = ~batch["unknown_masks"]
            valid[:, :, 0] = False  # the first frame has no history
            newborn_label = logits.shape[-1] - 1
            is_known = valid & (target != newborn_label)
            hits = is_known & (predicted == target)
            right += hits.sum(dim=(0, 1, 3)).numpy()
            known += is_known.sum(dim=(0, 1, 3)).numpy()
            entering = valid & (target == newborn_label)
            newborn += int(entering.sum())
            newborn_right += int((entering & (predicted == newborn_label)).sum())
    return {
        "accuracy": right.sum() / max(known.sum(), 1),
        "tokens": int(known.sum()),
        "by_frame": {t + 1: right[t] / known[t] for t in range(1, len(known)) if known[t]},
        "newborn": (newborn_right, newborn),
    }


def overlap_accuracy(index: SequenceIndex) -> tuple[float, int]:
    """Share of gt boxes whose best-overlapping gt box one frame earlier is the same object (objects
    present in both frames only), and how many such boxes there are."""
    right = total = 0
    for record in index.records:
        tlbr = np.concatenate([record.boxes[:, :2], record.boxes[:, :2] + record.boxes[:, 2:]], axis=1)
        for k in range(1, len(record.image_files)):
            current = slice(record.offsets[k], record.offsets[k + 1])
            previous = slice(record.offsets[k - 1], record.offsets[k])
            if current.start == current.stop or previous.start == previous.stop:
                continue
            best = record.ids[previous][box_iou(tlbr[current], tlbr[previous]).argmax(axis=1)]
            present = np.isin(record.ids[current], record.ids[previous])
            right += int((best[present] == record.ids[current][present]).sum())
            total += int(present.sum())
    return right / max(total, 1), total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--weights", type=Path, required=True, help="a trained FDTA checkpoint")
    parser.add_argument("--data-root", type=Path, required=True, help="the dataset root (MOT layout)")
    parser.add_argument("--split", default="train", help="the split folder (default: train)")
    parser.add_argument("--recipe", default="tiny", help="the recipe of its clips and ID tables")
    parser.add_argument("--every", type=int, default=12, help="a clip starts every N frames (12)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)  # the ID tables' label permutations
    recipe = load_recipe(args.recipe)
    training = FDTATraining(load_fdta(args.weights), recipe.step).eval()
    index = SequenceIndex.from_root(args.data_root, args.split)
    dataset, clips = clean_clips(index, recipe, args.every)
    result = label_accuracy(training, dataset, clips)
    by_frame = ", ".join(f"{t}: {share:.3f}" for t, share in result["by_frame"].items())
    accuracy, tokens = result["accuracy"], result["tokens"]
    print(f"{len(clips)} clean clips of {args.split}: known objects labelled right {accuracy:.3f} of "
          f"{tokens} tokens; by frame of the clip {by_frame}")  # fmt: skip
    print("objects entering a clip labelled newborn: {} of {}".format(*result["newborn"]))
    share, total = overlap_accuracy(index)
    print(f"gt boxes whose best overlap one frame earlier is the same object: {share:.3f} of {total}")


if __name__ == "__main__":
    main()
