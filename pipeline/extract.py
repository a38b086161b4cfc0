"""The extraction stage: passages in, passages with entities (with norm) and relations out.

Interface (stable; the model code behind it is pipeline.models):

    extractor = load_extractor(settings)          # raises ModelMissingError with a clear message
    extractor.version                             # str, recorded with every fact
    for passage in extractor.extract(passages):   # Iterable[Passage] -> Iterator[Passage]
        ...                                       # passage.entities / .relations filled, .error on failure
"""
from __future__ import annotations

from typing import Iterable, Iterator, Protocol

from pipeline.types import Passage


class ModelMissingError(RuntimeError):
    pass


class Extractor(Protocol):
    version: str

    def extract(self, passages: Iterable[Passage]) -> Iterator[Passage]: ...


def load_extractor(settings=None, path=None, threads: int | None = None) -> Extractor:
    """The current model (settings.model.path unless a path is given), ready to extract."""
    from pathlib import Path

    from pipeline.config import get_settings

    settings = settings or get_settings()
    model_dir = Path(path) if path else settings.resolve(settings.model.path)
    if not (model_dir / "config.json").exists() or not (model_dir / "heads.safetensors").exists():
        raise ModelMissingError(
            f"no trained model at {model_dir}: train one with `jianbao train` (or point model.path / --model at one)")
    from pipeline.models.predict import Predictor

    try:
        return Predictor.from_pretrained(model_dir, runtime=settings.model.runtime, quantize=settings.model.quantize,
                                         threads=settings.model.threads if threads is None else threads)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelMissingError(f"{model_dir}: cannot load the model: {exc}") from exc
