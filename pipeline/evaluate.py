"""Scoring a model or a prediction file against gold records (shared scorer, table and JSON)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.annotations import load_split, read_jsonl
from pipeline.scorer import score

SPLIT_NAMES = ("train", "dev", "test")


def gold_records(gold: str | Path, settings=None) -> list[dict[str, Any]]:
    """A split name (train/dev/test of annotations/) or a JSONL file of gold records."""
    if str(gold) in SPLIT_NAMES:
        from pipeline.config import get_settings

        settings = settings or get_settings()
        return load_split(settings.resolve(settings.paths.annotations), str(gold))
    path = Path(gold)
    if not path.exists():
        raise FileNotFoundError(f"{gold}: no such file, and not a split name ({', '.join(SPLIT_NAMES)})")
    return list(read_jsonl(path))


def evaluate_records(gold: list[dict[str, Any]], pred: list[dict[str, Any]]) -> dict[str, Any]:
    return score(gold, pred).report()


def evaluate_model(model_dir: str | Path | None = None, split: str | Path = "test", settings=None) -> dict[str, Any]:
    from pipeline.extract import load_extractor

    extractor = load_extractor(settings, model_dir)
    gold = gold_records(split, settings)
    report = evaluate_records(gold, extractor.predict_records(gold))
    report["model_version"] = extractor.version
    report["split"] = str(split)
    return report
