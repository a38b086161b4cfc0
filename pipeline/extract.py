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
