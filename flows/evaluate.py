"""The evaluate flow: score the current model (model.path) on the test split of annotations/ with
pipeline.evaluate.evaluate_model; the table is published as a markdown artifact and the report written as JSON
under [flows] reports_dir (evaluation-<version>-<time>.json and evaluation-latest.json)."""
from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from typing import Any, Optional

import flows  # noqa: F401 - Prefect's environment before prefect
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed

from flows._common import model_missing, resolve_callable, settings_for

ARTIFACT_KEY = "jianbao-evaluate"


@task(name="evaluate-model", task_run_name="evaluate {split}", cache_policy=NO_CACHE, persist_result=False)
def evaluate_task(model_dir: str, split: str, settings: Any) -> dict[str, Any]:
    evaluate_model = resolve_callable("pipeline.evaluate", "evaluate_model")
    return evaluate_model(model_dir, split=split, settings=settings)


@flow(name="evaluate", description="Score the current model on the test split; table artifact and JSON.")
def evaluate(config: Optional[str] = None, overrides: Optional[dict[str, Any]] = None, model: Optional[str] = None,
             split: str = "test") -> dict[str, Any]:
    """`model`: a model folder (default: model.path of the settings); `split`: train, dev, test or a JSONL file."""
    from pipeline.model_registry import read_card, report_markdown

    log = get_run_logger()
    settings = settings_for(config, overrides)
    model_dir = settings.resolve(model or settings.model.path)
    if not model_dir.is_dir() or not any(model_dir.iterdir()):
        raise model_missing(f"evaluate: no model at {model_dir}: train one (`jianbao flow retrain`) or set model.path")
    report = evaluate_task(str(model_dir), split, settings)
    card = read_card(model_dir) or {}
    version = str(report.get("model_version") or card.get("version") or model_dir.name)
    now = datetime.now(timezone.utc)
    out_dir = settings.resolve(settings.flows.reports_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^\w.-]+", "_", version)
    path = out_dir / f"evaluation-{safe}-{now:%Y%m%d-%H%M%S}.json"
    result = {"model": str(model_dir), "version": version, "split": str(split),
              "time": now.isoformat(timespec="seconds"), "report": report, "json": str(path)}
    text = json.dumps(result, ensure_ascii=False, indent=2, default=str) + "\n"
    for p in (path, out_dir / "evaluation-latest.json"):
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, p)
    micro = report.get("entities", {}).get("micro", {}).get("f1")
    create_markdown_artifact(key=ARTIFACT_KEY,
                             markdown=report_markdown(report, f"jianbao evaluate — model {version} on {split}")
                             + f"\nJSON: `{path}`\n",
                             description=f"model {version} on {split}: entity micro F1 {micro}")
    line = f"model {version} on {split}: entity micro F1 {micro}; report {path}"
    log.info(line)
    return Completed(message=line, data=result)  # type: ignore[return-value]


if __name__ == "__main__":
    evaluate()
