"""CLI commands of this area (registered by pipeline.cli): setup, parse, demo, bench parse.

Every failure is one clear line on stderr and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import typer


from pipeline.cli_util import fail as _fail
from pipeline.cli_util import settings as _settings


def _guard(fn: Callable[[], Any]) -> Any:
    """Run fn; known errors become one line, unknown ones too (with their type)."""
    from pipeline.loaders import LoadError
    from pipeline.segment import SegmentError, SetupError

    try:
        return fn()
    except typer.Exit:
        raise
    except (LoadError, SegmentError, SetupError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:  # noqa: BLE001 - the CLI promises no tracebacks
        _fail(f"{type(exc).__name__}: {exc}")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @app.command()
    def setup() -> None:
        """Fetch and cache the pkuseg segmentation model (idempotent; instant when cached)."""
        settings = _settings()

        def run() -> None:
            from pipeline.segment import setup_pkuseg, user_dict_path

            user_dict_path(settings)  # fails clearly when the configured dictionary is missing
            if settings.segment.backend == "jieba":
                typer.echo("segment.backend = jieba: no model to fetch")
                return
            path = setup_pkuseg(settings, log=lambda s: typer.echo(s, err=True))
            typer.echo(f"pkuseg model ready: {path}")

        _guard(run)

    @app.command()
    def parse(file: Path = typer.Argument(..., help="a bulletin: .txt, .docx, .pdf or .html (detected by content)"),
              as_json: bool = typer.Option(False, "--json", help="print the Document as JSON"),
              raw: bool = typer.Option(False, "--raw", help="with --json: include the raw text")) -> None:
        """Load one bulletin and print its structure (header fields, sections, paragraphs, distribution)."""
        settings = _settings()

        def run() -> None:
            from pipeline.loaders import load_text
            from pipeline.structure import parse_document

            text = load_text(file, settings)
            doc = parse_document(text, path=str(file))
            if as_json:
                sys.stdout.write(json.dumps(doc.to_dict(with_raw=raw), ensure_ascii=False, indent=2) + "\n")
            else:
                print_document(doc)

        _guard(run)

    @app.command()
    def demo() -> None:
        """The main job on the example bulletins (for now: parse them and print their structure)."""
        settings = _settings()

        def run() -> int:
            from pipeline.demo import run_demo

            return run_demo(settings)

        code = _guard(run)
        if code:
            _fail("no example bulletin could be parsed", code)

    @bench.command("parse")
    def bench_parse(min_mb: float = typer.Option(1.0, "--min-mb", help="repeat the examples to at least this much text"),
                    segment: bool = typer.Option(True, "--segment/--no-segment", help="also time segmentation"),
                    as_json: bool = typer.Option(False, "--json", help="print the numbers as JSON")) -> None:
        """Characters per second for load + structure (+ segmentation) over the examples, and peak memory."""
        settings = _settings()
        _guard(lambda: run_bench_parse(settings, min_mb, segment, as_json))


def print_document(doc: Any) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.tree import Tree

    console = Console()
    t = Table(title=doc.path, show_header=False)
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")
    for name in ("title", "issue", "total_issue", "special_issue", "special_issue_number", "issuer", "date", "headline",
                 "subheadline", "region", "period", "print_date"):
        v = getattr(doc, name)
        t.add_row(name, "—" if v is None else str(v))
    t.add_row("cc", "；".join(doc.cc) or "—")
    t.add_row("distribution", "；".join(doc.distribution) or "—")
    console.print(t)
    tree = Tree(f"[bold]{len(doc.sections)} sections, {len(doc.paragraphs)} paragraphs, {len(doc.raw)} characters[/bold]")
    for s in doc.sections:
        node = tree.add(f"[bold]{s.heading or '(no heading)'}[/bold]")
        for p in s.paragraphs:
            snippet = p.text if len(p.text) <= 60 else p.text[:60] + "…"
            mended = " [yellow](mended)[/yellow]" if doc.raw[p.start:p.end] != p.text else ""
            node.add(f"[dim][{p.start}:{p.end}][/dim]{mended} {snippet}")
    console.print(tree)


def _rss_mb() -> float:
    import resource

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0  # Linux reports KiB


def run_bench_parse(settings: Any, min_mb: float, segment: bool, as_json: bool) -> None:
    import time
    import tracemalloc

    clock = time.process_time  # CPU seconds of this process: the one-core rate, whatever else runs

    from pipeline.loaders import LoadError, expand_paths, load_text
    from pipeline.structure import parse_document

    root = settings.resolve(settings.paths.examples)
    files = []
    texts: list[str] = []
    for p in expand_paths(root):
        try:
            texts.append(load_text(p, settings))
            files.append(p)
        except LoadError:
            continue
    if not files:
        raise RuntimeError(f"{root}: no loadable example bulletins to benchmark")
    target = int(min_mb * 1_000_000)
    reps = 1
    per_rep = sum(len(t.encode("utf-8")) for t in texts)
    while reps * per_rep < target:
        reps += 1
    work = files * reps
    rows: list[dict[str, Any]] = []

    # 1. load + structure, from disk
    t0 = clock()
    docs = []
    chars = 0
    for p in work:
        text = load_text(p, settings)
        chars += len(text)
        docs.append(parse_document(text, path=str(p)))
    t_load = clock() - t0
    rows.append({"stage": "load + structure", "chars": chars, "seconds": t_load, "target": None, "rss_mb": _rss_mb()})

    # 2. structure alone (texts in memory), with Python allocation peak
    mem_texts = texts * reps
    t0 = clock()
    for text in mem_texts:
        parse_document(text)
    t_struct = clock() - t0
    tracemalloc.start()
    for text in texts:
        parse_document(text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows.append({"stage": "structure", "chars": chars, "seconds": t_struct, "target": 100_000, "rss_mb": _rss_mb(),
                 "peak_alloc_mb_per_doc": peak / 1e6})

    load_s = None
    if segment:
        from pipeline.segment import clear_feature_caches, get_nlp, segment_paragraphs

        t0 = time.perf_counter()
        get_nlp(settings)
        load_s = time.perf_counter() - t0
        n_tok = 0
        t_seg = 0.0
        for r in range(reps):  # caches emptied before each repetition: every pass sees the texts as new
            clear_feature_caches(settings)
            pars = [p for d in docs[r * len(files):(r + 1) * len(files)] for p in d.paragraphs]
            t0 = clock()
            for sents in segment_paragraphs(pars, settings):
                n_tok += sum(len(s.tokens) for s in sents)
            t_seg += clock() - t0
        rows.append({"stage": f"segmentation ({settings.segment.backend})", "chars": chars, "seconds": t_seg,
                     "target": None, "rss_mb": _rss_mb(), "tokens": n_tok})
        rows.append({"stage": "load + structure + segmentation", "chars": chars, "seconds": t_load + t_seg,
                     "target": 30_000, "rss_mb": _rss_mb()})
    for r in rows:
        r["chars_per_s"] = r["chars"] / r["seconds"] if r["seconds"] > 0 else float("inf")
    info = {"files": len(files), "repetitions": reps, "utf8_bytes": per_rep * reps, "characters": chars,
            "model_load_seconds": load_s, "peak_rss_mb": _rss_mb(), "stages": rows}
    if as_json:
        sys.stdout.write(json.dumps(info, ensure_ascii=False, indent=2) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"bench parse: {len(files)} example files × {reps} = {chars:,} characters "
                        f"({per_rep * reps / 1e6:.2f} MB UTF-8), one process, one core")
    for col in ("stage", "chars/s", "CPU s", "target", "peak RSS (MB)"):
        table.add_column(col, justify="right" if col != "stage" else "left")
    for r in rows:
        ok = ""
        if r["target"]:
            ok = f"≥ {r['target']:,} " + ("[green]✓[/green]" if r["chars_per_s"] >= r["target"] else "[red]✗[/red]")
        table.add_row(r["stage"], f"{r['chars_per_s']:,.0f}", f"{r['seconds']:.2f}", ok, f"{r['rss_mb']:.0f}")
    console = Console()
    console.print(table)
    extra = f"Python allocation peak while parsing one pass of the examples: {rows[1]['peak_alloc_mb_per_doc']:.1f} MB"
    if load_s is not None:
        extra += f"; segmenter load (once): {load_s:.1f} s"
    console.print(extra)
