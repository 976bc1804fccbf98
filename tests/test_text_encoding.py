"""discmot's text files are UTF-8 whatever the locale says (Windows: cp1252 for ``open`` without an
encoding; the bundled recipes hold "§" and "×" in their comments).

Python warns about every ``open``/``read_text``/``write_text`` that leaves the encoding to the locale
when started with ``-X warn_default_encoding`` (PEP 597); the subprocess below turns those warnings of
discmot's own modules into errors and runs the paths that read or write text: the synthetic writer, every
built-in recipe, tracking and evaluation, and the JDE export with its lists and labels read back.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import discmot

ASSETS = Path(discmot.__file__).parent / "assets"

PATHS_THAT_READ_AND_WRITE_TEXT = """
import sys, warnings
from pathlib import Path
warnings.filterwarnings("error", category=EncodingWarning, module="discmot")  # its own modules only

from discmot.cli import main
from discmot.config import builtin_recipes, read_recipe
from discmot.data.jde import read_image_list, read_labels
from discmot.data.jde_export import export_jde
from discmot.data.synth import generate_dataset

root, weights = Path(sys.argv[1]), sys.argv[2]
sequence = generate_dataset(root / "data", "tiny", split="val", sequences=1, frames=6, seed=0)[0]
for name in builtin_recipes():
    read_recipe(name)
results = root / "results" / "seq.txt"
assert main(["track", str(sequence), "--weights", weights, "--save-txt", str(results)]) == 0
assert main(["eval", "--gt", str(sequence / "gt" / "gt.txt"), "--results", str(results)]) == 0
done = export_jde([sequence], root / "jde", "mine", "train")
pairs = read_image_list(done.list_file, root / "jde")
assert pairs and all(len(read_labels(label)) for _, label in pairs)
train_root = root / "train_data"
generate_dataset(train_root, "tiny", split="train", sequences=1, frames=10, seed=0)  # clips: 8
run = root / "run"
assert main(["train", "--config", "tiny", "--data-root", str(train_root), "--run-dir", str(run),
             "--set", "train.max_iterations=1", "--device", "cpu", "-q"]) == 0
assert (run / "model.safetensors").is_file()
print("ran", len(pairs))
"""


def test_text_files_never_take_the_locales_encoding(tmp_path):
    result = subprocess.run(
        [sys.executable, "-X", "warn_default_encoding", "-c", PATHS_THAT_READ_AND_WRITE_TEXT, str(tmp_path),
         str(ASSETS / "fdta_tiny_synth_dancetrack.safetensors")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ran 6" in result.stdout
