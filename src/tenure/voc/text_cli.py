"""`tenure voc sentiment` and `tenure voc themes`: score or group the texts of any CSV/TSV file.

Both read FILE (comma-separated, or tab-separated when the name ends in .tsv/.tab), take the text
from --text-col and the row id from --id-col (default: the row number, 1 = first data row), decode
HTML entities (&amp;, &#039;, ...) and write OUT.csv, so a user can check the model against their own
labelled data."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import typer

from tenure.errors import InputError


def read_texts(path: Path, text_col: str, id_col: str | None) -> tuple[list, list[str]]:
    """(ids, texts) of a CSV/TSV file; errors name the file and the column."""
    if not path.exists():
        raise InputError(f"{path}: no such file; pass the CSV or TSV file holding the texts")
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: cannot read it as {'TSV' if sep == chr(9) else 'CSV'} ({err}); "
                         f"save it as UTF-8 with a header row") from err
    for flag, col in (("--text-col", text_col), ("--id-col", id_col)):
        if col is not None and col not in frame.columns:
            raise InputError(f"{path}: no column {col!r} (given as {flag}); columns are "
                             f"{', '.join(map(repr, frame.columns))}")
    texts = [html.unescape(t) for t in frame[text_col].tolist()]
    ids = frame[id_col].tolist() if id_col else list(range(1, len(frame) + 1))
    if id_col:
        dup = frame[id_col][frame[id_col].duplicated()]
        if len(dup):
            row = int(dup.index[0]) + 2  # 1 = header
            raise InputError(f"{path}: row {row}, column {id_col!r}: id {dup.iloc[0]!r} appears more than "
                             f"once; ids must be unique (or leave out --id-col to number the rows)")
    return ids, texts


def _pct(part: int, whole: int) -> str:
    return f"{(part / whole * 100 if whole else 0):.1f}%"


def sentiment_command(
    file: Path = typer.Argument(..., help="CSV (or .tsv) file holding the texts"),
    text_col: str = typer.Option(..., "--text-col", help="column holding the text"),
    id_col: str = typer.Option(None, "--id-col", help="column holding each row's id (default: row number)"),
    out: Path = typer.Option(..., "--out", help="CSV to write: id, sentiment (-1..1), label"),
) -> None:
    """Score each text's sentiment in [-1, 1] and label it negative / neutral / positive (offline)."""
    from tenure.voc.sentiment import label, score

    ids, texts = read_texts(file, text_col, id_col)
    s = score(texts)
    labels = label(s)
    result = pd.DataFrame({"id": ids, "sentiment": s.round(4), "label": labels})
    out.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(out, index=False)
    n = len(result)
    counts = result["label"].value_counts()
    typer.echo(
        f"scored {n:,} texts from {file.name}: "
        + ", ".join(f"{_pct(int(counts.get(k, 0)), n)} {k}" for k in ("negative", "neutral", "positive"))
        + f"; mean sentiment {float(s.mean()) if n else 0.0:+.2f} -> {out}"
    )


def themes_command(
    file: Path = typer.Argument(..., help="CSV (or .tsv) file holding the texts"),
    text_col: str = typer.Option(..., "--text-col", help="column holding the text"),
    id_col: str = typer.Option(None, "--id-col", help="column holding each row's id (default: row number)"),
    out: Path = typer.Option(..., "--out", help="CSV to write: id, theme_id, theme_label"),
    k: int = typer.Option(None, "--k", min=1, help="number of themes (default: chosen by silhouette)"),
) -> None:
    """Group texts into themes (embeddings + k-means), each labelled by its keywords (offline, stable)."""
    from tenure.voc.themes import themes

    ids, texts = read_texts(file, text_col, id_col)
    result = themes(texts, ids, k=k)
    out.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(out, index=False)
    n = len(result)
    sizes = result.groupby(["theme_id", "theme_label"]).size().sort_index()
    typer.echo(f"{n:,} texts from {file.name} in {int((sizes.index.get_level_values(0) >= 0).sum())} themes -> {out}")
    for (tid, lab), size in sizes.items():
        typer.echo(f"  {tid:>3}  {size:>7,} ({_pct(int(size), n)})  {lab}")


def register(voc_app: typer.Typer) -> None:
    voc_app.command("sentiment")(sentiment_command)
    voc_app.command("themes")(themes_command)
