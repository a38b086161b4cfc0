"""`jianbao annotations …`: validate, stats, split, import/export, pre-annotate, check-norm.

Thin: the logic lives in pipeline.annotations and pipeline.labelstudio.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

ROOT_HELP = "the annotations/ directory (default: paths.annotations of the config)"


def _root(root: Optional[Path]) -> Path:
    from pipeline.annotations import annotations_root

    return annotations_root(root)


def _fmt(kind: str, path: Path) -> str:
    if kind != "auto":
        return kind
    return "label-studio" if path.suffix == ".json" else "doccano"


def _read_records(paths: list[Path], root: Path, split: Optional[str]) -> list[dict]:
    from pipeline.annotations import batch_files, load_split, read_jsonl

    if split:
        if paths:
            raise typer.BadParameter("give either --split or input files, not both")
        return load_split(root, split)
    files = paths or batch_files(root)
    return [rec for f in files for rec in read_jsonl(f)]


def register(app: typer.Typer, bench: typer.Typer) -> None:
    ann = typer.Typer(no_args_is_help=True, help="The annotated corpus: validate, stats, split, import/export.")
    app.add_typer(ann, name="annotations")

    @ann.command("validate")
    def validate(paths: Optional[list[Path]] = typer.Argument(None, help="files or folders (default: all of annotations/)"),
                 root: Optional[Path] = typer.Option(None, "--root", help=ROOT_HELP),
                 no_norm: bool = typer.Option(False, "--no-norm", help="norm is optional (training data)")) -> None:
        """Check every mechanically checkable rule of ANNOTATION.md; exit 1 on any problem."""
        from pipeline.annotations import validate_paths

        problems = validate_paths(paths or None, _root(root), require_norm=not no_norm)
        errors = [p for p in problems if not p.warning]
        for p in problems:
            typer.echo(str(p))
        typer.echo(f"{len(errors)} problems, {len(problems) - len(errors)} warnings")
        raise typer.Exit(1 if errors else 0)

    @ann.command("stats")
    def stats(root: Optional[Path] = typer.Option(None, "--root", help=ROOT_HELP),
              as_json: bool = typer.Option(False, "--json", help="print JSON instead of tables")) -> None:
        """Passages, sources, provinces, years, entities per label, relations per type, per split."""
        from pipeline.annotations import SPLITS, corpus_stats

        st = corpus_stats(_root(root))
        if as_json:
            typer.echo(json.dumps(st, ensure_ascii=False, indent=1))
            return
        from rich.console import Console
        from rich.table import Table

        con = Console()
        splits = [s for s in (*SPLITS, "unassigned") if s in st["splits"]]
        t = Table(title="annotations")
        t.add_column("")
        t.add_column("all", justify="right")
        for s in splits:
            t.add_column(s, justify="right")
        for key in ("passages", "sources", "characters", "entities", "relations"):
            t.add_row(key, str(st[key]), *(str(st["splits"][s][key]) for s in splits))
        t.add_section()
        for lab, n in st["labels"].items():
            t.add_row(lab, str(n), *(str(st["splits"][s]["labels"][lab]) for s in splits))
        t.add_section()
        for typ, n in st["relation_types"].items():
            t.add_row(typ, str(n), *(str(st["splits"][s]["relation_types"][typ]) for s in splits))
        con.print(t)
        for key, title in (("provinces", "provinces (sources)"), ("years", "years (sources)"),
                           ("doc_types", "document types (sources)")):
            tt = Table(title=f"{title}: {len(st[key])}")
            tt.add_column(key[:-1])
            tt.add_column("sources", justify="right")
            for k, n in st[key].items():
                tt.add_row(k, str(n))
            con.print(tt)
        con.print(f"{st['files']} batch files; {st['quantities_with_norm']}/{st['quantities']} quantities carry norm")

    @ann.command("split")
    def split(root: Optional[Path] = typer.Option(None, "--root", help=ROOT_HELP),
              dry_run: bool = typer.Option(False, "--dry-run", help="show, do not write splits.json")) -> None:
        """Assign new sources to train/dev/test (~70/15/15 by source); existing assignments are kept."""
        from collections import Counter

        from pipeline.annotations import SPLITS, update_splits

        r = _root(root)
        data, new = update_splits(r, write=not dry_run)
        counts = Counter(data["sources"].values())
        total = sum(counts.values()) or 1
        for src in new:
            typer.echo(f"{data['sources'][src]:5} {src}")
        typer.echo(f"{len(new)} new sources; " + ", ".join(
            f"{s} {counts[s]} ({counts[s] / total:.0%})" for s in SPLITS)
            + ("" if dry_run else f"; written to {r / 'splits.json'}"))

    @ann.command("export")
    def export(out: Path = typer.Argument(..., help="OUT.json (Label Studio) or OUT.jsonl (doccano)"),
               inputs: Optional[list[Path]] = typer.Argument(None, help="doccano JSONL files (default: annotations/batches)"),
               split_: Optional[str] = typer.Option(None, "--split", help="only this split"),
               fmt: str = typer.Option("auto", "--format", help="label-studio | doccano | auto (by extension)"),
               kind: str = typer.Option("annotations", "--as", help="annotations | predictions (Label Studio)"),
               root: Optional[Path] = typer.Option(None, "--root", help=ROOT_HELP)) -> None:
        """Export records to Label Studio tasks (or doccano relation JSONL)."""
        from pipeline.annotations import write_jsonl
        from pipeline.labelstudio import records_to_tasks, write_tasks

        recs = _read_records(list(inputs or []), _root(root), split_)
        if _fmt(fmt, out) == "label-studio":
            n = write_tasks(out, records_to_tasks(recs, kind))
        else:
            n = write_jsonl(out, recs)
        typer.echo(f"{n} records -> {out}")

    @ann.command("import")
    def import_(src: Path = typer.Argument(..., help="a Label Studio JSON export or doccano JSONL"),
                out: Path = typer.Argument(..., help="OUT.jsonl in the native format"),
                fmt: str = typer.Option("auto", "--format", help="label-studio | doccano | auto (by extension)"),
                fill_norm: bool = typer.Option(False, "--fill-norm",
                                               help="compute missing norms with pipeline.normalise")) -> None:
        """Import Label Studio (or doccano) annotations into native records, validate them, write OUT."""
        from pipeline.annotations import read_jsonl, validate_record, write_jsonl
        from pipeline.labelstudio import LabelStudioError, read_tasks, task_to_record

        try:
            if _fmt(fmt, src) == "label-studio":
                recs = [task_to_record(t) for t in read_tasks(src)]
            else:
                recs = list(read_jsonl(src))
        except (ValueError, LabelStudioError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1)
        filled, refused = 0, []
        if fill_norm:
            from pipeline.normalise import NormaliseError, normalise_quantity
            from pipeline.types import QUANTITY_LABELS

            for r in recs:
                for e in r.get("entities") or []:
                    if e.get("label") in QUANTITY_LABELS and e.get("norm") is None:
                        s, t = e["start_offset"], e["end_offset"]
                        try:
                            e["norm"] = normalise_quantity(r["text"][s:t], e["label"], after=r["text"][t:t + 4])
                            filled += 1
                        except NormaliseError as exc:
                            refused.append(f"{r.get('id')}: entity {e.get('id')}: {exc}")
        n = write_jsonl(out, recs)
        problems = [f"{r.get('id')}: {m}" for r in recs for m in validate_record(r)]
        for p in refused + problems:
            typer.echo(p)
        typer.echo(f"{n} records -> {out}" + (f"; {filled} norms filled, {len(refused)} refused" if fill_norm else "")
                   + f"; {len(problems)} problems")
        raise typer.Exit(1 if problems else 0)

    @ann.command("pre-annotate")
    def pre_annotate(src: Path = typer.Argument(..., help="IN.jsonl: records {id, text, meta}"),
                     out: Path = typer.Argument(..., help="OUT.jsonl (doccano) or OUT.json (Label Studio predictions)"),
                     fmt: str = typer.Option("auto", "--format", help="label-studio | doccano | auto (by extension)")) -> None:
        """Run the current model over IN and write its predictions for an annotator to correct."""
        from pipeline.annotations import read_jsonl, write_jsonl
        from pipeline.config import get_settings
        from pipeline.types import Passage

        try:
            from pipeline.extract import ModelMissingError, load_extractor
        except ImportError as exc:
            typer.echo(f"error: no extractor available yet (pipeline.extract.load_extractor): {exc}", err=True)
            raise typer.Exit(2)
        try:
            extractor = load_extractor(get_settings())
        except ModelMissingError as exc:
            typer.echo(f"error: no trained model: {exc}", err=True)
            raise typer.Exit(2)
        passages = [Passage(id=str(r["id"]), text=r["text"], meta=dict(r.get("meta") or {})) for r in read_jsonl(src)]
        recs = [p.to_record() for p in extractor.extract(passages)]
        version = getattr(extractor, "version", None)
        if _fmt(fmt, out) == "label-studio":
            from pipeline.labelstudio import records_to_tasks, write_tasks

            n = write_tasks(out, records_to_tasks(recs, "predictions", model_version=version))
        else:
            n = write_jsonl(out, recs)
        failed = sum(1 for r in recs if r.get("error"))
        typer.echo(f"{n} records -> {out} (model {version}); {failed} failed")

    @ann.command("check-norm")
    def check_norm(paths: Optional[list[Path]] = typer.Argument(None, help="JSONL files (default: annotations/batches)"),
                   root: Optional[Path] = typer.Option(None, "--root", help=ROOT_HELP),
                   as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
        """Recompute every norm from its span with pipeline.normalise and report the differences."""
        from pipeline.annotations import check_norms, load_corpus, read_jsonl

        recs = [(f, r) for f in paths for r in read_jsonl(f)] if paths else load_corpus(_root(root))
        res = check_norms(recs)
        if as_json:
            typer.echo(json.dumps(res.to_dict(), ensure_ascii=False, indent=1))
            return
        for d in res.differ:
            typer.echo(f"differ  {d['file']}: {d['record']}: {d['entity']} {d['label']} {d['span']!r}: "
                       f"gold {json.dumps(d['gold'], ensure_ascii=False)} normalised "
                       f"{json.dumps(d['normalised'], ensure_ascii=False)}")
        for d in res.failed:
            typer.echo(f"refused {d['file']}: {d['record']}: {d['entity']} {d['label']} {d['span']!r}: "
                       f"gold {json.dumps(d['gold'], ensure_ascii=False)}: {d['reason']}")
        typer.echo(f"{res.quantities} quantities, {res.checked} with norm: {res.agree} agree, "
                   f"{len(res.differ)} differ, {len(res.failed)} not normalisable, {res.missing} without norm")
