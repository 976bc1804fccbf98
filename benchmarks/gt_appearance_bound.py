"""Does appearance learned in a CPU budget lift association on *perfect* boxes to HOTA 0.5?

The FDTA training issue's open target is held-out HOTA 0.5 on synthetic DanceTrack. On the ground-truth
boxes themselves (2% jitter), association without appearance stays below it (`gt_trackers`: overlap
0.467, Kalman-predicted overlap 0.495 on the quick start's 2 val sequences). This script measures the
next rung: the same jittered gt boxes associated by discmot's JDE cascade (CSTrack's tracker) with the
appearance of a small re-identification network trained for a few CPU minutes on the training
sequences' gt crops, and with an oracle appearance as the ceiling of appearance under that cascade.

The re-identification network (`ReidNet`): three stages of two 3x3 conv + BatchNorm + ReLU (32, 64, 128
channels, full resolution in the first stage, 2x2 max pooling between stages), global average pooling,
a linear layer to 128-d, L2-normalised; trained by a cosine softmax (scale 16) over the training
sequences' identities (each (sequence, id) one class) on the crops of the gt boxes with visibility
>= 0.3 (`appearance.crop_objects`, 32x64 w x h), with a random horizontal flip, a small colour jitter
(per-channel gain and offset) and a shift of up to 2 pixels; Adam, the learning rate on a cosine
schedule over the training time, stopping at ``--minutes`` of wall clock (or ``--max-epochs``). Stopped
by time, two runs of one seed differ with the machine's load (they train different numbers of steps).

Trackers, each on every val sequence's gt boxes (rows with ``conf > 0``) with `gt_trackers`' jitter
(`iou_tracker.jitter_boxes`, ``JITTER`` of the box size, seeded per sequence exactly as `gt_trackers`):

* ``kalman``: `gt_trackers.track_gt_split` (Hungarian IoU against Kalman-predicted boxes, one second
  of memory): the reference without appearance.
* ``jde, no appearance``, ``jde + cnn``, ``jde + oracle``: `discmot.trackers.association.JDETracker`
  with `JDETrackerConfig.preset("cstrack", "DanceTrack")`, at the sequence's frame rate, fed the boxes
  with score 1.0 and no embeddings, the network's embedding of each jittered box's crop, or a one-hot
  vector per gt identity (same identity cosine 1, different 0). Two settings differ from the preset so
  that every box the cascade keeps is written as given: ``output_filter=False`` (CSTrack's pedestrian
  filter drops boxes wider than w/h 0.6, most dancers with their arms out) and
  ``output_detection_boxes=True`` (the matched box, not the Kalman estimate, as the reference writes).
  Scores of 1.0 pass the 0.5 detection threshold, so no box is dropped before association; the cascade
  itself writes a track only from its second box on (its births are confirmed a frame later).
* ``..., lost kept the whole sequence``: the cnn and oracle cascades with ``track_buffer`` long enough
  that a lost track is never forgotten within a sequence (CSTrack keeps one for 30 frames at 30 fps).
* ``jde + cnn, embedding threshold t``: the appearance stage trusted less, matching only below a fused
  cost of ``t`` (CSTrack: 0.4), so that more boxes fall through to the IoU stage. The best of them,
  read off the val sequences themselves, is an optimistic figure, not a tuned tracker.

Each is scored with discmot's evaluator (DanceTrack rules): HOTA / DetA / AssA / IDF1 / MOTA, COMBINED
and per sequence. For comparison with the pilot crop classifier of docs/fdta_tiny_experiments.md it
also prints the network's rank-1 re-identification of the val dancers at gaps 1/5/20/50 frames
(`discmot.analysis.embeddings.reidentification` on the gt boxes: the most cosine-similar object of
the earlier frame has the identity; chance = a random pick), over all crops and over crops of
visibility >= 0.8.

Not part of ``make bench`` (about 10.5 minutes on the 2-core developer machine, 10 of them training)::

    discmot synth --preset dancetrack --out D --sequences 6 --frames 150 --size 256x160
    discmot synth --preset dancetrack --out D --split val --sequences 2 --frames 150 --size 256x160
    nice -n 10 python benchmarks/gt_appearance_bound.py --data D --minutes 10 --seed 0
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from appearance import crop_objects
from discmot.analysis.embeddings import FrameObjects, reidentification
from discmot.io.mot import read_mot_table
from discmot.io.mot_results import write_mot_results
from discmot.io.seqinfo import read_seqinfo
from discmot.io.seqmaps import read_seqmap
from discmot.structures import Detections
from discmot.trackers.association import JDETracker, JDETrackerConfig
from gt_trackers import JITTER, track_gt_split
from iou_tracker import jitter_boxes

MIN_VISIBILITY = 0.3  # training crops: a dancer at least this visible
SCALE = 16.0  # cosine-softmax scale
EMBED_DIM = 128
BATCH = 128
LAGS = (1, 5, 20, 50)
FIELDS = ("HOTA", "DetA", "AssA", "IDF1", "MOTA")


# -- data -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sequence:
    """One sequence's gt rows with ``conf > 0``: ``frames (N,)`` 1-based, ``ids (N,)``, ``boxes (N, 4)``
    tlwh, ``visibility (N,)``; its folder and `discmot.io.seqinfo.SeqInfo`."""

    folder: Path
    info: object
    frames: np.ndarray
    ids: np.ndarray
    boxes: np.ndarray
    visibility: np.ndarray

    def image(self, frame: int) -> np.ndarray:
        """The BGR frame ``frame`` (1-based)."""
        path = self.folder / self.info.image_dir / f"{frame:08d}{self.info.image_ext}"
        image = cv2.imread(str(path))
        if image is None:
            raise FileNotFoundError(f"{path}: image not found or unreadable")
        return image


def read_split(root: Path, split: str) -> list[Sequence]:
    """The sequences of ``root/split`` in seqmap order (the order `gt_trackers` seeds its jitter by)."""
    sequences = []
    for name in read_seqmap(root / f"{split}_seqmap.txt"):
        folder = root / split / name
        values = read_mot_table(folder / "gt" / "gt.txt", min_columns=9).values
        values = values[values[:, 6] > 0]
        sequences.append(
            Sequence(
                folder,
                read_seqinfo(folder / "seqinfo.ini"),
                values[:, 0].astype(np.int64),
                values[:, 1].astype(np.int64),
                values[:, 2:6].astype(np.float64),
                values[:, 8].astype(np.float64),
            )
        )
    return sequences


def frame_crops(sequence: Sequence, boxes: np.ndarray) -> np.ndarray:
    """Crops (N, 64, 32, 3) uint8 BGR of ``boxes`` (N, 4), rows of ``sequence`` (any frame order)."""
    crops = np.zeros((len(boxes), 64, 32, 3), dtype=np.uint8)
    for frame in np.unique(sequence.frames):
        rows = np.flatnonzero(sequence.frames == frame)
        crops[rows] = crop_objects(sequence.image(int(frame)), boxes[rows])
    return crops


def training_crops(sequences: list[Sequence]) -> tuple[np.ndarray, np.ndarray]:
    """Crops (N, 64, 32, 3) and class labels (N,) of every gt box with visibility >= `MIN_VISIBILITY`;
    each (sequence, id) is one class."""
    crops, labels, offset = [], [], 0
    for sequence in sequences:
        keep = sequence.visibility >= MIN_VISIBILITY
        everything = frame_crops(sequence, sequence.boxes)
        _, classes = np.unique(sequence.ids, return_inverse=True)
        crops.append(everything[keep])
        labels.append(classes[keep] + offset)
        offset += int(classes.max()) + 1
    return np.concatenate(crops), np.concatenate(labels)


# -- the network ------------------------------------------------------------------------------------


def _stage(c_in: int, c_out: int) -> list[nn.Module]:
    """Two 3x3 conv + BatchNorm + ReLU."""
    layers: list[nn.Module] = []
    for c in (c_in, c_out):
        layers += [nn.Conv2d(c, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
    return layers


class ReidNet(nn.Module):
    """Crops (B, 3, 64, 32) in [-1, 1] -> unit embeddings (B, `EMBED_DIM`); ``classifier`` holds one
    weight vector per training identity for the cosine softmax."""

    def __init__(self, classes: int):
        super().__init__()
        self.features = nn.Sequential(
            *_stage(3, 32), nn.MaxPool2d(2), *_stage(32, 64), nn.MaxPool2d(2), *_stage(64, 128)
        )
        self.embed = nn.Linear(128, EMBED_DIM)
        self.classifier = nn.Parameter(torch.randn(classes, EMBED_DIM) * 0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.embed(self.features(x).mean(dim=(2, 3))), dim=1)

    def logits(self, embedding: torch.Tensor) -> torch.Tensor:
        """Cosine softmax logits (B, classes)."""
        return SCALE * embedding @ F.normalize(self.classifier, dim=1).T


def to_tensor(crops: np.ndarray) -> torch.Tensor:
    """uint8 BGR crops (N, 64, 32, 3) -> float (N, 3, 64, 32) in [-1, 1]."""
    return torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flip, per-channel gain (+-10%) and offset (+-0.1), shift of up to 2 pixels."""
    n = len(x)
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    gain = 1 + 0.2 * (torch.rand(n, 3, 1, 1, generator=generator) - 0.5)
    offset = 0.2 * (torch.rand(n, 3, 1, 1, generator=generator) - 0.5)
    x = x * gain + offset
    dy, dx = torch.randint(-2, 3, (2,), generator=generator).tolist()  # one shift per batch: cheap
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


@dataclass(frozen=True)
class Training:
    """What `train` did: epochs (fractional), iterations, wall seconds, last epoch's mean loss and
    training-set accuracy, and why it stopped (``"time"`` or ``"epochs"``)."""

    epochs: float
    iterations: int
    seconds: float
    loss: float
    accuracy: float
    stopped_by: str


def train(
    net: ReidNet, crops: np.ndarray, labels: np.ndarray, seconds: float, max_epochs: int, seed: int
) -> Training:
    """Trains ``net`` on ``crops`` / ``labels`` until ``seconds`` of wall clock or ``max_epochs``; the
    learning rate follows a cosine over the time budget (so a run stopped by time ends near zero)."""
    generator = torch.Generator().manual_seed(seed)
    x, y = to_tensor(crops), torch.from_numpy(labels).long()
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=5e-4)
    start, iterations, epoch = time.perf_counter(), 0, 0
    per_epoch = math.ceil(len(x) / BATCH)
    net.train()
    stopped_by, last = "epochs", (float("nan"), float("nan"))
    while epoch < max_epochs:
        order = torch.randperm(len(x), generator=generator)
        losses, right = [], 0
        for k in range(per_epoch):
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                stopped_by = "time"
                break
            for group in optimizer.param_groups:
                group["lr"] = 2e-3 * 0.5 * (1 + math.cos(math.pi * elapsed / seconds))
            rows = order[k * BATCH : (k + 1) * BATCH]
            logits = net.logits(net(augment(x[rows], generator)))
            loss = F.cross_entropy(logits, y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            right += int((logits.argmax(1) == y[rows]).sum())
            iterations += 1
        if losses:  # the epoch's (or, stopped by time, its seen part's) mean loss and accuracy
            last = (float(np.mean(losses)), right / min(len(losses) * BATCH, len(x)))
        if stopped_by == "time":
            epoch += len(losses) / per_epoch
            break
        epoch += 1
        print(f"  epoch {epoch}: loss {last[0]:.3f}, training accuracy {last[1]:.3f}", flush=True)
    net.eval()
    return Training(epoch, iterations, time.perf_counter() - start, *last, stopped_by)


@torch.no_grad()
def embed(net: ReidNet, crops: np.ndarray) -> np.ndarray:
    """Unit embeddings (N, `EMBED_DIM`) float32 of crops (N, 64, 32, 3), in eval mode."""
    x = to_tensor(crops)
    parts = [net(x[k : k + 512]).numpy() for k in range(0, len(x), 512)]
    return np.concatenate(parts) if parts else np.zeros((0, EMBED_DIM), dtype=np.float32)


# -- re-identification ------------------------------------------------------------------------------


def reid_rates(sequence: Sequence, embeddings: np.ndarray, min_visibility: float) -> list[tuple]:
    """``(rank1, chance)`` at each of `LAGS` over the gt objects of ``sequence`` with visibility >=
    ``min_visibility`` (``embeddings`` (N, D): one per gt row)."""
    keep = sequence.visibility >= min_visibility
    frames = [
        FrameObjects(int(f), sequence.ids[rows], sequence.boxes[rows], {"cnn": embeddings[rows]})
        for f in np.unique(sequence.frames)
        for rows in [np.flatnonzero(keep & (sequence.frames == f))]
    ]
    return [(r.rank1, r.chance) for r in (reidentification(frames, "cnn", lag) for lag in LAGS)]


# -- tracking ---------------------------------------------------------------------------------------


def jittered(sequence: Sequence, index: int, seed: int) -> np.ndarray:
    """The boxes `gt_trackers.track_gt_split` tracks for the ``index``-th sequence of its split."""
    return jitter_boxes(sequence.boxes, JITTER, np.random.default_rng([seed, index]))


def cascade_config(**overrides) -> JDETrackerConfig:
    """CSTrack's cascade keeping every box as given (module docstring), with ``overrides``."""
    overrides = {"output_filter": False, "output_detection_boxes": True, **overrides}
    return JDETrackerConfig.preset("cstrack", "DanceTrack", **overrides)


def track_cascade(
    sequence: Sequence, boxes: np.ndarray, embeddings: np.ndarray | None, config: JDETrackerConfig, out: Path
) -> None:
    """Runs a fresh `JDETracker` over ``boxes`` (N, 4), rows of ``sequence``, with ``embeddings``
    (N, D) or none, and writes its output to ``out``."""
    tracker = JDETracker(config, frame_rate=round(sequence.info.frame_rate or 30))
    frames, ids, written = [], [], []
    for frame in range(1, sequence.info.length + 1):
        rows = np.flatnonzero(sequence.frames == frame)
        found = tracker.update(
            Detections(boxes[rows], np.ones(len(rows)), None if embeddings is None else embeddings[rows])
        )
        frames.append(np.full(len(found.ids), frame))
        ids.append(found.ids)
        written.append(found.boxes)
    write_mot_results(out, np.concatenate(frames), np.concatenate(ids), np.concatenate(written))


def one_hot(sequence: Sequence) -> np.ndarray:
    """The oracle appearance: one one-hot vector (N, max id + 1) per gt identity."""
    vectors = np.zeros((len(sequence.ids), int(sequence.ids.max()) + 1), dtype=np.float32)
    vectors[np.arange(len(sequence.ids)), sequence.ids] = 1.0
    return vectors


def score(root: Path, trackers: Path, names: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """``{tracker: {sequence or "COMBINED": {field: value}}}`` with discmot's evaluator, DanceTrack rules."""
    from discmot.eval.report import summary_values
    from discmot.eval.runner import evaluate

    scores = evaluate(root, trackers, benchmark="DanceTrack", split="val", write_summaries=False)
    return {
        tracker: {seq: summary_values(scores[tracker][seq]) for seq in [*names, "COMBINED"]}
        for tracker in scores
    }


# -- the whole measurement --------------------------------------------------------------------------


#: The rows of the table: tracker -> (appearance, `cascade_config` overrides); None: the reference.
#: A lost track is kept the whole sequence with ``track_buffer`` 10,000 (500 s at 20 frames/s).
TRACKERS: dict[str, tuple[str, dict] | None] = {
    "kalman (gt_trackers, reference)": None,
    "jde, no appearance": ("none", {}),
    "jde + cnn": ("cnn", {}),
    "jde + oracle": ("oracle", {}),
    "jde + cnn, lost kept the whole sequence": ("cnn", {"track_buffer": 10_000}),
    "jde + oracle, lost kept the whole sequence": ("oracle", {"track_buffer": 10_000}),
    "jde + cnn, embedding threshold 0.3": ("cnn", {"embedding_threshold": 0.3}),
    "jde + cnn, embedding threshold 0.2": ("cnn", {"embedding_threshold": 0.2}),
    "jde + cnn, embedding threshold 0.1": ("cnn", {"embedding_threshold": 0.1}),
}


def train_network(data: Path, minutes: float, seed: int, max_epochs: int) -> ReidNet:
    """A `ReidNet` trained on ``data``'s training split (`train`), with a line about the training."""
    crops, labels = training_crops(read_split(data, "train"))
    classes = int(labels.max()) + 1
    print(f"training crops: {len(crops)} of {classes} identities (visibility >= {MIN_VISIBILITY})")
    net = ReidNet(classes)
    report = train(net, crops, labels, minutes * 60, max_epochs, seed)
    print(
        f"trained {report.epochs:.2f} epochs ({report.iterations} iterations of {BATCH}) in "
        f"{report.seconds / 60:.1f} min, stopped by {report.stopped_by}; last epoch's loss "
        f"{report.loss:.3f}, training accuracy {report.accuracy:.3f}"
    )
    return net


def print_reid(net: ReidNet, val_split: list[Sequence]) -> None:
    """Prints `reid_rates` per val sequence, all crops and crops of visibility >= 0.8."""
    print("\nrank-1 re-identification of the val dancers (gt boxes), gaps " + " / ".join(map(str, LAGS)))
    for sequence in val_split:
        gt_embeddings = embed(net, frame_crops(sequence, sequence.boxes))
        for visibility in (0.0, 0.8):
            rates = reid_rates(sequence, gt_embeddings, visibility)
            cells = " / ".join(f"{r:.3f}" for r, _ in rates)
            chance = " / ".join(f"{c:.3f}" for _, c in rates)
            label = "all crops" if visibility == 0 else f"visibility >= {visibility}"
            print(f"  {sequence.folder.name}, {label}: {cells} (chance {chance})")


def track_all(data: Path, net: ReidNet, val_split: list[Sequence], jitter_seed: int, work: Path) -> dict:
    """Runs every tracker of `TRACKERS` on the jittered val gt boxes, writing ``work/t<k>/data/<seq>.txt``;
    returns ``{tracker: folder name}``."""
    folders = {name: f"t{k}" for k, name in enumerate(TRACKERS)}
    for name, setting in TRACKERS.items():
        if setting is None:
            track_gt_split(data, "val", work / folders[name] / "data", jitter_seed, "kalman")
    for index, sequence in enumerate(val_split):
        boxes = jittered(sequence, index, jitter_seed)
        cnn = embed(net, frame_crops(sequence, boxes))  # the crops of the jittered boxes
        appearances = {"none": None, "cnn": cnn, "oracle": one_hot(sequence)}
        for name, setting in TRACKERS.items():
            if setting is None:
                continue
            appearance, overrides = setting
            out = work / folders[name] / "data" / f"{sequence.folder.name}.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            track_cascade(sequence, boxes, appearances[appearance], cascade_config(**overrides), out)
    return folders


def run(data: Path, minutes: float, seed: int, jitter_seed: int, max_epochs: int, work: Path) -> None:
    """Trains the network, prints its re-identification rates and the trackers' scores."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    net = train_network(data, minutes, seed, max_epochs)
    val_split = read_split(data, "val")
    print_reid(net, val_split)
    folders = track_all(data, net, val_split, jitter_seed, work)
    names = [s.folder.name for s in val_split]
    scores = score(data, work, names)
    width = max(map(len, TRACKERS))
    print(f"\n{'tracker (val, jittered gt boxes)':{width}}  " + "  ".join(f"{f:>5}" for f in FIELDS))
    for name, folder in folders.items():
        for seq in ["COMBINED", *names]:
            values = scores[folder][seq]
            label = name if seq == "COMBINED" else f"  {seq}"
            print(f"{label:{width}}  " + "  ".join(f"{values[f]:.3f}" for f in FIELDS))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--data", type=Path, required=True, help="root with train/ and val/ (discmot synth)")
    parser.add_argument("--minutes", type=float, default=10.0, help="training wall-clock budget")
    parser.add_argument("--max-epochs", type=int, default=1000, help="stop after this many epochs")
    parser.add_argument("--seed", type=int, default=0, help="the network's seed")
    parser.add_argument("--jitter-seed", type=int, default=0, help="gt_trackers' jitter seed")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (leave a core to others)")
    parser.add_argument("--work", type=Path, help="folder for the result files (default: a temporary one)")
    args = parser.parse_args(argv)
    for split in ("train", "val"):
        if not (args.data / f"{split}_seqmap.txt").is_file():
            parser.error(f"{args.data / f'{split}_seqmap.txt'}: not found (make the data with discmot synth)")
    torch.set_num_threads(args.threads)
    if args.work is not None:
        run(args.data, args.minutes, args.seed, args.jitter_seed, args.max_epochs, args.work)
        return
    with tempfile.TemporaryDirectory(prefix="gt-appearance-bound-") as work:
        run(args.data, args.minutes, args.seed, args.jitter_seed, args.max_epochs, Path(work))


if __name__ == "__main__":
    main()
