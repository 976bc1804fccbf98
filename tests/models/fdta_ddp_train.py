"""The tiny FDTA trained under torchrun, started as a subprocess by test_fdta_training.py.

``python -m torch.distributed.run --nproc_per_node 2 fdta_ddp_train.py DATA_ROOT RUN_DIR [only_detr]``:
two epochs of `discmot.engine.train.launch` on the tiny preset (gloo on CPU). Epoch 0 has no contrastive
loss, so the Identity Adapter MLP gets no gradient there: DDP must not wait for it. With ``only_detr``
(single-frame clips, the pre-training stage) nothing outside the detector gets a gradient.
"""

from __future__ import annotations

import sys
from pathlib import Path

from discmot.data.clips import ClipConfig
from discmot.data.transforms import AugmentConfig
from discmot.engine.train import fdta_train_config, launch
from discmot.models.fdta.config import preset
from discmot.models.fdta.training import StepConfig, fdta_setup


def main(data_root: Path, run_dir: Path, only_detr: bool = False) -> None:
    model = preset("tiny")
    clips = ClipConfig(
        sample_length=1 if only_detr else 4,
        num_groups=2,
        num_id_vocabulary=model.id_decoder.num_id_vocabulary,
        augment=AugmentConfig().rescaled((96, 112), max_size=160),
    )
    config = fdta_train_config("dancetrack", epochs=2, warmup_epochs=0, milestones=(), progress=False)
    step = StepConfig(train_frames=2, checkpoint_frames=1, only_detr=only_detr)
    launch(fdta_setup(model, data_root, "train", clips, step), config, run_dir, device="cpu")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), only_detr=sys.argv[3:] == ["only_detr"])
