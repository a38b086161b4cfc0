"""CLI: extract, train, pretrain, evaluate, bench extract."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Optional

import typer

from pipeline.cli_util import fail
from pipeline.cli_util import settings as _settings


def _input_records(inputs: list[Path]) -> Iterator[dict[str, Any]]:
    """JSONL records as they are; bulletin files and folders parsed into paragraph records."""
    from pipeline.types import Passage

    for path in inputs:
        if path.suffix == ".jsonl":
            with path.open(encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        rec = json.loads(line)
                        if not isinstance(rec.get("text"), str):
                            raise ValueError("no text")
                        yield {"id": rec.get("id", f"{path.name}:{n}"), "text": rec["text"], "meta": rec.get("meta") or {}}
                    except (json.JSONDecodeError, ValueError, AttributeError) as exc:
                        yield {"id": f"{path.name}:{n}", "text": "", "meta": {}, "error": f"{path}:{n}: {exc}"}
            continue
        from pipeline.loaders import LoadError
        from pipeline.structure import document_passages, parse_document

        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            try:
                doc = parse_document(f)
            except (LoadError, OSError, ValueError) as exc:
                yield {"id": str(f), "text": "", "meta": {"source": str(f)}, "error": str(exc)}
                continue
            for p in document_passages(doc):
                yield Passage(p.id, p.text, meta=p.meta).to_record()


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @app.command()
    def extract(
        inputs: list[Path] = typer.Argument(..., help="JSONL records {id, text, meta}, or bulletin files/folders; the last path is OUTPUT"),
        model: Optional[Path] = typer.Option(None, "--model", help="model directory (default: model.path)"),
    ) -> None:
        """Extract entities (with norm) and relations: INPUT… OUTPUT.jsonl. Failing records carry `error`."""
        from rich.progress import Progress

        from pipeline.extract import ModelMissingError, load_extractor
        from pipeline.types import Passage

        if len(inputs) < 2:
            fail("give INPUT… and OUTPUT")
        *sources, output = inputs
        for s in sources:
            if not s.exists():
                fail(f"{s}: no such file or folder")
        try:
            extractor = load_extractor(_settings(), model)
        except ModelMissingError as exc:
            fail(str(exc))
        output.parent.mkdir(parents=True, exist_ok=True)
        written = errors = 0
        tmp = output.with_suffix(output.suffix + ".tmp")
        with tmp.open("w", encoding="utf-8") as out, Progress(transient=True) as progress:
            task = progress.add_task("extracting", total=None)
            pending: list[Passage] = []

            def flush() -> None:
                nonlocal written, errors
                for p in extractor.extract(pending):
                    out.write(json.dumps(p.to_record(), ensure_ascii=False) + "\n")
                    written += 1
                    errors += bool(p.error)
                    progress.advance(task)
                pending.clear()

            for rec in _input_records(sources):
                if rec.get("error"):
                    flush()
                    out.write(json.dumps({**rec, "entities": [], "relations": []}, ensure_ascii=False) + "\n")
                    written += 1
                    errors += 1
                    continue
                pending.append(Passage(str(rec["id"]), rec["text"], meta=rec.get("meta") or {}))
                if len(pending) >= 64:
                    flush()
            flush()
        tmp.replace(output)
        typer.echo(f"{written} records written to {output} ({errors} with errors)")

    @app.command()
    def train(
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="model directory (default: model.path)"),
        base: Optional[str] = typer.Option(None, "--base", help="encoder: any local HF checkpoint directory"),
        epochs: Optional[int] = typer.Option(None, "--epochs"),
    ) -> None:
        """Fine-tune NER + relations on annotations/ train (the \\[train] config section), select on dev."""
        from pipeline.models.train import train_model

        settings = _settings()
        overrides = {k: v for k, v in (("base", base), ("epochs", epochs)) if v}
        out = output or settings.resolve(settings.model.path)
        try:
            meta = train_model(settings, out, overrides)
        except (FileNotFoundError, ValueError) as exc:
            fail(str(exc))
        test = meta.get("test") or {}
        typer.echo(f"model {meta['version']} written to {out}; test entity F1 "
                   f"{test.get('entities', {}).get('micro', {}).get('f1')}, relation F1 "
                   f"{test.get('relations', {}).get('micro', {}).get('f1')}")

    @app.command()
    def pretrain(
        steps: Optional[int] = typer.Option(None, "--steps"),
        output: Optional[Path] = typer.Option(None, "--output", "-o"),
    ) -> None:
        """Masked-LM pretraining of the char encoder (the \\[pretrain] config section; GPU if present)."""
        from pipeline.models.pretrain import PretrainArguments, pretrain as run

        settings = _settings()
        conf = dict(settings.pretrain)
        if steps:
            conf["steps"] = steps
        if output:
            conf["output_dir"] = str(output)
        args = PretrainArguments(**conf)
        args.corpus = [str(settings.resolve(c)) for c in args.corpus]
        args.extra_texts = [str(settings.resolve(c)) for c in args.extra_texts]
        args.output_dir = str(settings.resolve(args.output_dir))
        try:
            stats = run(args)
        except FileNotFoundError as exc:
            fail(str(exc))
        typer.echo(json.dumps({k: v for k, v in stats.items() if k != "arguments"}, ensure_ascii=False))

    @app.command()
    def evaluate(
        gold: str = typer.Argument(..., help="gold JSONL, or a split name: train, dev, test"),
        pred: Optional[Path] = typer.Argument(None, help="predictions JSONL (else run --model)"),
        model: Optional[Path] = typer.Option(None, "--model"),
        json_out: Optional[Path] = typer.Option(None, "--json", help="also write the report here"),
    ) -> None:
        """Strict per-label P/R/F1, relations per type, normalisation accuracy and fact F1."""
        from rich.console import Console

        from pipeline.annotations import read_jsonl
        from pipeline.evaluate import evaluate_model, evaluate_records, gold_records
        from pipeline.extract import ModelMissingError
        from pipeline.scorer import render

        try:
            if pred:
                report = evaluate_records(gold_records(gold), list(read_jsonl(pred)))
            else:
                report = evaluate_model(model, gold)
        except (FileNotFoundError, ModelMissingError, ValueError) as exc:
            fail(str(exc))
        Console().print(render(report, f"evaluation on {gold}"))
        if json_out:
            json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")

    @app.command("export-onnx")
    def export_onnx(
        model: Optional[Path] = typer.Argument(None, help="model bundle (default: model.path)"),
        quantize: bool = typer.Option(True, help="int8 weights for the encoder"),
    ) -> None:
        """Write MODEL/onnx/ so that extract runs on ONNX Runtime, without torch (then check it with evaluate)."""
        from rich.console import Console

        from pipeline.models.network import load_bundle
        from pipeline.models.runtime import export_onnx as export

        settings = _settings()
        model_dir = model or settings.resolve(settings.model.path)
        try:
            net, _ = load_bundle(model_dir)
        except (FileNotFoundError, ValueError) as exc:
            fail(str(exc))
        info = export(net, model_dir, quantize=quantize)
        Console().print(f"{model_dir}/onnx: {info['bytes'] / 1e6:.1f} MB, int8 encoder: {info['quantized']}")

    @app.command("rescore")
    def rescore(model: Optional[Path] = typer.Argument(None, help="model bundle (default: model.path)")) -> None:
        """Score MODEL on today's dev and test splits of annotations/ and update its config.json and card."""
        from rich.console import Console

        from pipeline.annotations import load_split
        from pipeline.evaluate import rescore_model

        settings = _settings()
        model_dir = model or settings.resolve(settings.model.path)
        if not (Path(model_dir) / "config.json").exists():
            fail(f"{model_dir}: not a model bundle (no config.json)")
        root = settings.resolve(settings.paths.annotations)
        meta = rescore_model(model_dir, {s: load_split(root, s) for s in ("dev", "test")})
        for name, rep in meta["scores"].items():
            Console().print(f"{name}: {rep['records']} passages, entities {rep['entities']['micro']['f1']}, "
                            f"relations {rep['relations']['micro']['f1']}")

    @bench.command("extract")
    def bench_extract(
        chars: int = typer.Option(200_000, help="characters of annotated text to extract"),
        threads: int = typer.Option(1, help="inference threads (1 = the per-core figure)"),
    ) -> None:
        """Characters/s for extract on a warm model, model load time, peak memory."""
        from pipeline.models.bench import run_extract_bench

        run_extract_bench(_settings(), chars, threads)
