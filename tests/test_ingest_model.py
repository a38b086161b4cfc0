"""The seed bulletin ingested end to end with the shipped model (not the gold stand-in), checked in the
store itself on SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest

from pipeline.config import get_settings
from test_ingest import SEED, seed_facts

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
    acc = facts["99起"]  # 1-11月，全市共发生安全生产事故99起…同比分别下降24.4%
    assert (acc["value"], acc["unit"], acc["item"], acc["place"], acc["region"]) == (99, "起", "安全生产事故", "全市", "赣州市")
    assert (str(acc["time_start"])[:10], str(acc["time_end"])[:10]) == ("2021-01-01", "2021-11-30")
    assert acc["change"] == pytest.approx(-24.4)
    deaths = facts["104人"]
    assert (deaths["value"], deaths["item"], deaths["region"]) == (104, "死亡", "赣州市")
    assert deaths["change"] == pytest.approx(-7.1)
    drunk = facts["1.94 万余起"]
    assert (drunk["value"], drunk["unit"], drunk["approx"], drunk["item"]) == (19400, "起", "more_than", "酒醉驾")
    fire = facts["7.3 亿元"]
    assert (fire["value"], fire["unit"], fire["region"]) == (730000000, "元", "赣州市")
    assert (str(fire["time_start"])[:10], str(fire["time_end"])[:10]) == ("2021-01-01", "2021-12-30")
    major = facts["510 处"]
    assert (major["value"], major["item"]) == (510, "重大风险点")
    assert major["parent_id"] == facts["5.65 万处"]["id"]  # 其中重大风险点510处 ⊂ 5.65万处
    raw = SEED.read_text(encoding="utf-8")
    for f in facts.values():  # provenance: offsets point at the surface in the raw file
        assert "".join(raw[f["start"]:f["end"]].split()) == "".join(f["surface"].split())
