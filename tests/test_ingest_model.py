"""The seed bulletin ingested end to end with the shipped model (not the gold stand-in), checked in the
store itself on SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest

from pipeline.config import get_settings
from test_ingest import SEED, seed_facts, store, store_url, pg_database  # noqa: F401  (fixtures)

MODEL = get_settings().resolve(get_settings().model.path)
pytestmark = pytest.mark.skipif(not (MODEL / "heads.safetensors").exists(), reason=f"no shipped model at {MODEL}")


@pytest.fixture(scope="module")
def extractor():
    from pipeline.extract import load_extractor

    return load_extractor(get_settings())


def test_seed_with_the_shipped_model(store, extractor):  # noqa: F811
    from pipeline.ingest import ingest_paths

    summary = ingest_paths([SEED], store, extractor)
    assert (summary.new, summary.failed) == (1, 0)
    facts = seed_facts(store)
    assert len(facts) > 40
    assert {f["model_version"] for f in facts.values()} == {extractor.version}
    CHECKS
