"""Prefect flows: the way jianbao runs unattended. They only orchestrate pipeline/ (no extraction or store logic
here): flows.ingest (inboxes → store), flows.retrain (train → evaluate → registry → promote), flows.evaluate
(score the current model), flows.deploy (`jianbao serve`: the schedules). Importing this package sets Prefect's
environment (flows._env.configure_prefect) before prefect itself is imported."""
from flows._env import configure_prefect

configure_prefect()

__all__ = ["configure_prefect"]
