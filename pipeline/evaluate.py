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


def rescore_model(model_dir: str | Path, splits: dict[str, list[dict[str, Any]]], today: str | None = None
                  ) -> dict[str, Any]:
    """Score a model bundle on the given splits (dev, test as the corpus has them now) with the runtime
    extract uses, and record it in its config.json and card; the scores of training time are kept."""
    import json
    from datetime import date

    from pipeline.models.card import write_card
    from pipeline.models.predict import Predictor

    model_dir = Path(model_dir)
    cfg = model_dir / "config.json"
    meta = json.loads(cfg.read_text(encoding="utf-8"))
    predictor = Predictor.from_pretrained(model_dir)
    scores = {name: evaluate_records(recs, predictor.predict_records(recs)) for name, recs in splits.items() if recs}
    meta.setdefault("scores_at_training", meta.get("scores"))
    meta["scores"] = scores
    meta["rescored"] = {"date": today or date.today().isoformat(), "runtime": type(predictor.runtime).__name__,
                        **{name: len(recs) for name, recs in splits.items()}}
    tmp = cfg.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(cfg)
    write_card(model_dir, meta)
    return meta
