"""The list file `discmot jde-export` writes is the one a recipe's key (``data.datasets: [<name>_<split>]``)
finds again, for every split name: training reads a key up to its last ``_`` as the list name, so the
list of a split such as ``train_half`` is ``<name>_train.half`` (``<name>.train_half`` no key could name).
"""

from __future__ import annotations

import pytest

from discmot.cli import main
from discmot.data.synth import generate_dataset
from discmot.models.cstrack.recipe import load_recipe


@pytest.mark.parametrize(("name", "split"), [("mine", "train"), ("mine", "train_half"), ("my_data", "val")])
def test_the_recipe_key_of_an_export_reads_its_list(tmp_path, capsys, name, split):
    generate_dataset(tmp_path, "tiny", split=split, sequences=1, frames=3, size=(64, 64), seed=1)
    out = tmp_path / "jde"
    assert (
        main(
            [
                "-q",
                "jde-export",
                "--data-root",
                str(tmp_path),
                "--split",
                split,
                "--out",
                str(out),
                "--name",
                name,
            ]
        )
        == 0
    )
    assert f"data.datasets=[{name}_{split}]" in capsys.readouterr().out
    overrides = [f"data.datasets=[{name}_{split}]", "data.lists_dir=.", "data.root=."]
    index = load_recipe("cstrack_tiny", overrides).data.index(out)  # reads and checks the list and labels
    assert len(index) == 3 and index.num_identities > 0
