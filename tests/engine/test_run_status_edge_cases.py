"""Edge cases of a training run's status lines (`discmot.engine.run_status`) that the training tests leave
open: only rank 0 speaks (and only rank 0 is handed the final weights), the start's line when nothing is
left to train, the estimate of the run's iterations behind ``train.max_iterations``, and the wording of
counts (one epoch, one process, accumulation).

Runs are not trained here: `RunStatus` is told a `Position` and a sampler size directly. Expected values
are hand calculations from the docstrings, never outputs of the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from discmot.engine.checkpointing import WEIGHTS_STEP_KEY
from discmot.engine.distributed import DistInfo
from discmot.engine.run_folder import RUN_WEIGHTS
from discmot.engine.run_status import Position, RunStatus, at_max_iterations, closing_summary, processes
from discmot.engine.train_config import TrainConfig

LOGGER = "discmot.engine.train"


def dist(rank: int = 0, world_size: int = 1) -> DistInfo:
    return DistInfo(rank=rank, world_size=world_size, local_rank=rank, device=torch.device("cpu"))


def samples(n: int):
    """A sampler factory giving ``n`` sample indices an epoch to every rank, from position ``start`` on
    (`discmot.engine.loading`'s contract)."""
    return lambda epoch, rank, world_size, start: list(range(n))[start:]


def said(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def write_weights(run: Path, step: int | None) -> Path:
    """A final weights file recording ``step`` (None: none recorded, as weights of older runs)."""
    run.mkdir(parents=True, exist_ok=True)
    path = run / RUN_WEIGHTS
    metadata = {WEIGHTS_STEP_KEY: str(step)} if step is not None else None
    save_file({"w": torch.zeros(1)}, str(path), metadata=metadata)
    return path


# --------------------------------------------------------------------------------------------------
# Only rank 0 speaks, and only rank 0 is handed the weights


@pytest.mark.parametrize("rank", [0, 1])
def test_a_finished_run_is_said_done_by_rank_0_alone_and_only_rank_0_gets_the_weights(tmp_path, caplog, rank):
    """Every rank sees the run finished (returns without training); rank 0 says so and gets the path,
    another rank gets None and says nothing."""
    weights = write_weights(tmp_path, step=12)
    status = RunStatus(tmp_path, TrainConfig(epochs=2), dist(rank, world_size=2))
    with caplog.at_level("INFO", logger="discmot"):
        got = status.already_done(Position(2, 0, 12), tmp_path / "epoch-001.pt")
    if rank == 0:
        assert got == weights
        (line,) = said(caplog)
        assert "the run is already finished (all 2 epochs done, epoch-001.pt)" in line
    else:
        assert got is None and said(caplog) == []


@pytest.mark.parametrize("rank", [0, 1])
def test_an_early_stop_resumed_at_its_value_is_said_by_rank_0_alone(tmp_path, caplog, rank):
    """Stopped at max_iterations 5 (epoch 1/2 after 5 iterations, ``_stop_point``'s own example)."""
    write_weights(tmp_path, step=5)
    status = RunStatus(tmp_path, TrainConfig(epochs=2, max_iterations=5), dist(rank, world_size=2))
    with caplog.at_level("INFO", logger="discmot"):
        status.already_done(Position(0, 5, 5), tmp_path / "epoch-000-iter-000005.pt")
        status.say_stopped_early(Position(0, 5, 5))
    if rank == 0:
        first, second = said(caplog)
        assert (
            "the run already stopped at train.max_iterations=5 (epoch 1/2, after 5 iterations; 5 in total"
            in (first)
        )
        assert second.startswith("stopped early at train.max_iterations=5 (epoch 1/2, after 5 iterations;")
    else:
        assert said(caplog) == []


@pytest.mark.parametrize("rank", [0, 1])
def test_stale_weights_are_said_by_rank_0_alone_and_written_again_on_every_rank(tmp_path, caplog, rank):
    """Weights of step 5 beside a checkpoint of step 8: not done (None on every rank, so all write
    again); the line naming both steps comes from rank 0 only."""
    write_weights(tmp_path, step=5)
    status = RunStatus(tmp_path, TrainConfig(epochs=2, max_iterations=8), dist(rank, world_size=2))
    with caplog.at_level("INFO", logger="discmot"):
        assert status.already_done(Position(1, 2, 8), tmp_path / "epoch-001-iter-000002.pt") is None
    if rank == 0:
        (line,) = said(caplog)
        assert "holds the weights of step 5, not of epoch-001-iter-000002.pt (step 8;" in line
    else:
        assert said(caplog) == []


def test_the_start_line_is_rank_0s_but_every_rank_counts_its_iterations(caplog):
    """Rank 1 says nothing at the start (the 2-process line is rank 0's)."""
    status = RunStatus(Path("run"), TrainConfig(epochs=2, batch_size=2, max_iterations=3), dist(1, 2))
    with caplog.at_level("INFO", logger="discmot"):
        status.say_what_is_ahead(Position(0, 0, 0), samples(12))
    assert said(caplog) == []


# --------------------------------------------------------------------------------------------------
# The start's line


@pytest.mark.parametrize(
    ("config", "at"),
    [
        (TrainConfig(epochs=2, batch_size=2), Position(2, 0, 12)),  # every epoch trained
        (TrainConfig(epochs=2, batch_size=2, max_iterations=5), Position(0, 5, 5)),  # stopped at 5
    ],
)
def test_no_start_line_when_nothing_is_left_to_train(caplog, config, at):
    with caplog.at_level("INFO", logger="discmot"):
        RunStatus(Path("run"), config, dist()).say_what_is_ahead(at, samples(12))
    assert said(caplog) == []


def test_the_start_line_counts_a_last_partial_batch_and_one_epoch_in_the_singular(caplog):
    """7 samples in batches of 2: 4 iterations (the last one of 1 sample), counted over the whole epoch
    (from position 0, even when resumed inside it); ``1 epoch``, no ``s``; no mid-epoch checkpoints, no
    max_iterations line."""
    with caplog.at_level("INFO", logger="discmot"):
        RunStatus(Path("run"), TrainConfig(epochs=1, batch_size=2), dist()).say_what_is_ahead(
            Position(0, 0, 0), samples(7)
        )
    assert said(caplog) == ["run folder run: 1 epoch x 4 iterations, checkpoints at each epoch's end"]


def test_the_start_line_of_two_processes_says_per_process_and_mid_epoch_checkpoints(caplog):
    with caplog.at_level("INFO", logger="discmot"):
        RunStatus(
            Path("run"), TrainConfig(epochs=3, batch_size=2, checkpoint_every=4), dist(0, 2)
        ).say_what_is_ahead(Position(0, 0, 0), samples(12))
    assert said(caplog) == [
        "run folder run: 3 epochs x 6 iterations in each of 2 processes, checkpoints every 4 iterations and "
        "at each epoch's end"
    ]


def test_process_counts_are_singular_for_one():
    assert (processes(1), processes(2)) == ("1 process", "2 processes")


# --------------------------------------------------------------------------------------------------
# The max_iterations line: the run's total iterations, counted from a resume point


def max_iterations_line(caplog, config: TrainConfig, at: Position, n: int) -> str:
    with caplog.at_level("INFO", logger="discmot"):
        RunStatus(Path("run"), config, dist()).say_what_is_ahead(at, samples(n))
    lines = [m for m in said(caplog) if m.startswith("train.max_iterations=")]
    assert len(lines) == 1, said(caplog)
    return lines[0]


def test_the_runs_total_counts_the_iterations_done_and_the_epochs_left_from_a_mid_epoch_resume(caplog):
    """Resumed at epoch 2/3 after 2 iterations, 8 in total, 6 iterations an epoch: 8 - 2 done before
    this epoch + (3 - 1) epochs x 6 = 18 iterations in the run; a stop at 10 is below it."""
    config = TrainConfig(epochs=3, batch_size=2, max_iterations=10)
    line = max_iterations_line(caplog, config, Position(1, 2, 8), 12)
    assert line.startswith(
        "train.max_iterations=10: stopping early, after iteration 10 of 18, with a checkpoint"
    )


def test_a_max_iterations_equal_to_the_runs_total_trains_every_epoch(caplog):
    """``not below the run's iterations``: 18 of 18 (the resume above) trains every epoch."""
    config = TrainConfig(epochs=3, batch_size=2, max_iterations=18)
    line = max_iterations_line(caplog, config, Position(1, 2, 8), 12)
    assert line == "train.max_iterations=18: not below the run's 18 iterations; every epoch is trained"


def test_a_max_iterations_one_below_the_total_stops_early(caplog):
    config = TrainConfig(epochs=3, batch_size=2, max_iterations=17)
    line = max_iterations_line(caplog, config, Position(1, 2, 8), 12)
    assert "stopping early, after iteration 17 of 18, with a checkpoint and model.safetensors" in line


@pytest.mark.parametrize(("accumulate", "waits"), [(1, False), (2, True)])
def test_an_early_stop_with_accumulation_says_it_waits_for_the_optimizer_step(caplog, accumulate, waits):
    """Any accumulation (2 already) stops at the first optimizer step from there; none says nothing."""
    config = TrainConfig(epochs=2, batch_size=2, accumulate_steps=accumulate, max_iterations=3)
    line = max_iterations_line(caplog, config, Position(0, 0, 0), 12)
    assert line.startswith("train.max_iterations=3: stopping early, after iteration 3 of 12")
    assert ("(at the first optimizer step from there)" in line) == waits


def test_max_iterations_1_stops_after_the_first_iteration_and_0_never_stops():
    """``train.max_iterations`` (0: off) counts from 1: a value of 1 is reached at global step 1."""
    assert at_max_iterations(TrainConfig(max_iterations=1), 1)
    assert not at_max_iterations(TrainConfig(max_iterations=1), 0)
    assert not at_max_iterations(TrainConfig(max_iterations=0), 10**6)


# --------------------------------------------------------------------------------------------------
# The closing summary


def test_the_closing_summary_without_and_with_a_logged_line():
    """``last_logged`` None: the step alone; else the loss (4 significant digits) and minutes (1
    decimal) of the docstring's example."""
    assert closing_summary(7, None) == "step 7"
    assert (
        closing_summary(300, {"loss": 1.62449, "step": 300, "elapsed_s": 126.0})
        == "step 300; last logged loss 1.624 at step 300; 2.1 min of training in this process"
    )
