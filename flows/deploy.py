"""Deployments of the flows, served by `jianbao serve` (prefect.serve) or declared in prefect.yaml for
`prefect deploy` to a work pool:

    ingest/nightly      [flows] ingest_cron (02:00 daily) in [flows] timezone (Asia/Shanghai)
    retrain/weekly      [flows] retrain_cron (Sunday 03:00); the evaluate flow runs after it (chained subflow)
    evaluate/on-demand  no schedule: `prefect deployment run evaluate/on-demand`

Each deployment runs at most one flow run at a time: a scheduled run that comes while the previous one is still
running is cancelled (ingest and retrain pick up everything at their next run anyway); on-demand evaluations
wait their turn.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import flows  # noqa: F401 - Prefect's environment before prefect

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.config import Settings

NAMES = {"ingest": "nightly", "retrain": "weekly", "evaluate": "on-demand"}


def build_deployments(settings: "Settings", config: Optional[str] = None) -> list[Any]:
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from flows.evaluate import evaluate
    from flows.ingest import ingest
    from flows.retrain import retrain

    f = settings.flows
    params: dict[str, Any] = {"config": config} if config else {}
    skip_overlap = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
    one_at_a_time = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)
    common: dict[str, Any] = {"parameters": params, "tags": ["jianbao"],
                              "entrypoint_type": EntrypointType.MODULE_PATH}
    return [
        ingest.to_deployment(name=NAMES["ingest"], schedules=[Cron(f.ingest_cron, timezone=f.timezone)],
                             concurrency_limit=skip_overlap,
                             description="New bulletins in the inboxes → the knowledge store.", **common),
        retrain.to_deployment(name=NAMES["retrain"], schedules=[Cron(f.retrain_cron, timezone=f.timezone)],
                              concurrency_limit=skip_overlap,
                              description="Retrain on annotations/, promote if not worse, then evaluate.", **common),
        evaluate.to_deployment(name=NAMES["evaluate"], concurrency_limit=one_at_a_time,
                               description="Score the current model on the test split.", **common),
    ]


def serve(settings: "Settings", config: Optional[str] = None) -> None:
    """Serve the three deployments from this process until interrupted (needs a Prefect API with a scheduler:
    `jianbao serve` starts a local one when PREFECT_API_URL is unset)."""
    from prefect import serve as prefect_serve

    prefect_serve(*build_deployments(settings, config))
