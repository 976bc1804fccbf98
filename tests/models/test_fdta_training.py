"""FDTA's training iteration (spec ``fdta.md`` §4.1-4.2) on the tiny preset and a tiny synthetic scene:
frame splitting keeps outputs and their order, every trained module gets gradients, a few optimizer steps
on one batch lower the loss, and `launch` writes weights that the inference loader accepts.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from discmot.data.clips import Clip, ClipConfig, ClipDataset, SequenceIndex, collate_clips
from discmot.data.synth import generate_dataset
from discmot.data.transforms import AugmentConfig
from discmot.engine.step import StepContext
from discmot.engine.train import fdta_train_config, launch
from discmot.io.safetensors_format import read_safetensors
from discmot.models.fdta.checkpoint import load_fdta
from discmot.models.fdta.config import preset
from discmot.models.fdta.model import FDTA
from discmot.models.fdta.training import (
    FDTATraining,
    StepConfig,
    _detect_all,
    fdta_setup,
    fdta_step,
    normalise,
)

SMALL = AugmentConfig().rescaled((96, 112), max_size=160)
CONFIG = preset("tiny")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fdta_train")
    generate_dataset(root, "tiny", split="train", sequences=1, frames=12, seed=1)
    return root


def clip_config(**overrides) -> ClipConfig:
    base = ClipConfig(
        sample_length=4, num_groups=2, num_id_vocabulary=CONFIG.id_decoder.num_id_vocabulary, augment=SMALL
    )
    return replace(base, **overrides)


def one_batch(root: Path) -> dict:
    index = SequenceIndex.from_root(root, "train")
    dataset = ClipDataset(index, clip_config(), train=True)
    return collate_clips([dataset[Clip(0, (0, 2, 4, 6), epoch=0)]])


def context(epoch: int = 1) -> StepContext:
    return StepContext(
        epoch=epoch,
        iteration=0,
        iters_per_epoch=1,
        global_step=0,
        device=torch.device("cpu"),
        precision="fp32",
    )


def training(step: StepConfig | None = None, config=CONFIG) -> FDTATraining:
    torch.manual_seed(0)
    return FDTATraining(FDTA(config), step or StepConfig(train_frames=2, checkpoint_frames=1))


def test_split_frames_give_the_outputs_of_one_pass_in_frame_order(data_root):
    batch = one_batch(data_root)
    net = training(StepConfig(train_frames=2, checkpoint_frames=1)).eval()  # eval: no dropout
    images, masks = batch["images"].flatten(0, 1), batch["masks"].flatten(0, 1)
    frames = normalise(images, masks)
    torch.manual_seed(5)
    split = _detect_all(net, frames, masks)
    whole = net.model.detect(frames, masks)
    for key in ("pred_logits", "pred_boxes", "outputs", "pred_depth_map_logits"):
        torch.testing.assert_close(split[key], whole[key], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(
        split["aux_outputs"][0]["pred_boxes"], whole["aux_outputs"][0]["pred_boxes"], atol=1e-5, rtol=1e-4
    )


def test_normalise_zeroes_padding():
    images = torch.full((1, 3, 4, 5), 200, dtype=torch.uint8)
    masks = torch.zeros((1, 4, 5), dtype=torch.bool)
    masks[:, :, 3:] = True
    out = normalise(images, masks)
    assert torch.all(out[..., 3:] == 0)
    torch.testing.assert_close(out[0, 0, 0, 0], torch.tensor((200 / 255 - 0.485) / 0.229))


def test_every_trained_module_gets_gradients_and_all_losses_are_finite(data_root):
    batch = one_batch(data_root)
    net = training()
    total, logs = fdta_step(net, batch, context())
    assert torch.isfinite(total)
    expected = {"loss_ce", "loss_bbox", "loss_giou", "loss_depth", "loss_contrastive", "loss_id", "loss_ce_0"}
    assert expected <= set(logs)
    assert all(torch.isfinite(v) for v in logs.values())
    total.backward()
    for prefix in (
        "model.detr.backbone",
        "model.detr.transformer",
        "model.trajectory_embedding",
        "model.id_decoder",
    ):
        grads = [p.grad for n, p in net.named_parameters() if n.startswith(prefix)]
        assert grads and any(g is not None and g.abs().sum() > 0 for g in grads), prefix


def test_a_few_steps_on_one_batch_lower_the_loss(data_root):
    batch = one_batch(data_root)
    net = training(StepConfig(train_frames=4, checkpoint_frames=0))
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    losses = []
    for _ in range(12):
        total, _ = fdta_step(net, batch, context(epoch=0))
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        losses.append(float(total.detach()))
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3, losses


def test_without_temporal_adapter_or_identity_loss_the_step_still_trains(data_root):
    batch = one_batch(data_root)
    config = replace(CONFIG, temporal=replace(CONFIG.temporal, enabled=False))
    net = training(StepConfig(train_frames=2, checkpoint_frames=0, identity_adapter=False), config)
    total, logs = fdta_step(net, batch, context(epoch=3))
    assert float(logs["loss_contrastive"]) == 0.0
    total.backward()
    assert torch.isfinite(total)


def test_launch_trains_and_writes_weights_the_tracker_loads(data_root, tmp_path):
    config = fdta_train_config("dancetrack", epochs=1, warmup_epochs=0, milestones=(), progress=False)
    step = StepConfig(train_frames=2, checkpoint_frames=1)
    weights = launch(
        fdta_setup(CONFIG, data_root, "train", clip_config(), step), config, tmp_path / "run", device="cpu"
    )
    assert weights is not None and weights.is_file()
    model = load_fdta(weights)
    assert model.config == CONFIG
    assert "stage" not in read_safetensors(weights)[1]  # a full run's file: no detector-stage warning
    assert (tmp_path / "run" / "metrics.jsonl").read_text().strip()
    # the end-of-epoch training checkpoint loads as the same network (criterion parameters dropped)
    from_checkpoint = load_fdta(tmp_path / "run" / "checkpoints" / "epoch-000.pt")
    final = model.state_dict()
    assert from_checkpoint.state_dict().keys() == final.keys()
    assert all(torch.equal(value, final[key]) for key, value in from_checkpoint.state_dict().items())


def run_under_torchrun(data_root: Path, run: Path, *extra: str) -> None:
    """`fdta_ddp_train.py` in 2 processes (gloo, CPU); fails the test with the processes' output."""
    import os
    import subprocess
    import sys

    script = Path(__file__).with_name("fdta_ddp_train.py")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    env["TMPDIR"] = str(run.parent / f"{run.name}-tmp")  # torchrun's torchelastic_* folder goes there
    Path(env["TMPDIR"]).mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [*command, str(script), str(data_root), str(run), *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (run / "checkpoints" / "epoch-001.pt").is_file()


def test_two_processes_under_torchrun_train_with_a_process_local_identity_adapter(data_root, tmp_path):
    """Epoch 0 gives the Identity Adapter MLP no gradient; DDP must neither wait for it nor average it
    (the original keeps the criterion outside DDP), or the second iteration fails."""
    run_under_torchrun(data_root, tmp_path / "run")
    assert load_fdta(tmp_path / "run" / "model.safetensors")
    names = training().process_local_parameters()
    assert names and all(name.startswith("criterion.track_embed.") for name in names)
    # each process's copy goes into the checkpoints (a resume continues it), except in a detector-only
    # stage, which never trains it
    assert training().own_copy_parameters() == names
    assert training(StepConfig(only_detr=True)).own_copy_parameters() == []


def test_only_detr_trains_the_detector_alone(data_root):
    """MOTIP's ``ONLY_DETR`` stage: detection (and depth) losses only; nothing outside the detector gets a
    gradient, even in an epoch where the full step has a contrastive loss."""
    batch = one_batch(data_root)
    net = training(StepConfig(train_frames=2, checkpoint_frames=0, only_detr=True))
    total, logs = fdta_step(net, batch, context(epoch=3))
    assert "loss_id" not in logs and float(logs["loss_contrastive"]) == 0.0
    assert float(logs["loss_depth"]) > 0 and float(logs["loss_giou"]) > 0
    total.backward()
    trained = {n for n, p in net.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert any(n.startswith("model.detr.backbone") for n in trained)
    assert any(n.startswith("model.detr.depth_predictor") for n in trained)
    assert all(n.startswith("model.detr.") for n in trained), sorted(trained)[:5]
    ignored = set(net.process_local_parameters())
    outside = {f"model.{n}" for n, _ in net.model.named_parameters() if not n.startswith("detr.")}
    assert outside and outside <= ignored


def test_only_detr_under_torchrun_then_its_detector_starts_a_full_run(data_root, tmp_path, caplog):
    """The two-stage recipe: a 2-process ``only_detr`` run (DDP must not wait for the untrained ID path),
    then its weights through ``--detr-pretrain``: the detector comes from the file, the rest is fresh.
    Loading the stage's file to track with warns that its ID path was never trained."""
    from discmot.io.detr_pretrain import load_detr_pretrain, read_detr_pretrain

    run = tmp_path / "detr"
    run_under_torchrun(data_root, run, "only_detr")
    assert read_safetensors(run / "model.safetensors")[1]["stage"] == "detector"
    with caplog.at_level("WARNING", logger="discmot"):
        pretrained = load_fdta(run / "model.safetensors").state_dict()
    assert "ID decoder was never trained" in caplog.text
    fresh = FDTA(CONFIG)
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    untouched = load_detr_pretrain(fresh, read_detr_pretrain(run / "model.safetensors"), "detr")
    after = fresh.state_dict()
    assert untouched and not any(k.startswith("detr.") for k in untouched)
    for key, value in after.items():
        source = pretrained if key.startswith("detr.") else before
        assert torch.equal(value, source[key]), key
    # the pre-train changed the detector: it trained
    changed = [k for k in after if k.startswith("detr.") and not torch.equal(after[k], before[k])]
    assert any("backbone" in k for k in changed) and any("depth_predictor" in k for k in changed)


def test_the_id_loss_weight_scales_the_id_term_of_the_total(data_root):
    batch = one_batch(data_root)
    totals, id_losses = [], []
    for weight in (1.0, 3.0):
        net = training(StepConfig(train_frames=2, checkpoint_frames=0, id_loss_weight=weight)).eval()
        torch.manual_seed(7)  # the same gradient frames and trajectory draws in both runs
        total, logs = fdta_step(net, batch, context())
        totals.append(float(total.detach()))
        id_losses.append(float(logs["loss_id"]))
    assert id_losses[0] == pytest.approx(id_losses[1], rel=1e-6) and id_losses[0] > 0
    assert totals[1] - totals[0] == pytest.approx(2.0 * id_losses[0], rel=1e-4)


def test_the_run_records_which_detr_pretrain_it_started_from(data_root, tmp_path):
    """config.yaml gets the pre-train's path and SHA-256 (a path alone does not say which weights)."""
    import hashlib

    from discmot.io.safetensors_format import write_safetensors

    source = FDTA(CONFIG)
    path = tmp_path / "detector.safetensors"
    write_safetensors(path, source, CONFIG)
    setup = fdta_setup(CONFIG, data_root, "train", clip_config(), StepConfig(), detr_pretrain=path)(None)
    record = setup.resolved_config["detr_pretrain"]
    assert record == {"path": str(path.resolve()), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    loaded = setup.model.model.state_dict()
    assert all(torch.equal(v, loaded[k]) for k, v in source.state_dict().items() if k.startswith("detr."))
    plain = fdta_setup(CONFIG, data_root, "train", clip_config(), StepConfig())(None)
    assert "detr_pretrain" not in plain.resolved_config


def test_frames_with_more_objects_than_queries_are_warned(caplog):
    from pathlib import Path

    import numpy as np

    from discmot.data.sequences import SequenceIndex, records_from_rows
    from discmot.models.fdta.training import describe_index, warn_frames_beyond_queries

    def record(name: str, objects_per_frame: list[int]):
        frames = np.repeat(np.arange(len(objects_per_frame)), objects_per_frame)
        ids = np.concatenate([np.arange(n) for n in objects_per_frame])
        values = np.column_stack([ids, np.ones((len(ids), 4))]).astype(float)
        images = [Path(f"{k}.jpg") for k in range(len(objects_per_frame))]
        return records_from_rows(name, images, frames, values)

    index = SequenceIndex([record("crowd", [3, 25, 21]), record("few", [20, 20])])
    with caplog.at_level("WARNING"):
        warn_frames_beyond_queries(index, 20)
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["crowd"]
    assert "up to 25 objects in a frame, more than the model's 20 queries" in caplog.text
    # what training reads, said as it starts: 5 frames, all legal (1-300 boxes, each id once), 89 boxes,
    # 25 identities in "crowd" (ids 0-24) and 20 in "few"
    assert describe_index(index) == "2 sequences, 5 frames (5 legal), 89 boxes, 45 identities"
