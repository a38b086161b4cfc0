"""The validated configuration: configs/default.toml, an optional --config file, then JIANBAO_* variables."""
from __future__ import annotations

import json
import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "configs" / "default.toml"
ENV_PREFIX = "JIANBAO_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PathsConfig(_Section):
    cache_dir: str = "~/.cache/jianbao"
    examples: str = "examples/bulletins"
    annotations: str = "annotations"
    models: str = "models"
    data_dir: str = "data"
    shared_data: str = "../shared/data"


class LoadConfig(_Section):
    max_bytes: int = Field(20_000_000, gt=0)
    max_chars: int = Field(20_000_000, gt=0)


class SegmentConfig(_Section):
    backend: Literal["pkuseg", "jieba"] = "pkuseg"
    pkuseg_model: str = ""
    user_dict: str = "configs/user_dict.txt"


class ModelConfig(_Section):
    path: str = "models/current"
    encoder: str = "models/encoder"
    device: str = "cpu"
    batch_size: int = Field(16, gt=0)
    max_length: int = Field(512, ge=32)
    quantize: bool = False  # int8 dynamic quantisation of the torch runtime's linear layers
    runtime: Literal["auto", "onnx", "torch"] = "auto"  # auto: the ONNX export when the model has one
    threads: int = Field(0, ge=0)  # inference threads; 0 = the runtime's default


class StoreConfig(_Section):
    url: str = "sqlite:///data/jianbao.db"


class Inbox(_Section):
    path: str
    glob: str = "*"


class FlowsConfig(_Section):
    """The Prefect flows (flows/): inboxes, schedules, task runner, retries, the model registry."""

    inboxes: list[Inbox] = Field(default_factory=lambda: [Inbox(path="data/inbox")], min_length=1)
    processed_dir: str = "data/processed"
    quarantine_dir: str = "data/quarantine"
    processed_action: Literal["move", "mark"] = "move"  # mark: leave the file, write <inbox>/.jianbao/<name>.json
    ingest_cron: str = "0 2 * * *"
    retrain_cron: str = "0 3 * * 0"
    timezone: str = "Asia/Shanghai"
    task_runner: Literal["threads", "dask"] = "threads"
    thread_workers: int = Field(4, gt=0)
    dask_address: str = ""
    dask_workers: int = Field(2, gt=0)
    retries: int = Field(3, ge=0)
    retry_delay_seconds: float = Field(2, ge=0)
    promote_tolerance: float = Field(0.005, ge=0)
    promote_metric: str = "entities.micro.f1"
    registry_dir: str = "models/registry"
    reports_dir: str = "data/reports"
    evaluate_after_retrain: bool = True
    extractor: str = ""  # module:callable(settings) -> Extractor; empty: pipeline.extract.load_extractor
    prefect_home: str = ""  # empty: <cache_dir>/prefect
    server_startup_timeout: int = Field(120, gt=0)
    server_port: int = Field(4200, gt=0, lt=65536)

    @field_validator("ingest_cron", "retrain_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        fields = v.split()
        if len(fields) not in (5, 6) or not all(re.fullmatch(r"[0-9A-Za-z*/,\-?LW#]+", f) for f in fields):
            raise ValueError(f"not a cron expression (minute hour day month weekday): {v!r}")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {v!r}") from exc
        return v

    @field_validator("extractor")
    @classmethod
    def _factory(cls, v: str) -> str:
        if v and not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*", v):
            raise ValueError(f"extractor must be 'module:callable' or empty, not {v!r}")
        return v

    @field_validator("promote_metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", v):
            raise ValueError(f"promote_metric must be a dotted path into the report, like entities.micro.f1: {v!r}")
        return v


class Settings(_Section):
    paths: PathsConfig = PathsConfig()
    load: LoadConfig = LoadConfig()
    segment: SegmentConfig = SegmentConfig()
    model: ModelConfig = ModelConfig()
    store: StoreConfig = StoreConfig()
    flows: FlowsConfig = FlowsConfig()
    train: dict[str, Any] = {}       # pipeline.models.train.TrainArguments fields
    pretrain: dict[str, Any] = {}    # pipeline.models.pretrain.PretrainArguments fields

    def resolve(self, path: str | Path) -> Path:
        """A configured path: ~ expanded, relative paths taken from the project root."""
        p = Path(os.path.expanduser(str(path)))
        return p if p.is_absolute() else ROOT / p

    @property
    def cache_dir(self) -> Path:
        return self.resolve(self.paths.cache_dir)


class ConfigError(ValueError):
    pass


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    over: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, key = name[len(ENV_PREFIX):].lower().split("__", 1)
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        over.setdefault(section, {})[key] = value
    return over


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def load_settings(config: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    data = _read_toml(DEFAULT_CONFIG) if DEFAULT_CONFIG.exists() else {}
    if config:
        data = _deep_merge(data, _read_toml(Path(config)))
    data = _deep_merge(data, _env_overrides(dict(os.environ if environ is None else environ)))
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{config or DEFAULT_CONFIG}: invalid configuration:\n{exc}") from exc


@lru_cache(maxsize=1)
def _cached(config: str | None) -> Settings:
    return load_settings(config)


def get_settings(config: str | Path | None = None) -> Settings:
    return _cached(str(config) if config else os.environ.get("JIANBAO_CONFIG") or None)
