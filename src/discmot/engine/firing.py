"""Random networks made to fire, for timing (``discmot bench``, ``make bench``).

The time of a network does not depend on its weights, but the work after it does: random weights detect
nothing, so the ID decoder and the association would never run. These functions shift a random
network's score biases so that it finds about as many objects as a trained one would: FDTA's class bias
(`fire_fdta`), CSTrack's objectness (`fire_cstrack`, after `firing_cstrack` has made its features depend on
the image).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import numpy as np
import torch

#: The preset a kind is timed at when neither weights nor a preset are given: the papers' sizes.
DEFAULT_PRESETS = {"fdta": "dancetrack", "cstrack": "cstrack"}
#: Queries a random FDTA is made to find on the first frame (DanceTrack has about 9 dancers a frame).
FDTA_FIRING_QUERIES = 15
#: Anchor cells (before NMS) a random CSTrack is made to fire on, on average over its calibration frames.
CSTRACK_FIRING_CELLS = 40
#: The frames, spread over the video, a random CSTrack's batch norms and firing are calibrated on.
CSTRACK_FIRING_FRAMES = 4


def fire_fdta(model, image: torch.Tensor, count: int = FDTA_FIRING_QUERIES) -> None:
    """Shifts the last decoder layer's class bias so that ``count`` queries of ``image`` score above the
    newborn threshold.

    Args:
        model: an FDTA in float32, on ``image``'s device.
        image: ``[1, 3, H, W]`` normalised image (`discmot.trackers.fdta.preprocess_frame`).
    """
    with torch.inference_mode():
        logits = model.detect(image, None)["pred_logits"][0].float().max(dim=-1).values
    ranked = logits.sort(descending=True).values
    count = min(count, len(ranked) - 1)
    boundary = (ranked[count - 1] + ranked[count]) / 2
    runtime = model.config.runtime
    threshold = max(runtime.det_thresh, runtime.newborn_thresh)  # a new track needs the newborn score
    with torch.no_grad():
        model.detr.class_embed[-1].bias += math.log(threshold / (1 - threshold)) - boundary


def firing_cstrack(
    preset: str,
    images: torch.Tensor,
    seed: int = 0,
    cells: int = CSTRACK_FIRING_CELLS,
    conf_threshold: float = 0.5,
):
    """A random CSTrack (on ``images``' device, float32, eval mode) whose features depend on the image and
    whose head fires on about ``cells`` anchor cells of each of ``images`` on average.

    He-normal convolutions make the features depend on the image; their activations then grow past
    fp16's range (65,504) through the residual stages, which a trained network's never do, so the batch
    norms take their statistics from ``images``, as training would have set them. The head's class logits
    are raised (+5), and its objectness shifted by `fire_cstrack`.

    Args:
        images: ``[K, 3, H, W]`` letterboxed frames in ``[0, 1]``, a few spread over the video: calibrated
            on one frame, another frame's count was 2-7 times it (1920x1080 synthetic pedestrians).
    """
    from discmot.models.cstrack.model import build_cstrack

    torch.manual_seed(seed)
    model = build_cstrack(preset).to(images.device)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                torch.nn.init.kaiming_normal_(module.weight, a=0.1, nonlinearity="leaky_relu")
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
                module.momentum = None  # a cumulative average: after one pass, that pass's statistics
        model.train()(images)
        for conv in model.head.m:
            # Conv2d's bias: torch types a ModuleList's items as Module, their attributes as Tensor | Module
            conv.bias.view(model.config.num_anchors, -1)[:, 5:] = 5.0  # type: ignore[operator]
    model.eval()
    fire_cstrack(model, images, cells, conf_threshold)
    return model


def fire_cstrack(model, images: torch.Tensor, cells: int, conf_threshold: float = 0.5) -> None:
    """Shifts the head's objectness biases so that on average ``cells`` anchor cells of ``images`` pass
    CSTrack's confidence test (objectness and objectness x class above ``conf_threshold``, as
    `discmot.models.cstrack.postprocess.candidate_boxes`): a trained detector leaves tens of candidates a
    frame, an untrained one none or thousands.

    Args:
        model: a CSTrack in float32, on ``images``' device, in eval mode.
        images: ``[K, 3, H, W]`` letterboxed images in ``[0, 1]``.
    """
    with torch.inference_mode():
        raw = model.detect(model.reciprocal(model.features(images))[0])
    rows = torch.cat([level.reshape(len(images), -1, level.shape[-1]) for level in raw], dim=1).float()
    objectness, class_probability = rows[..., 4], rows[..., 5:].sigmoid().max(dim=-1).values

    def passing(shift: float) -> float:
        """Mean cells per image passing the test with the objectness logits shifted by ``shift``."""
        p = (objectness + shift).sigmoid()
        return ((p > conf_threshold) & (p * class_probability > conf_threshold)).sum().item() / len(images)

    low, high = -100.0, 100.0  # passing(low) < cells <= passing(high), unless cells exceeds every cell
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (low, middle) if passing(middle) >= cells else (middle, high)
    with torch.no_grad():
        for conv in model.head.m:
            conv.bias.view(model.config.num_anchors, -1)[:, 4] += high


def firing_network(
    kind: str,
    frames: Sequence[np.ndarray],
    preset: str | None = None,
    device: torch.device | str = "cpu",
    input_size: tuple[int, int] | None = None,
    conf_threshold: float = 0.5,
):
    """``kind``'s network at ``preset`` (default `DEFAULT_PRESETS`) with random weights made to fire on
    ``frames`` (BGR ``uint8 (H, W, 3)``), float32, on ``device``, in eval mode.

    FDTA fires on the first frame at ``input_size`` (default: its runtime's resize rule); CSTrack on
    `CSTRACK_FIRING_FRAMES` frames spread over ``frames``, letterboxed to ``input_size`` (default: the
    preset's), at ``conf_threshold``.
    """
    preset = preset or DEFAULT_PRESETS[kind]
    if kind == "fdta":
        from discmot.models.fdta.model import build_fdta
        from discmot.trackers.fdta_frames import preprocess_frame

        torch.manual_seed(0)
        model = build_fdta(preset).to(device).eval()
        image, _ = preprocess_frame(frames[0], model.config.runtime, input_size, device=device)
        fire_fdta(model, image)
        return model
    from discmot.models.cstrack.config import check_input_size
    from discmot.models.cstrack.config import preset as cstrack_preset
    from discmot.models.cstrack.postprocess import image_to_tensor, letterbox

    # tuple() of a pair (a list too, from a config file) is a pair
    size = cast("tuple[int, int]", tuple(input_size or cstrack_preset(preset).input_size))
    check_input_size(size)
    picks = np.linspace(0, len(frames) - 1, min(CSTRACK_FIRING_FRAMES, len(frames))).round().astype(int)
    images = torch.stack([image_to_tensor(letterbox(frames[i], size).image) for i in picks])
    return firing_cstrack(preset, images.to(device), conf_threshold=conf_threshold)
