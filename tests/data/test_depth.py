"""`discmot depth`: pseudo-depth maps in the format and naming FDTA's loader reads (spec fdta.md 8.2)."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from depth_stand_in import StandInProcessor, install_stand_in_transformers
from discmot.cli import main
from discmot.data.synth import generate_dataset
from discmot.io.depth import write_depth_maps


@pytest.fixture()
def sequence(tmp_path):
    return generate_dataset(tmp_path / "synth", "tiny", sequences=1, frames=6)[0]


def run_depth(sequence, *extra):
    root = str(sequence.parents[1])
    return main(["-v", "depth", "--data-root", root, "--split", "train", "--estimator", "synthetic", *extra])


def test_synthetic_estimator_reproduces_the_generated_maps(sequence):
    written = {p.name: p.read_bytes() for p in (sequence / "depth").glob("*.png")}
    for png in (sequence / "depth").glob("*.png"):
        png.unlink()
    assert run_depth(sequence) == 0
    again = {p.name: p.read_bytes() for p in (sequence / "depth").glob("*.png")}
    assert again == written and len(again) == 6


def test_frames_are_matched_by_number_not_by_name_order(tmp_path, caplog):
    """1.jpg ... 12.jpg (no zero padding): "10" sorts before "2" as text, which gave frame 2's map the
    name 10; a stray image is ignored with a warning, as training ignores it."""
    sequence = generate_dataset(tmp_path / "synth", "tiny", sequences=1, frames=12)[0]
    expected = {}
    for image in sorted((sequence / "img1").glob("*.jpg")):
        number = int(image.stem)
        image.rename(image.with_name(f"{number}.jpg"))
        expected[f"{number}.png"] = (sequence / "depth" / f"{image.stem}.png").read_bytes()
    (sequence / "img1" / "thumb.jpg").write_bytes((sequence / "img1" / "1.jpg").read_bytes())
    for png in (sequence / "depth").glob("*.png"):
        png.unlink()
    with caplog.at_level("WARNING"):
        assert run_depth(sequence) == 0
    assert {p.name: p.read_bytes() for p in (sequence / "depth").glob("*.png")} == expected
    assert "not named by a frame number ignored, e.g. thumb.jpg" in caplog.text


@pytest.mark.parametrize(
    "damage, words",
    [
        (
            lambda text: text.replace("synthPreset=tiny", "synthPreset=foo"),
            "the .discmot. section is damaged",
        ),
        (lambda text: text.replace("synthSeed", "seed"), "the .discmot. section is damaged"),
        (
            lambda text: "\n".join(line for line in text.splitlines() if not line.startswith("imHeight")),
            "imWidth and imHeight are needed",
        ),
    ],
)
def test_a_damaged_seqinfo_is_named(sequence, capsys, damage, words):
    info = sequence / "seqinfo.ini"
    info.write_text(damage(info.read_text()))
    root = str(sequence.parents[1])
    assert main(["depth", "--data-root", root, "--split", "train", "--estimator", "synthetic"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"discmot: error: {info}") and len(err.splitlines()) == 1
    assert re.search(words, err)


def test_maps_are_named_like_images_and_scaled_by_the_sequence_maximum(tmp_path):
    folder = tmp_path / "seq"
    (folder / "img1").mkdir(parents=True)
    stems = ["000001", "000002"]  # 6-digit names (SportsMOT/BFT): the official generator wrote 8 digits
    for stem in stems:
        cv2.imwrite(str(folder / "img1" / f"{stem}.jpg"), np.zeros((4, 4, 3), np.uint8))

    def estimate(_sequence):
        yield stems[0], np.full((4, 4), 1.0)
        yield stems[1], np.full((4, 4), 4.0)  # the sequence maximum

    assert write_depth_maps(folder, estimate) == 2
    first = cv2.imread(str(folder / "depth" / "000001.png"), cv2.IMREAD_UNCHANGED)
    second = cv2.imread(str(folder / "depth" / "000002.png"), cv2.IMREAD_UNCHANGED)
    assert first.dtype == np.uint8 and first.ndim == 2
    assert int(first[0, 0]) == 63 and int(second[0, 0]) == 255  # floor(255 * 1/4), floor(255 * 4/4)


def test_depth_anything_without_weights_is_a_clear_error(tmp_path, capsys):
    """Without the optional transformers package, or without the weights: one line, exit status 2."""
    missing = str(tmp_path / "missing")
    status = main(
        ["depth", "--data-root", str(tmp_path), "--estimator", "depth-anything", "--model", missing]
    )
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and err.startswith("discmot: error: ")
    assert (
        f"{missing}: Depth Anything weights not found" in err
    )  # the path first, with or without transformers


def test_a_data_root_without_split_says_which_split_to_pass(sequence, capsys):
    root = sequence.parent.parent  # <root>/train/<seq>
    assert main(["depth", "--data-root", str(root), "--estimator", "synthetic"]) == 2
    assert f"pass --split {sequence.parent.name}" in capsys.readouterr().err


def test_non_synthetic_sequence_is_refused(sequence):
    info = sequence / "seqinfo.ini"
    info.write_text(info.read_text().split("[discmot]")[0])
    with pytest.raises(ValueError, match="not a discmot synth sequence"):
        run_depth(sequence)


def test_quantisation_is_exactly_floor_255_d_over_max():
    """The formula in exact arithmetic: the maximum always maps to 255 (float32 ``D * (255 / max)`` gave
    254 for many maxima) and every value to its true floor."""
    from fractions import Fraction

    from discmot.io.depth import DepthAccumulator

    rng = np.random.default_rng(0)
    for _ in range(200):
        values = rng.uniform(0, rng.uniform(0.01, 50), size=64).astype(np.float32)
        accumulator = DepthAccumulator()
        accumulator.add("x", values)
        quantised = accumulator.quantise(values)
        largest = Fraction(float(values.max()))
        exact = [min(int(Fraction(float(v)) * 255 / largest), 255) for v in values]
        assert quantised.tolist() == exact and quantised[values.argmax()] == 255


def test_a_bad_later_sequence_stops_the_run_before_any_map_is_written(tmp_path):
    first, second = generate_dataset(tmp_path / "synth", "tiny", sequences=2, frames=4)
    for png in [*(first / "depth").glob("*.png"), *(second / "depth").glob("*.png")]:
        png.unlink()
    next((second / "img1").glob("*.jpg")).unlink()
    with pytest.raises(FileNotFoundError, match="tiny-train-0001/img1: no image for frame"):
        run_depth(first)
    assert not list((first / "depth").glob("*.png"))


def test_depth_anything_reads_frames_as_training_does_ignoring_exif(tmp_path, monkeypatch):
    """FDTA training reads frames as PIL does, without turning them by their EXIF orientation; the
    maps came from cv2.imread, which turns them: upside down, or the wrong size, against their frame."""
    import helpers

    install_stand_in_transformers(monkeypatch)
    sequence = generate_dataset(tmp_path / "data", "tiny", sequences=1, frames=2, seed=3)[0]
    frame = sequence / "img1" / "00000001.jpg"
    stored = cv2.imread(str(frame), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    helpers.write_jpeg_turned_by_exif(frame, stored)
    assert cv2.imread(str(frame)).shape[:2] == stored.shape[1::-1]  # turned by a plain imread
    (tmp_path / "weights").mkdir()

    status = main(
        ["depth", "--data-root", str(tmp_path / "data"), "--split", "train", "--estimator", "depth-anything",
         "--model", str(tmp_path / "weights")]
    )  # fmt: skip

    assert status == 0
    written = cv2.imread(str(sequence / "depth" / "00000001.png"), cv2.IMREAD_UNCHANGED)
    assert written.shape == stored.shape[:2]  # the frame as training reads it (80x128), not turned
    brightness = cv2.cvtColor(stored, cv2.COLOR_BGR2GRAY).astype(float)
    assert np.corrcoef(written.ravel(), brightness.ravel())[0, 1] > 0.9


def test_depth_anything_without_an_image_package_is_the_missing_extra_error(tmp_path, monkeypatch, capsys):
    """transformers' image processor needs Pillow, which transformers does not install: a traceback."""

    class NeedsPillow(StandInProcessor):
        @classmethod
        def from_pretrained(cls, path, **kwargs):
            raise ImportError("\nAutoImageProcessor requires the PIL library but it was not found.\nmore")

    install_stand_in_transformers(monkeypatch, processor=NeedsPillow)
    generate_dataset(tmp_path / "data", "tiny", sequences=1, frames=1, seed=3)
    (tmp_path / "weights").mkdir()

    status = main(
        ["depth", "--data-root", str(tmp_path / "data"), "--split", "train", "--estimator", "depth-anything",
         "--model", str(tmp_path / "weights")]
    )  # fmt: skip

    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert (
        "(AutoImageProcessor requires the PIL library but it was not found.); pip install 'discmot[depth]'"
        in err
    )


def test_progress_counts_the_frames_of_a_sequence_as_they_are_estimated(sequence, capsys):
    """Depth Anything on a CPU takes seconds a frame and writes nothing until the sequence's last one:
    the bar shows the frames estimated out of the sequence's."""
    from discmot.io.depth import check_sequence, synthetic_depth

    stems = check_sequence(sequence, synthetic=True)
    assert write_depth_maps(sequence, synthetic_depth, stems, progress=True) == 6
    bar = capsys.readouterr().err
    assert f"{sequence.name}: 100%" in bar and "6/6" in bar, bar
    write_depth_maps(sequence, synthetic_depth, stems)  # the default: no bar
    assert capsys.readouterr().err == ""
