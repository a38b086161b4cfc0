"""The retrain flow: train the NER and relation models from annotations/ (pipeline.models.train.train_model,
[train] of the settings), take its dev and test reports, keep the bundle under <registry_dir>/<version>/ with
its card, and promote it to the current model (model.path) only when its test score is at least the current
model's minus [flows] promote_tolerance (pipeline.model_registry.decide); the artifact shows old vs new per
label. The current model is scored afresh on today's test split (its card's scores when it cannot be loaded).
Then the evaluate flow runs on whatever is current ([flows] evaluate_after_retrain)."""
from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from typing import Any, Optional

import flows  # noqa: F401 - Prefect's environment before prefect
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run as runtime_flow_run
from prefect.states import Completed

from flows._common import resolve_callable, settings_for
from flows.evaluate import evaluate, evaluate_task

ARTIFACT_KEY = "jianbao-retrain"


@task(name="train-model", cache_policy=NO_CACHE, persist_result=False)
def train_task(settings: Any, output_dir: str, overrides: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    train_model = resolve_callable("pipeline.models.train", "train_model")
    return train_model(settings, output_dir, overrides=overrides)


@flow(name="retrain", description="Train on annotations/, evaluate on dev/test, register, promote if not worse.")
def retrain(config: Optional[str] = None, overrides: Optional[dict[str, Any]] = None,
            train_overrides: Optional[dict[str, Any]] = None, force: bool = False,
            evaluate_after: Optional[bool] = None) -> dict[str, Any]:
    """`train_overrides`: training arguments over [train]; `force`: promote whatever the scores;
    `evaluate_after`: run the evaluate flow afterwards (default: [flows] evaluate_after_retrain)."""
    from pipeline.model_registry import comparison_markdown, decide, new_version, promote, read_card, write_card

    log = get_run_logger()
    settings = settings_for(config, overrides)
    registry = settings.resolve(settings.flows.registry_dir)
    registry.mkdir(parents=True, exist_ok=True)
    current = settings.resolve(settings.model.path)
    started = datetime.now(timezone.utc)

    # train into a scratch folder of the registry, then name it after the model's version
    scratch = registry / f".training-{started:%Y%m%d-%H%M%S}-{os.getpid()}"
    try:
        result = train_task(settings, str(scratch), train_overrides) or {}
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    if not scratch.is_dir() or not any(scratch.iterdir()):
        raise RuntimeError(f"retrain: the trainer wrote no model into {scratch}")
    version = new_version(registry, started, preferred=result.get("version"))
    model_dir = registry / version
    os.rename(scratch, model_dir)
    log.info("trained model %s → %s", version, model_dir)

    dev = result.get("dev") or evaluate_task(str(model_dir), "dev", settings)
    test = result.get("test") or evaluate_task(str(model_dir), "test", settings)

    current_exists = current.is_dir() and any(current.iterdir())
    old_test: dict[str, Any] | None = None
    old_source = None
    old_card = read_card(current) if current_exists else None
    if current_exists:
        try:
            old_test = evaluate_task(str(current), "test", settings)
            old_source = "evaluated on the current test split"
        except Exception as exc:  # noqa: BLE001 - fall back to what its card says
            old_test = (old_card or {}).get("test")
            old_source = "its card" if old_test else None
            log.warning("the current model %s could not be evaluated (%s: %s); using %s", current,
                        type(exc).__name__, exc, old_source or "nothing")
    decision = decide(test, old_test, settings.flows.promote_tolerance, settings.flows.promote_metric,
                      current_exists=current_exists, force=force)
    card = {
        "version": version,
        "created": started.isoformat(timespec="seconds"),
        "path": str(model_dir),
        "dev": dev,
        "test": test,
        "decision": decision.to_dict(),
        "compared_with": {"path": str(current), "version": (old_card or {}).get("version"),
                          "test": old_test, "source": old_source} if current_exists else None,
        "train": {k: v for k, v in result.items() if k not in ("dev", "test")},
        "train_overrides": train_overrides,
        "flow_run_id": str(runtime_flow_run.id) if runtime_flow_run.id else None,
    }
    write_card(model_dir, card)
    if decision.promote:
        promote(model_dir, current)
        log.info("promoted %s to %s: %s", version, current, decision.reason)
    else:
        log.warning("model %s not promoted: %s (it stays in %s)", version, decision.reason, model_dir)
    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown=comparison_markdown(old_test, test, decision, title=f"retrain — model {version}",
                                     old_name=str((old_card or {}).get("version") or "current"), new_name=version)
        + f"\nRegistry folder: `{model_dir}`\n",
        description=f"model {version}: {'promoted' if decision.promote else 'not promoted'} — {decision.reason}")
    summary = {"version": version, "path": str(model_dir), "promoted": decision.promote,
               "decision": decision.to_dict(), "current": str(current), "dev": dev, "test": test,
               "current_test": old_test}
    if settings.flows.evaluate_after_retrain if evaluate_after is None else evaluate_after:
        summary["evaluation"] = evaluate(config=config, overrides=overrides)
    line = f"model {version} {'promoted' if decision.promote else 'not promoted'}: {decision.reason}"
    return Completed(message=line, data=summary)  # type: ignore[return-value]


if __name__ == "__main__":
    retrain()
