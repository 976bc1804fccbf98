"""Contracts of the JDE reader (`discmot.data.jde`, spec ``cstrack.md`` §6.1-6.3).

Bad label rows and list entries fail with messages naming file and line; label paths are derived like
the original; identity offsets across datasets match a hand computation; the synthetic export loads.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from discmot.data.jde import (
    JDEDataError,
    JDEIndex,
    JDESource,
    identity_offsets,
    label_path_for,
    list_file_for,
    map_identities,
    parse_labels,
    read_image_list,
    read_labels,
)
from discmot.data.synth import generate_dataset


def write_dataset(root: Path, name: str, labels: dict[str, str], list_lines: list[str] | None = None) -> Path:
    """A JDE dataset below ``root``: one (empty) image and one label file per entry, plus its list file."""
    for entry, text in labels.items():
        image = root / entry
        image.parent.mkdir(parents=True, exist_ok=True)
        image.write_bytes(b"")  # the reader checks existence only; pixels are read by the dataset
        label = root / label_path_for(entry)
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text(text)
    list_file = root / f"{name}.train"
    list_file.write_text("\n".join(list(labels) if list_lines is None else list_lines) + "\n")
    return list_file


# --------------------------------------------------------------------------------------------------
# label rows


GOOD = "0 3 0.5 0.5 0.2 0.4\n0 -1 0.1 0.9 0.05 0.1\n"


def test_parse_good_rows():
    rows = parse_labels("# comment\n" + GOOD + "\n   \n")
    np.testing.assert_array_equal(rows, [[0, 3, 0.5, 0.5, 0.2, 0.4], [0, -1, 0.1, 0.9, 0.05, 0.1]])
    assert parse_labels("").shape == (0, 6)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("0 3 0.5 0.5 0.2", "expected 6 columns"),
        ("0 3 0.5 0.5 0.2 0.4 7", "expected 6 columns"),
        ("0 3 0.5 abc 0.2 0.4", "not a number"),
        ("0 3 0.5 nan 0.2 0.4", "NaN"),
        ("0 3 0.5 0.5 inf 0.4", "NaN or infinite"),
        ("0 3 1.5 0.5 0.2 0.4", "out of range"),  # box entirely right of the image
        ("0 3 0.5 -0.3 0.2 0.4", "out of range"),  # box entirely above the image
        ("0 3 12.0 30.0 4.0 8.0", "out of range"),  # pixel units
        ("0 3 0.5 0.5 0 0.4", "width and height must be > 0"),
        ("0 3 0.5 0.5 0.2 -0.1", "width and height must be > 0"),
        ("0 2.5 0.5 0.5 0.2 0.4", "identity an integer"),
        ("0 -2 0.5 0.5 0.2 0.4", "identity an integer"),
        ("-1 3 0.5 0.5 0.2 0.4", "class must be an integer"),
    ],
)
def test_bad_row_names_file_and_line(tmp_path, row, reason):
    label = tmp_path / "labels_with_ids" / "a.txt"
    label.parent.mkdir()
    label.write_text(GOOD + "\n" + row + "\n")  # the blank line still counts: the bad row is line 4
    with pytest.raises(JDEDataError, match=re.escape(f"{label}:4: ") + ".*" + re.escape(reason)):
        read_labels(label)


def test_box_partly_outside_the_image_is_accepted():
    # MOTChallenge-derived labels keep boxes cut by the border unclipped (centre may even lie outside)
    rows = parse_labels("0 1 -0.02 0.5 0.1 0.3\n0 2 0.99 1.05 0.1 0.3\n")
    assert rows.shape == (2, 6)


def test_label_path_like_the_original():
    assert label_path_for("MOT17/images/train/MOT17-02-SDP/img1/000001.jpg") == (
        "MOT17/labels_with_ids/train/MOT17-02-SDP/img1/000001.txt"
    )
    assert label_path_for("Caltech/data/images/set04_V010_879.png") == (
        "Caltech/data/labels_with_ids/set04_V010_879.txt"
    )
    assert label_path_for("crowdhuman/images/train/284193,faa9000f2678b5e.jpg") == (
        "crowdhuman/labels_with_ids/train/284193,faa9000f2678b5e.txt"
    )


def test_list_file_for_config_keys(tmp_path):
    assert list_file_for(tmp_path, "mot17_train") == tmp_path / "mot17.train"
    assert list_file_for(tmp_path, "mot17_hf_val") == tmp_path / "mot17_hf.val"
    with pytest.raises(ValueError, match="<name>_<split>"):
        list_file_for(tmp_path, "mot17")


# --------------------------------------------------------------------------------------------------
# list files


def test_list_resolves_entries_relative_to_root(tmp_path):
    entries = {"A/images/x/1.jpg": GOOD, "A/images/x/2.png": ""}
    list_file = write_dataset(tmp_path, "a", entries, [*entries, "", "  "])  # blank lines are skipped
    pairs = read_image_list(list_file, tmp_path)
    assert pairs == [
        (tmp_path / "A/images/x/1.jpg", tmp_path / "A/labels_with_ids/x/1.txt"),
        (tmp_path / "A/images/x/2.png", tmp_path / "A/labels_with_ids/x/2.txt"),
    ]


def test_list_naming_a_missing_image(tmp_path):
    list_file = write_dataset(tmp_path, "a", {"A/images/1.jpg": GOOD}, ["A/images/1.jpg", "A/images/2.jpg"])
    with pytest.raises(JDEDataError, match=re.escape(f"{list_file}:2: image ") + ".*2.jpg not found"):
        read_image_list(list_file, tmp_path)


def test_a_list_file_that_is_not_utf8_is_named(tmp_path):
    """A list in Latin-1 (a path with "é") raised the codec's bare UnicodeDecodeError, which the CLI
    reports as a bug to send in."""
    list_file = tmp_path / "lists" / "a.train"
    list_file.parent.mkdir()
    list_file.write_bytes("A/images/caf\u00e9/1.jpg\n".encode("latin-1"))
    with pytest.raises(JDEDataError, match=re.escape(f"{list_file}: not a UTF-8 text file (")):
        read_image_list(list_file, tmp_path)


def test_list_naming_an_image_without_labels(tmp_path):
    list_file = write_dataset(tmp_path, "a", {"A/images/1.jpg": GOOD})
    (tmp_path / "A/labels_with_ids/1.txt").unlink()
    with pytest.raises(JDEDataError, match=re.escape(f"{list_file}:1: label file ")):
        read_image_list(list_file, tmp_path)


def test_list_entry_without_a_label_path(tmp_path):
    # the original's replacements would leave the path unchanged and read the image as its labels
    (tmp_path / "A/pics").mkdir(parents=True)
    (tmp_path / "A/pics/1.bmp").write_bytes(b"")
    list_file = tmp_path / "a.train"
    list_file.write_text("A/pics/1.bmp\n")
    with pytest.raises(JDEDataError, match=re.escape(f"{list_file}:1: cannot derive a label file")):
        read_image_list(list_file, tmp_path)


def test_missing_list_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="image list not found"):
        read_image_list(tmp_path / "nope.train", tmp_path)


def test_index_reports_the_bad_label_file(tmp_path):
    write_dataset(tmp_path, "a", {"A/images/1.jpg": GOOD, "A/images/2.jpg": "0 1 0.5 0.5 0.1\n"})
    with pytest.raises(JDEDataError, match=re.escape(str(tmp_path / "A/labels_with_ids/2.txt")) + ":1:"):
        JDEIndex([JDESource("a", tmp_path / "a.train", tmp_path)])


# --------------------------------------------------------------------------------------------------
# identity bookkeeping (§6.3)


def test_identity_offsets_by_hand():
    # n_d = max + 1: 4, 0 (identity-less, like CrowdHuman), 10 -> starts 0, 4, 4; nID = 1 + 14
    assert identity_offsets([3, -1, 9]) == ([0, 4, 4], 15)
    ids = np.array([0, 3, -1])
    np.testing.assert_array_equal(map_identities(ids, 4), [5, 8, 0])
    np.testing.assert_array_equal(map_identities(ids, 4, faithful=True), [4, 7, 0])
    np.testing.assert_array_equal(map_identities(ids, 0, faithful=True), [0, 3, 0])  # the quirk


def two_datasets(root: Path) -> list[JDESource]:
    first = {
        "A/images/1.jpg": "0 0 0.5 0.5 0.1 0.2\n0 2 0.3 0.3 0.1 0.2\n",
        "A/images/2.jpg": "0 1 0.5 0.5 0.1 0.2\n0 -1 0.6 0.6 0.1 0.2\n",
    }
    second = {
        "B/images/1.png": "0 4 0.5 0.5 0.1 0.2\n",
        "B/images/2.png": "",
        "B/images/3.png": "0 0 0.2 0.2 0.1 0.2\n0 -1 0.7 0.7 0.1 0.2\n",
    }
    return [
        JDESource("a", write_dataset(root, "a", first), root),
        JDESource("b", write_dataset(root, "b", second), root),
    ]


@pytest.mark.parametrize("faithful", [False, True])
def test_identity_offsets_across_two_datasets(tmp_path, faithful):
    index = JDEIndex(two_datasets(tmp_path), faithful_ids=faithful)
    # dataset a: max id 2 -> n = 3, start 0; dataset b: max id 4 -> n = 5, start 3; nID = 1 + 3 + 5 = 9
    assert index.num_identities == 9
    assert [(d.name, d.images, d.boxes, d.max_id, d.num_ids, d.start) for d in index.datasets] == [
        ("a", 2, 4, 2, 3, 0),
        ("b", 3, 3, 4, 5, 3),
    ]
    assert len(index) == 5 and [r.dataset for r in index] == [0, 0, 1, 1, 1]
    ids = [index[i].labels[:, 1].astype(int).tolist() for i in range(5)]
    shift = 0 if faithful else 1
    assert ids == [[0 + shift, 2 + shift], [1 + shift, 0], [7 + shift], [], [3 + shift, 0]]
    every = np.concatenate([r.labels[:, 1] for r in index])
    assert every.max() < index.num_identities
    np.testing.assert_array_equal(index[0].labels[:, 2:], [[0.5, 0.5, 0.1, 0.2], [0.3, 0.3, 0.1, 0.2]])


def test_dataset_without_identities(tmp_path):
    list_file = write_dataset(tmp_path, "c", {"C/images/1.jpg": "0 -1 0.5 0.5 0.1 0.2\n"})
    index = JDEIndex.from_list(list_file, tmp_path)
    assert index.num_identities == 1 and index.datasets[0].max_id == -1
    assert index[0].labels[0, 1] == 0


# --------------------------------------------------------------------------------------------------
# the synthetic export (``discmot synth --jde``)


def test_reads_the_synthetic_export(tmp_path):
    generate_dataset(tmp_path, preset="tiny", sequences=2, frames=3, size=(64, 48), seed=1, jde=True)
    index = JDEIndex.from_list(tmp_path / "jde" / "synth_tiny.train", tmp_path / "jde")
    assert len(index) == 6
    for record in index:
        assert record.image.is_file() and record.label.is_file()
        raw = read_labels(record.label)
        assert np.all(raw[:, 1] >= 1)  # exported ids start at 1
        np.testing.assert_array_equal(record.labels[:, 1], raw[:, 1] + 1)  # clean mapping, start 0
    max_id = int(max(read_labels(r.label)[:, 1].max() for r in index if r.labels.size))
    assert index.num_identities == max_id + 2


def test_cli_export_reads(tmp_path):
    out = tmp_path / "cli"
    args = ["synth", "--preset", "tiny", "--out", str(out), "--sequences", "1", "--frames", "2"]
    code = "import sys; from discmot.cli import main; sys.exit(main(sys.argv[1:]))"
    subprocess.run([sys.executable, "-c", code, *args, "--size", "64x48", "--jde"], check=True)
    index = JDEIndex.from_list(out / "jde" / "synth_tiny.train", out / "jde")
    assert len(index) == 2
