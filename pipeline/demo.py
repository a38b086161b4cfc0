"""`jianbao demo`: the main job on the example bulletins with the embedded defaults.

It loads and parses every file in ``paths.examples``, prints each structure summary (plus sentence/token
counts when the segmenter is available), then extracts the facts with the current model, ingests them into
the configured store and prints the facts table. Each stage after parsing is a step in ``DEMO_STEPS``
(``step(ctx: DemoContext) -> None``, run in order).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from pipeline.config import Settings
    from pipeline.loaders import LoadError
    from pipeline.types import Document


@dataclass
class DemoContext:
    settings: "Settings"
    console: "Console"
    documents: list["Document"] = field(default_factory=list)
    errors: list["LoadError"] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # for later steps to share results


DemoStep = Callable[[DemoContext], None]
DEMO_STEPS: list[DemoStep] = []


def demo_step(fn: DemoStep) -> DemoStep:
    """Decorator: append a step to the demo (later stages: extraction, knowledge store …)."""
    DEMO_STEPS.append(fn)
    return fn


def parse_examples(settings: "Settings", console: "Console") -> DemoContext:
    from pipeline.loaders import LoadError, iter_documents

    ctx = DemoContext(settings=settings, console=console)
    root = settings.resolve(settings.paths.examples)
    if not root.is_dir():
        console.print(f"[red]error:[/red] {root}: examples directory not found (paths.examples)")
        return ctx
    for path, result in iter_documents(root, settings):
        if isinstance(result, LoadError):
            ctx.errors.append(result)
            console.print(f"[red]error:[/red] {result}")
        else:
            ctx.documents.append(result)
    return ctx


def print_structure(ctx: DemoContext) -> None:
    from rich.table import Table
    from rich.tree import Tree

    console = ctx.console
    table = Table(title=f"{len(ctx.documents)} bulletins parsed from {ctx.settings.paths.examples}",
                  padding=(0, 0, 0, 1))
    table.add_column("file", overflow="fold", max_width=22)
    for col in ("date", "region", "period"):
        table.add_column(col, no_wrap=True, min_width=6 if col == "region" else None)
    table.add_column("§/¶", justify="right", no_wrap=True, min_width=5)
    for d in ctx.documents:
        table.add_row(Path(d.path).name, d.date or "—", d.region or "—", d.period or "—",
                      f"{len(d.sections)}/{len(d.paragraphs)}")
    console.print(table)
    for d in ctx.documents:
        tree = Tree(f"[bold]{Path(d.path).name}[/bold]  ({len(d.raw)} characters)")
        fields = [("title", d.title), ("issue", d.issue), ("total_issue", d.total_issue),
                  ("special_issue", d.special_issue), ("special_issue_number", d.special_issue_number),
                  ("issuer", d.issuer), ("headline", d.headline), ("subheadline", d.subheadline),
                  ("print_date", d.print_date)]
        tree.add("  ".join(f"[cyan]{k}[/cyan]={v}" for k, v in fields if v is not None))
        if d.cc or d.distribution:
            tree.add(f"[cyan]cc[/cyan]={'；'.join(d.cc) or '—'}  [cyan]distribution[/cyan]={len(d.distribution)} names")
        for s in d.sections:
            node = tree.add(f"{s.heading or '(lead)'}  [dim]{len(s.paragraphs)} ¶[/dim]")
            for p in s.paragraphs[:1]:
                snippet = p.text if len(p.text) <= 30 else p.text[:30] + "…"
                node.add(f"[dim]{p.start}-{p.end}[/dim] {snippet}")
        console.print(tree)


@demo_step
def segmentation_counts(ctx: DemoContext) -> None:
    """Sentences and tokens per bulletin (skipped with a note when the segmenter is not set up)."""
    from pipeline.segment import SegmentError, segment_document

    if not ctx.documents:
        return
    try:
        counts = []
        for d in ctx.documents:
            per_par = segment_document(d, ctx.settings)
            sents = sum(len(s) for s in per_par)
            toks = sum(len(x.tokens) for s in per_par for x in s)
            counts.append((Path(d.path).name, sents, toks))
    except SegmentError as exc:
        ctx.console.print(f"[yellow]segmentation skipped:[/yellow] {exc}")
        return
    ctx.extra["segmentation"] = counts
    ctx.console.print(f"segmentation ({ctx.settings.segment.backend}): " +
                      "; ".join(f"{name}: {s} sentences, {t} tokens" for name, s, t in counts))


@demo_step
def ingest_and_show_facts(ctx: DemoContext) -> None:
    """Extract with the current model, write the facts into the default store, print them."""
    from pipeline.cli_store import TABLE_COLUMNS, _table_view, write_rows
    from pipeline.extract import ModelMissingError, load_extractor
    from pipeline.ingest import ingest_paths, open_store

    if not ctx.documents:
        return
    try:
        extractor = load_extractor(ctx.settings)
    except ModelMissingError as exc:
        ctx.console.print(f"[yellow]extraction skipped:[/yellow] {exc}")
        return
    store = open_store(ctx.settings.store.url, ctx.settings)
    try:
        summary = ingest_paths([Path(d.path) for d in ctx.documents], store, extractor, ctx.settings)
        ctx.console.print(f"ingested into {ctx.settings.store.url} (model {summary.model_version}): "
                          f"{summary.new} new, {summary.replaced} replaced, {summary.unchanged} unchanged, "
                          f"{summary.failed} failed; {summary.facts} facts written")
        for failure in summary.failures:
            ctx.console.print(f"[red]failed[/red] {failure.path}: {failure.error}")
        rows = store.facts()
    finally:
        store.close()
    ctx.extra["facts"] = rows
    write_rows(_table_view(rows), TABLE_COLUMNS, "table", None, title=f"{len(rows)} facts in the store",
               table_columns=TABLE_COLUMNS)


def run_demo(settings: "Settings", console: "Console | None" = None) -> int:
    """Parse the examples, print their structure, run the registered steps; 0 when at least one parsed."""
    if console is None:
        from rich.console import Console

        console = Console()
    ctx = parse_examples(settings, console)
    if ctx.documents:
        print_structure(ctx)
    for step in DEMO_STEPS:
        step(ctx)
    if ctx.errors:
        console.print(f"[yellow]{len(ctx.errors)} file(s) could not be loaded[/yellow]")
    return 0 if ctx.documents else 1
