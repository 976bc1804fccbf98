"""Edge cases of the JDE reader (`discmot.data.jde`, spec ``cstrack.md`` §6.1-6.3) that the contract tests
leave open: the exact limits of the box range check (wholly outside at an edge; at most one image size
past it), a zero height, entries whose label path cannot be derived, datasets whose label files are all
empty, the default identity mapping, and the hint naming the image lists a data root does have
(`check_image_lists`).

Boxes use binary-exact fractions (1/8 steps) so every edge lands exactly on its limit.
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

import numpy as np
import pytest

from discmot.data.jde import (
    JDEDataError,
    JDEIndex,
    JDESource,
    check_image_lists,
    image_lists,
    label_path_for,
    parse_labels,
    read_image_list,
)
from discmot.models.cstrack.recipe import CSTrackDataConfig


def write_dataset(root: Path, name: str, labels: dict[str, str]) -> Path:
    """One empty image and one label file per entry below ``root``, and the list file naming them."""
    for entry, text in labels.items():
        image = root / entry
        image.parent.mkdir(parents=True, exist_ok=True)
        image.write_bytes(b"")
        label = root / label_path_for(entry)
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text(text)
    list_file = root / f"{name}.train"
    list_file.write_text("\n".join(labels) + "\n")
    return list_file


def row(cx: float, cy: float, w: float, h: float) -> str:
    return f"0 1 {cx} {cy} {w} {h}\n"


# --------------------------------------------------------------------------------------------------
# the box range check


@pytest.mark.parametrize(
    ("box", "why"),
    [
        ((1.125, 0.5, 0.25, 0.125), "left edge exactly at x = 1: wholly right of the image"),
        ((0.5, 1.0625, 0.125, 0.125), "top edge exactly at y = 1: wholly below"),
        ((-0.125, 0.5, 0.25, 0.125), "right edge exactly at x = 0: wholly left"),
        ((0.5, -0.0625, 0.125, 0.125), "bottom edge exactly at y = 0: wholly above"),
        ((0.25, 0.5, 2.75, 0.125), "left edge at -1.125: more than one image width outside"),
        ((0.75, 0.5, 2.75, 0.125), "right edge at 2.125: more than one image width outside"),
        ((0.5, 0.75, 0.125, 2.75), "bottom edge at 2.125: more than one image height outside"),
    ],
)
def test_boxes_out_of_range_are_refused(box, why):
    with pytest.raises(JDEDataError, match="box out of range"):
        parse_labels(row(*box))


@pytest.mark.parametrize(
    ("box", "why"),
    [
        ((0.875, 0.5, 0.25, 0.125), "left edge at 0.75 < 1: overlaps"),
        ((0.125, 0.5, 0.25, 0.125), "right edge at 0.25 > 0: overlaps"),
        ((0.25, 0.5, 2.5, 0.125), "left edge exactly -1: one image width outside is still allowed"),
        ((0.75, 0.5, 2.5, 0.125), "right edge exactly 2: one image width outside is still allowed"),
        ((0.5, 0.25, 0.125, 2.5), "top edge exactly -1 (in height)"),
        ((0.5, 0.75, 0.125, 2.5), "bottom edge exactly 2 (in height)"),
    ],
)
def test_boxes_at_the_limits_are_accepted(box, why):
    np.testing.assert_array_equal(parse_labels(row(*box))[0, 2:], box)


def test_a_zero_height_is_refused_like_a_zero_width():
    with pytest.raises(JDEDataError, match="width and height must be > 0"):
        parse_labels("0 1 0.5 0.5 0.25 0\n")


def test_a_fractional_class_is_refused():
    """§6.1: the class is an integer (always 0)."""
    with pytest.raises(JDEDataError, match="class must be an integer"):
        parse_labels("0.5 1 0.5 0.5 0.25 0.25\n")


def test_a_comment_after_the_values_is_ignored_and_rows_keep_their_line_numbers():
    rows = parse_labels("0 1 0.5 0.5 0.25 0.25 # first # and more\n\n0 2 0.25 0.25 0.125 0.125\n")
    np.testing.assert_array_equal(rows[:, 1], [1, 2])
    with pytest.raises(JDEDataError, match="src:3: "):
        parse_labels("# header\n\n0 1 0.5 0.5 0.25\n", "src")


# --------------------------------------------------------------------------------------------------
# list entries


def test_an_entry_below_images_with_another_extension_has_no_label_path(tmp_path):
    """§6.1: labels are derived from ``.jpg`` / ``.png`` images; ``images/x.bmp`` would give
    ``labels_with_ids/x.bmp``, not a ``.txt`` file: refused, naming the list line."""
    for sub in ("images", "labels_with_ids"):
        (tmp_path / "A" / sub).mkdir(parents=True)
        (tmp_path / "A" / sub / "1.bmp").write_bytes(b"")
    list_file = tmp_path / "a.train"
    list_file.write_text("\nA/images/1.bmp\n")
    with pytest.raises(JDEDataError, match=":2: cannot derive a label file"):
        read_image_list(list_file, tmp_path)


def test_entries_are_stripped_and_blank_lines_skipped(tmp_path):
    list_file = write_dataset(tmp_path, "a", {"A/images/1.jpg": row(0.5, 0.5, 0.25, 0.25)})
    list_file.write_text("\n  A/images/1.jpg  \n\n")
    assert read_image_list(list_file, tmp_path) == [
        (tmp_path / "A/images/1.jpg", tmp_path / "A/labels_with_ids/1.txt")
    ]


# --------------------------------------------------------------------------------------------------
# identity bookkeeping (§6.3)


def test_an_index_needs_a_dataset():
    with pytest.raises(ValueError, match="at least one dataset"):
        JDEIndex([])


def test_a_dataset_of_empty_label_files_has_no_identities(tmp_path):
    """§6.3: ``maxid_d`` is -1 when a dataset has no identity (here: no box at all), so ``n_d = 0`` and the
    next dataset starts where it did: max ids (-1, 2) -> starts 0, 0; nID = 1 + 0 + 3 = 4."""
    empty = write_dataset(tmp_path, "e", {"E/images/1.jpg": "", "E/images/2.jpg": "\n"})
    other = write_dataset(tmp_path, "o", {"O/images/1.jpg": "0 2 0.5 0.5 0.25 0.25\n"})
    index = JDEIndex([JDESource("e", empty, tmp_path), JDESource("o", other, tmp_path)])
    assert [(d.max_id, d.num_ids, d.start) for d in index.datasets] == [(-1, 0, 0), (2, 3, 0)]
    assert index.num_identities == 4
    assert index[2].labels[:, 1].tolist() == [3]  # clean mapping: 0 + 2 + 1


def test_the_default_mapping_is_the_clean_one(tmp_path):
    """§6.3: "A clean re-implementation should map identity k of dataset d to start_d + k + 1 and keep 0
    for 'none'" — the default of `JDEIndex`, so the first dataset's identity 0 is not lost."""
    list_file = write_dataset(
        tmp_path, "a", {"A/images/1.jpg": "0 0 0.5 0.5 0.25 0.25\n0 -1 0.25 0.25 0.125 0.125\n"}
    )
    index = JDEIndex([JDESource("a", list_file, tmp_path)])
    assert index[0].labels[:, 1].tolist() == [1, 0] and index.num_identities == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        index[0].dataset = 1  # records are frozen: shared by the loader's workers


# --------------------------------------------------------------------------------------------------
# finding the image lists a data root does have (§6.2: key <name>_<split> <-> file <name>.<split>)


def test_image_lists_are_the_files_whose_first_entry_is_an_image(tmp_path):
    """`image_lists`: files ``<name>.<split>`` whose *first* entry ends in .jpg / .png (any case). A
    one-entry list counts; an empty file, a file whose image path is only its second word, a file without
    a suffix and a ``.txt`` file do not."""
    (tmp_path / "one.train").write_text("A/images/1.jpg\n")
    (tmp_path / "b.val").write_text("B/images/2.PNG\nB/images/3.png\n")
    (tmp_path / "empty.train").write_text("")
    (tmp_path / "notes.log").write_text("see A/images/1.jpg\n")
    (tmp_path / "LIST").write_text("A/images/1.jpg\n")
    (tmp_path / "labels.txt").write_text("A/images/1.jpg\n")
    assert image_lists(tmp_path) == [tmp_path / "b.val", tmp_path / "one.train"]


def write_list(folder: Path, name: str, entry: str) -> Path:
    """A one-entry list ``folder/name`` naming ``entry`` (relative to ``folder``), with the image file."""
    (folder / entry).parent.mkdir(parents=True, exist_ok=True)
    (folder / entry).write_bytes(b"")
    (folder / name).write_text(entry + "\n")
    return folder / name


def suggested_flags(data: CSTrackDataConfig, data_root: Path) -> tuple[str, list[str]]:
    """The error of a recipe whose lists are missing: its message and the ``--set`` words it suggests."""
    with pytest.raises(FileNotFoundError, match="image list not found") as caught:
        check_image_lists(data, data_root, "test")
    message = str(caught.value)
    return message, shlex.split(message.split(" with ", 1)[1])


def test_the_hint_names_the_train_lists_only_and_no_folder_the_recipe_already_reads(tmp_path):
    """Lists in the recipe's own ``lists_dir`` whose entries lie under its ``root`` (both ``jde``): the
    hint names both lists found but trains on the ``.train`` one only, and sets neither folder."""
    data = CSTrackDataConfig(datasets=("synth_mot_train",), lists_dir="jde", root="jde")
    (tmp_path / "jde").mkdir()
    write_list(tmp_path / "jde", "mine.train", "M/images/1.jpg")
    write_list(tmp_path / "jde", "mine.val", "M/images/2.jpg")
    message, flags = suggested_flags(data, tmp_path)
    assert "has mine.train, mine.val: train on them" in message
    assert flags == ["--set", "data.datasets=[mine_train]"]


def test_a_folder_of_val_lists_only_is_trained_on_as_it_is(tmp_path):
    """No ``.train`` list: the hint falls back to every list found."""
    data = CSTrackDataConfig(datasets=("synth_mot_train",), lists_dir="jde", root="jde")
    (tmp_path / "jde").mkdir()
    write_list(tmp_path / "jde", "mine.val", "M/images/2.jpg")
    message, flags = suggested_flags(data, tmp_path)
    assert "has mine.val: train on it" in message
    assert flags == ["--set", "data.datasets=[mine_val]"]


def test_the_entry_root_is_set_only_when_the_entries_lie_below_the_lists_folder(tmp_path):
    """Lists in ``jde`` (the recipe's ``lists_dir``) whose entries are relative to the data root (the
    recipe's ``root`` ".") need no ``data.root`` flag; lists found in ``own`` whose entries lie below
    ``own`` need ``data.lists_dir=own`` and ``data.root=own``."""
    data = CSTrackDataConfig(datasets=("synth_mot_train",), lists_dir="jde", root=".")
    (tmp_path / "jde").mkdir()
    (tmp_path / "jde" / "mine.train").write_text("jde/M/images/1.jpg\n")
    (tmp_path / "jde" / "M" / "images").mkdir(parents=True)
    (tmp_path / "jde" / "M" / "images" / "1.jpg").write_bytes(b"")
    assert suggested_flags(data, tmp_path)[1] == ["--set", "data.datasets=[mine_train]"]

    data = CSTrackDataConfig(datasets=("synth_mot_train",), lists_dir="own", root=".")
    (tmp_path / "own").mkdir()
    write_list(tmp_path / "own", "yours.train", "Y/images/1.jpg")
    assert suggested_flags(data, tmp_path)[1] == [
        "--set",
        "data.datasets=[yours_train]",
        "--set",
        "data.root=own",
    ]
