"""`discmot.eval.report` against TrackEval 1.3.0's own output, byte for byte.

TrackEval runs in-process with its summary/detailed writers on; its in-memory results are converted to
discmot's result contract (Python ``int``/``float``, float64 arrays; TrackEval's own types differ:
``Frag`` is a float, early-exit fields are int ``0``) and our writers must reproduce its files exactly.
Data: the shared MOT15 corpus (skipped when absent, failed under CI=true) and a tiny synthetic benchmark
written here that hits every early exit (no tracker boxes, no gt, no match at all).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from discmot.eval import fields as F
from discmot.eval import report
from helpers import require_module, shared_file

TRACKER = "motmetrics_test"
SYNTH_TRACKER = "synth"
FAMILIES = ("HOTA", "CLEAR", "Identity")


# --------------------------------------------------------------------------------------------------
# Running TrackEval and converting its results


def trackeval_configs(
    trackeval, gt_folder: Path, trackers_folder: Path, benchmark: str, tracker: str, out: Path
) -> tuple[dict, dict]:
    """Evaluator and dataset configs: serial, files written under ``out``, nothing else produced."""
    eval_config = {
        **trackeval.Evaluator.get_default_eval_config(),
        "USE_PARALLEL": False,
        "BREAK_ON_ERROR": True,
        "LOG_ON_ERROR": None,
        "PRINT_RESULTS": True,
        "PRINT_CONFIG": False,
        "TIME_PROGRESS": False,
        "OUTPUT_SUMMARY": True,
        "OUTPUT_DETAILED": True,
        "PLOT_CURVES": False,
    }  # plotting needs matplotlib
    dataset_config = {
        **trackeval.datasets.MotChallenge2DBox.get_default_dataset_config(),
        "GT_FOLDER": str(gt_folder),
        "TRACKERS_FOLDER": str(trackers_folder),
        "BENCHMARK": benchmark,
        "TRACKERS_TO_EVAL": [tracker],
        "OUTPUT_FOLDER": str(out),
        "PRINT_CONFIG": False,
    }
    return eval_config, dataset_config


def run_trackeval(
    gt_folder: Path, trackers_folder: Path, benchmark: str, tracker: str, metrics: tuple[str, ...], out: Path
) -> dict:
    """Runs TrackEval with its file writers on (files land in ``out/<tracker>/``, its console output in
    ``out/stdout.txt``); returns its raw ``{seq_or_"COMBINED_SEQ": {metric: {field: value}}}``."""
    trackeval = require_module("trackeval")
    eval_config, dataset_config = trackeval_configs(
        trackeval, gt_folder, trackers_folder, benchmark, tracker, out
    )
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # progress lines and tables; kept for the table test
        evaluator = trackeval.Evaluator(eval_config)
        dataset = trackeval.datasets.MotChallenge2DBox(dataset_config)
        metric_objects = [getattr(trackeval.metrics, name)({"PRINT_CONFIG": False}) for name in metrics]
        results, messages = evaluator.evaluate([dataset], metric_objects)
    assert messages[dataset.get_name()][tracker] == "Success", messages
    (out / "stdout.txt").write_text(printed.getvalue())
    return {seq: per_class["pedestrian"] for seq, per_class in results[dataset.get_name()][tracker].items()}


def contract_family(metric: str, raw: dict) -> dict:
    """One metric family in discmot's contract types: counts int, rates float, HOTA arrays float64."""
    family = {}
    for field, value in raw.items():
        if metric == "HOTA" and field in F.HOTA_ARRAY_FIELDS:
            family[field] = np.array(value, dtype=np.float64)
        elif field in F.INTEGER_FIELDS[metric]:
            assert float(value).is_integer(), (metric, field, value)
            family[field] = int(value)
        else:
            family[field] = float(value)
    return family


def to_contract(raw_tracker: dict) -> dict:
    """TrackEval's per-tracker result -> ``{seq_or_"COMBINED": {metric: {...}}}`` in contract types."""
    return {
        (F.COMBINED if seq == "COMBINED_SEQ" else seq): {m: contract_family(m, r) for m, r in per_seq.items()}
        for seq, per_seq in raw_tracker.items()
    }


def evaldata() -> Path:
    """The shared evaluation corpus (skip, or fail under CI, when missing)."""
    return shared_file("data/evaldata")


@pytest.fixture(scope="module")
def mot15(tmp_path_factory):
    """Runs TrackEval on MOT15 once per metric selection: (our-contract results, TrackEval out dir)."""
    cache: dict[tuple[str, ...], tuple[dict, Path]] = {}

    def run(metrics: tuple[str, ...]) -> tuple[dict, Path]:
        if metrics not in cache:
            data, out = evaldata(), tmp_path_factory.mktemp("trackeval_mot15")
            raw = run_trackeval(
                data / "gt/mot_challenge", data / "trackers/mot_challenge", "MOT15", TRACKER, metrics, out
            )
            cache[metrics] = (to_contract(raw), out / TRACKER)
        return cache[metrics]

    return run


# --------------------------------------------------------------------------------------------------
# A synthetic benchmark covering TrackEval's early exits


def _row(frame: int, ident: int, x: float, y: float, gt: bool) -> str:
    """One MOTChallenge line; gt rows are active pedestrians (conf 1, class 1, visibility 1)."""
    return f"{frame},{ident},{x},{y},20,40,1,1,1" if gt else f"{frame},{ident},{x},{y},20,40,-1,-1,-1,-1"


SYNTH_SEQUENCES = {
    # name: (seqLength, gt rows, tracker rows)
    "a-normal": (
        6,
        [_row(f, 1, 10 + f, 10, True) for f in range(1, 7)]
        + [_row(f, 2, 100, 50 + f, True) for f in range(1, 6)],
        [_row(f, 7 if f < 4 else 8, 11 + f, 10, False) for f in range(1, 7)]
        + [_row(f, 9, 101, 51 + f, False) for f in (1, 2, 4, 5)],
    ),
    "b-no-tracker": (3, [_row(f, 1, 10, 10, True) for f in range(1, 4)], []),
    "c-no-gt": (4, [], [_row(f, 3, 10, 10, False) for f in range(1, 3)]),
    "d-no-match": (
        3,
        [_row(f, 1, 10, 10, True) for f in range(1, 4)],
        [_row(f, 5, 300, 300, False) for f in range(1, 4)],
    ),
}
#: Benchmarks: SYN mixes every case; SYN2 has only early exits, so even the combined Frag stays int 0.
SYNTH_BENCHMARKS = {"SYN": tuple(SYNTH_SEQUENCES), "SYN2": ("b-no-tracker", "c-no-gt")}


def write_synthetic(root: Path, benchmark: str) -> None:
    """Writes a MOTChallenge-layout benchmark ``<benchmark>-train`` with the listed sequences."""
    gt_fol, trk_fol = root / "gt" / f"{benchmark}-train", root / "trackers" / f"{benchmark}-train"
    names = SYNTH_BENCHMARKS[benchmark]
    (root / "gt/seqmaps").mkdir(parents=True, exist_ok=True)
    (root / "gt/seqmaps" / f"{benchmark}-train.txt").write_text("name\n" + "".join(f"{n}\n" for n in names))
    for name in names:
        length, gt_rows, trk_rows = SYNTH_SEQUENCES[name]
        (gt_fol / name / "gt").mkdir(parents=True)
        (gt_fol / name / "seqinfo.ini").write_text(f"[Sequence]\nname={name}\nseqLength={length}\n")
        (gt_fol / name / "gt/gt.txt").write_text("".join(f"{r}\n" for r in gt_rows))
        (trk_fol / SYNTH_TRACKER / "data").mkdir(parents=True, exist_ok=True)
        (trk_fol / SYNTH_TRACKER / "data" / f"{name}.txt").write_text("".join(f"{r}\n" for r in trk_rows))


@pytest.fixture(scope="module", params=sorted(SYNTH_BENCHMARKS))
def synthetic(request, tmp_path_factory):
    """TrackEval on a synthetic benchmark: (our-contract results, TrackEval out dir)."""
    root = tmp_path_factory.mktemp(f"synthetic_{request.param}")
    write_synthetic(root, request.param)
    raw = run_trackeval(root / "gt", root / "trackers", request.param, SYNTH_TRACKER, FAMILIES, root / "out")
    return to_contract(raw), root / "out" / SYNTH_TRACKER


# --------------------------------------------------------------------------------------------------
# Byte-for-byte parity of the two TrackEval files


def read_exact(path: Path) -> str:
    """A file's text with its line endings untouched (TrackEval writes \\r\\n)."""
    return path.read_bytes().decode("utf-8")


def assert_same_files(ours: Path, theirs: Path) -> None:
    """Both TrackEval files are byte-identical; on failure show the first differing field."""
    for name in ("pedestrian_summary.txt", "pedestrian_detailed.csv"):
        mine, ref = (ours / name).read_bytes(), (theirs / name).read_bytes()
        if mine != ref:
            pairs = zip(mine.decode().splitlines(), ref.decode().splitlines(), strict=False)
            first = next(((a, b) for a, b in pairs if a != b), ("<length>", "<length>"))
            cells = [
                (i, a, b)
                for i, (a, b) in enumerate(zip(first[0].split(","), first[1].split(","), strict=False))
                if a != b
            ]
            pytest.fail(f"{name} differs from TrackEval's; first differing line, cells: {cells[:5]}")


def test_full_metrics_files_match_trackeval(mot15, tmp_path):
    results, trackeval_out = mot15(FAMILIES)
    folder = tmp_path / "new" / "folder"  # created by the writer
    written = report.write_tracker_outputs(folder, results, ["HOTA", "CLEAR", "Identity"])
    assert [p.name for p in written] == ["pedestrian_summary.txt", "pedestrian_detailed.csv"]
    assert_same_files(folder, trackeval_out)
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in written)  # no temp files


def test_hota_only_files_match_trackeval(mot15, tmp_path):
    results, trackeval_out = mot15(("HOTA",))
    report.write_tracker_outputs(tmp_path / "a", results, ["HOTA"])  # Count is implied, as in TrackEval
    report.write_tracker_outputs(tmp_path / "b", results, ["hota", "Count"])
    assert_same_files(tmp_path / "a", trackeval_out)
    assert_same_files(tmp_path / "b", trackeval_out)


def test_subset_of_richer_results(mot15):
    """Asking for fewer families than the results hold gives TrackEval's output for that subset."""
    full, _ = mot15(FAMILIES)
    _, hota_out = mot15(("HOTA",))
    assert report.detailed_csv_text(full, ["HOTA"]) == read_exact(hota_out / "pedestrian_detailed.csv")
    assert report.summary_text(full[F.COMBINED], ["HOTA"]) == read_exact(hota_out / "pedestrian_summary.txt")


def test_metrics_none_means_present_families(mot15):
    results, trackeval_out = mot15(FAMILIES)
    assert report.summary_text(results[F.COMBINED]) == read_exact(trackeval_out / "pedestrian_summary.txt")


def test_early_exit_files_match_trackeval(synthetic, tmp_path):
    """Early exits leave int 0s in TrackEval's CSV ("0", not "0.0"); the writer re-derives them."""
    results, trackeval_out = synthetic
    report.write_tracker_outputs(tmp_path, results, FAMILIES)
    assert_same_files(tmp_path, trackeval_out)


def test_file_format_quirks(synthetic):
    """The quirks the writer reproduces, spelled out on the synthetic benchmark."""
    results, _ = synthetic
    text = report.detailed_csv_text(results, FAMILIES)
    assert text.endswith("\r\n") and "\r\n" in text.split("\n", 1)[0] + "\n"
    header, *rows = [line.split(",") for line in text.splitlines()]
    table = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert header[4:6] == ["HOTA___5", "HOTA___10"] and "HOTA___AUC" in header and "Frames" not in header
    if "b-no-tracker" in table:
        assert table["b-no-tracker"]["MOTA"] == "0" and table["b-no-tracker"]["MLR"] == "1.0"
        assert table["b-no-tracker"]["HOTA(0)"] == "0" and table["b-no-tracker"]["LocA(0)"] == "1.0"
    if "d-no-match" in table:  # evaluated normally but nothing matched
        assert table["d-no-match"]["Frag"] == "0.0" and table["d-no-match"]["MOTP_sum"] == "0"


# --------------------------------------------------------------------------------------------------
# Summary numbers and console tables


def parse_trackeval_tables(stdout: str) -> dict[tuple[str, str], str]:
    """TrackEval's printed tables -> {(row label, field): printed cell}."""
    cells: dict[tuple[str, str], str] = {}
    fields: list[str] = []
    for line in stdout.splitlines():
        family = next((m for m in F.METRIC_NAMES if line.startswith(f"{m}: ")), None)
        if family:
            fields = list(F.SUMMARY_FIELDS[family])
        elif fields and line.strip():
            label, *values = line.split()
            if len(values) == len(fields):
                cells.update({(label, field): value for field, value in zip(fields, values, strict=True)})
    return cells


def table_cells(text: str) -> dict[tuple[str, str], str]:
    """Our table -> {(row label, field): cell}; header rows start with "Sequence", rules with "-"."""
    cells: dict[tuple[str, str], str] = {}
    fields: list[str] = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:  # a blank line ends a block
            fields = []
        elif parts[0] == "Sequence":
            fields = parts[1:]
        elif fields and len(parts) == len(fields) + 1:
            cells.update({(parts[0], field): value for field, value in zip(fields, parts[1:], strict=True)})
    return cells


def test_summary_values_are_raw_means(mot15):
    results, _ = mot15(FAMILIES)
    values = report.summary_values(results[F.COMBINED], FAMILIES)
    assert list(values) == [f for m in F.METRIC_NAMES for f in F.SUMMARY_FIELDS[m]]
    hota = results[F.COMBINED]["HOTA"]
    assert values["HOTA"] == float(np.mean(hota["HOTA"])) and 0 < values["HOTA"] < 1
    assert values["HOTA(0)"] == hota["HOTA(0)"]
    assert type(values["IDSW"]) is int and type(values["Frag"]) is int and type(values["MOTA"]) is float


def test_tables_show_trackeval_printed_values(mot15):
    results, trackeval_out = mot15(FAMILIES)
    printed = parse_trackeval_tables((trackeval_out.parent / "stdout.txt").read_text())
    assert len(printed) == 3 * sum(len(F.SUMMARY_FIELDS[m]) for m in F.METRIC_NAMES)
    for full in (False, True):
        text = report.format_table(results, FAMILIES, TRACKER, full=full)
        ours = table_cells(text)
        assert ours and all(printed[key] == value for key, value in ours.items())
        assert max(len(line) for line in text.splitlines()) <= report.TABLE_WIDTH
        assert TRACKER in text.splitlines()[0]
        assert text.splitlines()[-1].startswith(F.COMBINED)
    assert set(table_cells(report.format_table(results, FAMILIES, TRACKER, full=True))) == set(printed)


def test_compact_table_layout(mot15):
    results, _ = mot15(FAMILIES)
    lines = report.format_table(results, FAMILIES, TRACKER).splitlines()
    assert lines[1].split() == ["Sequence", *(field for _, field in report.TABLE_COLUMNS)]
    assert [line.split()[0] for line in lines[2:]] == [
        "TUD-Campus",
        "TUD-Stadtmitte",
        "-" * len(lines[1]),
        F.COMBINED,
    ]
    hota_only = report.format_table(results, ["HOTA"], TRACKER).splitlines()
    assert hota_only[1].split() == ["Sequence", "HOTA", "DetA", "AssA", "LocA"]


def test_synthetic_tables_render(synthetic):
    results, _ = synthetic
    text = report.format_table(results, None, SYNTH_TRACKER, full=True)
    assert all(len(line) <= report.TABLE_WIDTH for line in text.splitlines())


# --------------------------------------------------------------------------------------------------
# JSON and argument handling


def assert_same_results(a, b) -> None:
    """Exact equality of two result structures, types included (int stays int, arrays float64)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for key in a:
            assert_same_results(a[key], b[key])
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and b.dtype == np.float64 and np.array_equal(a, b)
    else:
        assert type(a) is type(b) and a == b


def test_json_round_trip(synthetic, tmp_path):
    results, _ = synthetic
    structure = {SYNTH_TRACKER: results}
    path = report.write_json(tmp_path / "sub" / "results.json", structure)
    loaded = json.loads(path.read_text())
    assert loaded[SYNTH_TRACKER][F.COMBINED]["HOTA"]["HOTA"] == results[F.COMBINED]["HOTA"]["HOTA"].tolist()
    assert_same_results(structure, report.read_json(path))
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]  # no temporary file left behind


def test_json_accepts_numpy_scalars(tmp_path):
    structure = {"t": {F.COMBINED: {"Count": {"Dets": np.int64(3)}, "CLEAR": {"Frag": np.float64(2.0)}}}}
    loaded = report.read_json(report.write_json(tmp_path / "r.json", structure))
    assert loaded == {"t": {F.COMBINED: {"Count": {"Dets": 3}, "CLEAR": {"Frag": 2.0}}}}


def test_resolve_metrics():
    assert report.resolve_metrics(["identity", "HOTA"]) == ("HOTA", "Identity", "Count")
    assert report.resolve_metrics(None, ["Count", "CLEAR", "VACE"]) == ("CLEAR", "Count")
    with pytest.raises(ValueError, match="VACE"):
        report.resolve_metrics(["VACE"])


def test_missing_family_or_combined_is_a_clear_error(synthetic):
    results, _ = synthetic
    without_clear = {seq: {m: r for m, r in res.items() if m != "CLEAR"} for seq, res in results.items()}
    with pytest.raises(KeyError, match="CLEAR"):
        report.detailed_csv_text(without_clear, ["CLEAR"])
    with pytest.raises(KeyError, match=F.COMBINED):
        report.format_table({k: v for k, v in results.items() if k != F.COMBINED}, None, "t")
