"""CLI commands of the knowledge store (registered by pipeline.cli): `ingest`, `facts`, `facts summary`,
`bench ingest`."""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any, Optional

import typer

STORE_HELP = "store URL: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB (default: store.url of the config)"
FORMATS = ("table", "csv", "jsonl", "parquet")


from pipeline.cli_util import fail as _fail


def _open(url: Optional[str]):  # -> Store
    from pipeline.config import get_settings
    from pipeline.store import StoreError, open_store

    try:
        return open_store(url, get_settings())
    except StoreError as exc:
        _fail(str(exc))


def load_extractor_or_exit(settings: Any) -> Any:
    from pipeline.extract import ModelMissingError, load_extractor

    try:
        return load_extractor(settings)
    except ModelMissingError as exc:
        _fail(f"{exc}\n(train or install a model first; see `jianbao --help`)", 2)


def _date(s: Optional[str], end: bool) -> Optional[date]:
    """2021 → 2021-01-01 (or -12-31 for --until), 2021-06 → 2021-06-01 (or -30), 2021-06-15."""
    if not s:
        return None
    import calendar

    try:
        parts = [int(x) for x in s.strip().split("-")]
        if len(parts) == 1:
            return date(parts[0], 12, 31) if end else date(parts[0], 1, 1)
        if len(parts) == 2:
            return date(parts[0], parts[1], calendar.monthrange(parts[0], parts[1])[1] if end else 1)
        return date(parts[0], parts[1], parts[2])
    except (ValueError, IndexError):
        raise typer.BadParameter(f"{s!r}: a date as YYYY, YYYY-MM or YYYY-MM-DD") from None


def _filter(region, org, item, since, until, unit, document):  # type: ignore[no-untyped-def]
    from pipeline.store import FactFilter

    return FactFilter(region=region, org=org, item=item, since=_date(since, False), until=_date(until, True),
                      unit=unit, document=document)


def _plain(v: Any) -> Any:
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
        return int(v)
    return v


# ------------------------------------------------------------------------------------------------ output

PARQUET_TYPES = {"id": "int64", "paragraph": "int64", "start": "int64", "end": "int64", "value": "float64",
                 "max": "float64", "change": "float64", "parent_id": "int64", "time_start": "date32",
                 "time_end": "date32", "year": "int64", "month": "int64", "facts": "int64", "total": "float64",
                 "approx": "string"}


def write_rows(rows: list[dict[str, Any]], columns: list[str], fmt: str, output: Optional[Path],
               title: str = "", table_columns: Optional[list[str]] = None) -> None:
    """rows in one of FORMATS, to `output` or stdout (parquet needs a file)."""
    import csv
    import json

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format {fmt!r}: one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        if output is None:
            raise typer.BadParameter("--format parquet needs --output FILE")
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {"int64": pa.int64(), "float64": pa.float64(), "date32": pa.date32(), "string": pa.string()}
        schema = pa.schema([(c, types[PARQUET_TYPES.get(c, "string")]) for c in columns])
        data = [{c: (str(r[c]) if PARQUET_TYPES.get(c, "string") == "string" and r.get(c) is not None
                     and not isinstance(r[c], str) else r.get(c)) for c in columns} for r in rows]
        output.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(data, schema=schema), output)
        return
    out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if fmt == "csv":
            w = csv.writer(out)
            w.writerow(columns)
            for r in rows:
                w.writerow(["" if r.get(c) is None else _plain(r.get(c)) for c in columns])
        elif fmt == "jsonl":
            for r in rows:
                out.write(json.dumps({c: _plain(r.get(c)) for c in columns}, ensure_ascii=False) + "\n")
        else:
            from rich.console import Console
            from rich.table import Table

            cols = table_columns or columns
            t = Table(title=title or None, show_lines=False, header_style="bold")
            for c in cols:
                t.add_column(c, overflow="fold", justify="right" if c in ("value", "total", "facts", "change") else "left")
            for r in rows:
                t.add_row(*["" if r.get(c) is None else str(_plain(r.get(c))) for c in cols])
            tty = output is None and out.isatty()
            Console(file=out, width=None if tty else 240).print(t)  # a pipe or file: no wrapping at 80
    finally:
        if output:
            out.close()


TABLE_COLUMNS = ["id", "doc", "quantity", "value", "unit", "approx", "item", "agent", "region", "time", "change",
                 "part_of"]


def _table_view(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        v = dict(r)
        v["doc"] = Path(r["document"]).name
        v["quantity"] = r["surface"]
        if r.get("max") is not None:
            v["value"] = f"{_plain(r['value'])}–{_plain(r['max'])}"
        v["agent"] = r["organisation"] if r.get("organisation") else r.get("agent")
        ts, te = r.get("time_start"), r.get("time_end")
        v["time"] = "" if ts is None and te is None else (f"{_plain(ts)}" if ts == te else f"{_plain(ts)}..{_plain(te)}")
        if r.get("change") is not None:
            v["change"] = f"{_plain(r['change']):+}{'' if r.get('change_unit') in (None, '%') else ' '}{r.get('change_unit') or ''}"
        v["part_of"] = r.get("parent")
        out.append(v)
    return out


# -------------------------------------------------------------------------------------------------- bench


def make_bulletins(sources: list[Path], n: int, out_dir: Path, chars: int = 2500, seed: int = 0) -> list[Path]:
    """n bulletins recombined from the example bulletins: one example's header (with a new issue number and
    date) followed by sections and paragraphs drawn from all of them, about `chars` characters each."""
    import random
    import re

    from pipeline.loaders import load_text
    from pipeline.structure import parse_document

    rng = random.Random(seed)
    headers: list[str] = []
    blocks: list[str] = []
    for src in sources:
        doc = parse_document(load_text(src), path=str(src))
        paras = doc.paragraphs
        if not paras:
            continue
        headers.append(doc.raw[: paras[0].start].rstrip())
        for s in doc.sections:
            for i, p in enumerate(s.paragraphs):
                text = doc.raw[p.start:p.end]
                blocks.append(f"{s.heading}\n\n{text}" if i == 0 and s.heading else text)
    if not headers:
        raise RuntimeError("no example bulletin with paragraphs to recombine")
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for k in range(n):
        year = rng.choice((2019, 2020, 2021, 2022, 2023))
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        header = re.sub(r"第\s*\d+\s*期", f"第 {k + 1} 期", rng.choice(headers), count=1)
        header = re.sub(r"总第\s*\d+\s*期", f"总第 {k + 1001} 期", header, count=1)
        header = re.sub(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日", f"{year} 年 {month} 月 {day} 日", header, count=1)
        body: list[str] = []
        size = len(header)
        while size < chars:
            b = rng.choice(blocks)
            body.append(b)
            size += len(b) + 2
        path = out_dir / f"bench-{k:04d}.txt"
        path.write_text(header + "\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")
        files.append(path)
    return files


def bench_extractor(settings: Any) -> tuple[Any, str]:
    """The real extractor when a model is installed, else the gold-annotation extractor of the tests."""
    from pipeline import extract

    loader = getattr(extract, "load_extractor", None)
    if loader is not None:
        try:
            ex = loader(settings)
            return ex, f"model {ex.version}"
        except extract.ModelMissingError:
            pass
    import importlib.util

    from pipeline.config import ROOT

    spec = importlib.util.spec_from_file_location("gold_extractor", ROOT / "tests" / "gold_extractor.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("no model and no tests/gold_extractor.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ex = mod.GoldExtractor()
    return ex, f"gold annotations ({ex.version}; no trained model installed)"


def _median_ms(fn: Any, repeat: int = 7) -> float:
    import statistics
    import time

    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench_one(url: str, files: list[Path], extractor: Any, settings: Any) -> dict[str, Any]:
    import time

    from pipeline.ingest import ingest_paths
    from pipeline.store import FactFilter, open_store

    store = open_store(url, settings)
    try:
        t0 = time.perf_counter()
        summary = ingest_paths(files, store, extractor, settings, files=files)
        secs = time.perf_counter() - t0
        t1 = time.perf_counter()
        again = ingest_paths(files, store, extractor, settings, files=files)
        secs_again = time.perf_counter() - t1
        return {
            "documents": summary.documents, "failed": summary.failed, "facts": summary.facts, "seconds": secs,
            "docs_per_s": summary.documents / secs, "facts_per_s": summary.facts / secs,
            "unchanged_docs_per_s": again.documents / secs_again,
            "summary_region_ms": _median_ms(lambda: store.summary(by="region")),
            "summary_org_ms": _median_ms(lambda: store.summary(by="org", per="month")),
            "facts_query_ms": _median_ms(lambda: store.facts(FactFilter(region="江西省", item="事故"))),
            "errors": [r.error for r in summary.failures[:3]],
        }
    finally:
        store.close()


# ------------------------------------------------------------------------------------------------ commands


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @app.command("ingest")
    def ingest_cmd(
        paths: list[Path] = typer.Argument(..., help="bulletin files or folders (searched recursively)"),
        store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
        force: bool = typer.Option(False, "--force", help="re-extract documents even when unchanged"),
    ) -> None:
        """Load → structure → extract → facts → store; a broken file is reported and skipped."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.table import Table

        from pipeline.config import get_settings
        from pipeline.ingest import ingest_paths
        from pipeline.loaders import expand_paths

        settings = get_settings()
        console = Console(stderr=True)
        files = expand_paths(paths)
        if not files:
            _fail("no files found under " + ", ".join(map(str, paths)))
        extractor = load_extractor_or_exit(settings)
        st = _open(store)
        with Progress(TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=console, transient=True) as progress:
            task = progress.add_task("", total=len(files))

            def step(r: Any) -> None:
                if r.status == "failed":
                    progress.console.print(f"[red]failed[/red] {r.path}: {r.error}", highlight=False)
                progress.update(task, advance=1, description=Path(r.path).name)

            summary = ingest_paths(files, st, extractor, settings, force=force, progress=step, files=files)
        t = Table(title=f"ingest run {summary.run_id} · model {summary.model_version} · "
                        f"{st.engine.url.render_as_string(hide_password=True)}", header_style="bold")
        for c in ("documents", "new", "replaced", "unchanged", "failed", "facts written", "seconds"):
            t.add_column(c, justify="right")
        t.add_row(str(summary.documents), str(summary.new), str(summary.replaced), str(summary.unchanged),
                  str(summary.failed), str(summary.facts), f"{summary.seconds:.1f}")
        Console().print(t)
        st.close()
        if summary.failed and summary.failed == summary.documents:
            raise typer.Exit(1)

    facts_app = typer.Typer(help="Query the facts in the store.", invoke_without_command=True, no_args_is_help=False)
    app.add_typer(facts_app, name="facts")

    region_opt = typer.Option(None, "--region", help="place or a region above it: 江西省 finds 赣州市's facts")
    org_opt = typer.Option(None, "--org", help="part of an organisation's canonical name or alias")
    item_opt = typer.Option(None, "--item", help="part of the item text")
    since_opt = typer.Option(None, "--since", help="facts whose time reaches past YYYY[-MM[-DD]]")
    until_opt = typer.Option(None, "--until", help="facts whose time starts by YYYY[-MM[-DD]]")
    unit_opt = typer.Option(None, "--unit", help="exact unit: 起, 人, 元 …")
    doc_opt = typer.Option(None, "--document", help="part of the source path, or a sha256 prefix")
    fmt_opt = typer.Option("table", "--format", "-f", help="table | csv | jsonl | parquet")
    out_opt = typer.Option(None, "--output", "-o", help="write to FILE (required for parquet)")

    @facts_app.callback()
    def facts_cmd(
        ctx: typer.Context,
        store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
        region: Optional[str] = region_opt, org: Optional[str] = org_opt, item: Optional[str] = item_opt,
        since: Optional[str] = since_opt, until: Optional[str] = until_opt, unit: Optional[str] = unit_opt,
        document: Optional[str] = doc_opt, fmt: str = fmt_opt, output: Optional[Path] = out_opt,
        limit: Optional[int] = typer.Option(None, "--limit", help="at most N facts"),
    ) -> None:
        """Filtered facts (a rich table by default); `jianbao facts summary` for totals."""
        if ctx.invoked_subcommand is not None:
            return
        from pipeline.store import COLUMNS

        flt = _filter(region, org, item, since, until, unit, document)
        st = _open(store)
        try:
            rows = st.facts(flt, limit=limit)
        finally:
            st.close()
        if fmt == "table":
            rows = _table_view(rows)
        write_rows(rows, list(COLUMNS), fmt, output, title=f"{len(rows)} facts", table_columns=TABLE_COLUMNS)

    @facts_app.command("summary")
    def summary_cmd(
        store: Optional[str] = typer.Option(None, "--store", help=STORE_HELP),
        by: str = typer.Option("region", "--by", help="region | org"),
        per: str = typer.Option("year", "--per", help="year | month"),
        region: Optional[str] = region_opt, org: Optional[str] = org_opt, item: Optional[str] = item_opt,
        since: Optional[str] = since_opt, until: Optional[str] = until_opt, unit: Optional[str] = unit_opt,
        document: Optional[str] = doc_opt, fmt: str = fmt_opt, output: Optional[Path] = out_opt,
    ) -> None:
        """Totals (number of facts, sum of values) by region × item or organisation × item, per year or month."""
        if by not in ("region", "org"):
            raise typer.BadParameter("--by: region or org")
        if per not in ("year", "month"):
            raise typer.BadParameter("--per: year or month")
        flt = _filter(region, org, item, since, until, unit, document)
        st = _open(store)
        try:
            rows = st.summary(flt, by=by, per=per)
        finally:
            st.close()
        cols = [by, "item", "unit", "year"] + (["month"] if per == "month" else []) + ["facts", "total", "approx"]
        write_rows(rows, cols, fmt, output, title=f"facts by {by} × item per {per}")

    @bench.command("ingest")
    def bench_ingest(
        n: int = typer.Option(1000, "--n", help="bulletins to generate"),
        chars: int = typer.Option(2500, "--chars", help="about this many characters each"),
        backend: str = typer.Option("both", "--backend", help="sqlite | postgres | both"),
        pg_url: str = typer.Option("postgresql+psycopg://postgres@127.0.0.1:5432/test", "--pg-url",
                                   help="a PostgreSQL server: a scratch database is created there and dropped"),
        source: Optional[Path] = typer.Option(None, "--source", help="bulletins to recombine (default: examples)"),
    ) -> None:
        """Ingest N generated bulletins into SQLite and PostgreSQL: docs/s, facts/s, query latency."""
        import tempfile

        from rich.console import Console
        from rich.table import Table

        from pipeline.config import get_settings
        from pipeline.loaders import expand_paths
        from pipeline.store.db import create_scratch_database, drop_database, postgres_unreachable

        settings = get_settings()
        console = Console()
        src = source or settings.resolve(settings.paths.examples)
        sources = expand_paths([src]) if Path(src).exists() else []
        if not sources:  # no examples yet: the seed bulletin
            sources = expand_paths([settings.resolve(settings.paths.shared_data).parent / "seed"])
        extractor, what = bench_extractor(settings)
        console.print(f"extractor: {what}; recombining {len(sources)} bulletin(s) into {n} of ~{chars} characters")
        results: dict[str, dict[str, Any]] = {}
        with tempfile.TemporaryDirectory(prefix="jianbao-bench-") as tmp:
            files = make_bulletins(sources, n, Path(tmp) / "bulletins", chars)
            if backend in ("sqlite", "both"):
                results["sqlite"] = bench_one(f"sqlite:///{tmp}/bench.db", files, extractor, settings)
            if backend in ("postgres", "both"):
                why = postgres_unreachable(pg_url)
                if why:
                    console.print(f"[yellow]skipping PostgreSQL:[/yellow] {why}")
                else:
                    url = create_scratch_database(pg_url, "jianbao_bench")
                    try:
                        results["postgres"] = bench_one(url, files, extractor, settings)
                    finally:
                        drop_database(url, pg_url)
        t = Table(title=f"bench ingest: {n} bulletins (~{chars} chars), extractor {extractor.version}",
                  header_style="bold")
        t.add_column("")
        for name in results:
            t.add_column(name, justify="right")
        for label, key, fmt in (("documents", "documents", "{}"), ("failed", "failed", "{}"), ("facts", "facts", "{}"),
                                ("seconds", "seconds", "{:.1f}"), ("documents/s", "docs_per_s", "{:.1f}"),
                                ("facts/s", "facts_per_s", "{:.0f}"), ("re-ingest documents/s", "unchanged_docs_per_s", "{:.0f}"),
                                ("summary by region ms", "summary_region_ms", "{:.1f}"),
                                ("summary by org/month ms", "summary_org_ms", "{:.1f}"),
                                ("facts query ms", "facts_query_ms", "{:.1f}")):
            t.add_row(label, *[fmt.format(r[key]) for r in results.values()])
        for name, r in results.items():
            for e in r["errors"]:
                console.print(f"[red]{name} failure:[/red] {e}", highlight=False)
        console.print(t)
        console.print("again: re-ingesting the same files (all unchanged); summary region: by region × item per "
                      "year; summary org: by organisation × item per month; query: facts in 江西省 with item ~ 事故 "
                      "(medians of 7)")
