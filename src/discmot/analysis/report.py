"""The embedding report as one self-contained HTML file: inline CSS, PNGs as base64 data URIs, no scripts.

The numbers table is generated from the same summary dictionary that is written as ``summary.json``, and
every number cell carries ``data-key`` (``<view>.<statistic>``) so a test can compare the two.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass

STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #bbb;padding:4px 10px;text-align:right}"
    "th{background:#eee}td:first-child{text-align:left}figure{margin:1.5em 0}"
    "figcaption{font-size:90%;color:#444;max-width:800px}img{border:1px solid #ddd}"
    ".caveat{border-left:4px solid #c60;background:#fff4e5;padding:6px 10px;max-width:800px}"
)

#: Statistics in the table, in order: (summary key, column title, format).
COLUMNS = (
    ("frames", "frames", "{:d}"),
    ("pairs", "different-object pairs", "{:d}"),
    ("above", "pairs above threshold", "{:d}"),
    ("fraction_above", "fraction above threshold", "{:.4f}"),
    ("mean_similarity", "mean cosine", "{:.4f}"),
)


@dataclass(frozen=True)
class Figure:
    """A PNG figure of the report: file name, title, caption and the PNG bytes."""

    name: str
    title: str
    caption: str
    png: bytes


def format_number(value, fmt: str) -> str:
    """``fmt`` applied to ``value``; NaN and None print as ``n/a``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return fmt.format(value)


def _table(summary: dict) -> str:
    threshold = summary["settings"]["similarity_threshold"]
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title, _ in COLUMNS)
    rows = []
    for view, stats in summary["views"].items():
        cells = "".join(
            f'<td data-key="{view}.{key}">{format_number(stats[key], fmt)}</td>' for key, _, fmt in COLUMNS
        )
        rows.append(
            f'<tr><td title="{html.escape(stats["description"])}">{html.escape(view)}</td>{cells}</tr>'
        )
    return (
        f"<p>Threshold: cosine &gt; {threshold:g}. Pairs are different objects in the same frame.</p>"
        f"<table><tr><th>embeddings</th>{head}</tr>{''.join(rows)}</table>"
    )


def reid_cell(rate: dict) -> str:
    """``"0.917 (0.104)"`` (rank-1, chance), or ``"n/a (<why>)"`` for a rate that could not be measured."""
    if rate["rank1"] is None:
        return f"n/a ({rate.get('reason') or 'no query'})"
    return f"{format_number(rate['rank1'], '{:.3f}')} ({format_number(rate['chance'], '{:.3f}')})"


def caveat_html(summary: dict) -> str:
    """The tracker-ids warning as a highlighted paragraph (empty with ground truth)."""
    caveat = summary.get("reid_caveat")
    return f'<p class="caveat"><b>Self-consistency only.</b> {html.escape(caveat)}</p>' if caveat else ""


def _reid_table(summary: dict) -> str:
    """Rank-1 re-identification per view and gap; cells ``data-key="<view>.reid.<lag>.rank1"``."""
    lags = summary["settings"]["reid_lags"]
    head = "".join(f"<th>gap {lag}</th>" for lag in lags)
    rows = []
    for view, stats in summary["views"].items():
        cells = "".join(
            f'<td data-key="{view}.reid.{r["lag"]}.rank1">{html.escape(reid_cell(r))}</td>'
            for r in stats["reid"]
        )
        rows.append(f"<tr><td>{html.escape(view)}</td>{cells}</tr>")
    return (
        "<p>Rank-1 re-identification: the most similar object that many frames earlier is the same "
        "object (in brackets: chance).</p>"
        f"{caveat_html(summary)}<table><tr><th>embeddings</th>{head}</tr>{''.join(rows)}</table>"
    )


def network_input_text(settings: dict) -> str:
    """``"160x256 (h x w; given)"``, or the rule alone when the frame size was unknown."""
    size, origin = settings.get("input_size"), settings.get("input_size_origin") or "unknown"
    return f"{size[0]}x{size[1]} (h x w; {origin})" if size else origin


def _figure(figure: Figure) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    return (
        f"<figure><h3>{html.escape(figure.title)}</h3>"
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(figure.title)}">'
        f"<figcaption>{html.escape(figure.caption)}</figcaption></figure>"
    )


def render_html(summary: dict, figures: list[Figure]) -> str:
    """The whole report: title, provenance, the numbers table, the views' meaning, then the figures."""
    views = "".join(
        f"<li><b>{html.escape(v)}</b>: {html.escape(s['description'])}</li>"
        for v, s in summary["views"].items()
    )
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in summary.get("notes", []))
    provenance = (
        f"model <b>{html.escape(summary['model'])}</b>, "
        f"weights <code>{html.escape(summary['weights'])}</code>, "
        f"source <code>{html.escape(summary['source'])}</code>, network input "
        f"{html.escape(network_input_text(summary['settings']))}, identities from "
        f"{html.escape(summary['identities'])}"
        # which gt file: two reports of one video against different gt files must not read as the same
        + (f" in <code>{html.escape(summary['gt'])}</code>" if summary.get("gt") else "")
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>discmot embedding report</title><style>{STYLE}</style></head><body>"
        f"<h1>Embedding diagnostics</h1><p>{provenance}</p>"
        f"<h2>Numbers</h2>{_table(summary)}{_reid_table(summary)}"
        f"<ul>{views}</ul>{f'<h2>Notes</h2><ul>{notes}</ul>' if notes else ''}<h2>Figures</h2>"
        + "".join(_figure(f) for f in figures)
        + "</body></html>\n"
    )
