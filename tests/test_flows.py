"""The Prefect flows under prefect_test_harness: ingest over an inbox (seed, two example bulletins, a corrupt file)
then again (nothing to do), a transient store failure retried, a missing model failing the run, retrain promoting
a better model and refusing a worse one, and the Dask runner (LocalCluster, 2 workers) giving the same facts as the
threads runner. The gold-annotation extractor (tests/gold_extractor.py, named as "flow_fakes:gold") stands in for
the trained model, and a fake trainer for training."""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import types
from pathlib import Path

import pytest

# Prefect's environment before prefect is imported: a private PREFECT_HOME for the session
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="jianbao-prefect-test-"))
import flows  # noqa: E402,F401 - sets the rest (analytics off, startup timeout)
from prefect.testing.utilities import prefect_test_harness  # noqa: E402

from pipeline.ingest import open_store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "bulletins"
SEED = ROOT.parent / "shared" / "seed" / "jiangxi-2021-117.txt"
if not SEED.exists():
    SEED = EXAMPLES / "jiangxi-2021-117.txt"
GOOD = [SEED, EXAMPLES / "hunan-2022-tongbao.txt", EXAMPLES / "jiujiang-2022-h1-summary.html"]
FACT_KEYS = ("start", "end", "label", "surface", "value", "max", "unit", "approx", "item", "agent",
             "organisation", "place", "region", "time_start", "time_end", "change", "parent", "model_version")


@pytest.fixture(scope="session")
def prefect_api():
    with prefect_test_harness(server_startup_timeout=180):
        yield


def make_inbox(folder: Path, corrupt: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for f in GOOD:
        shutil.copyfile(f, folder / f.name)
    if corrupt:  # a .docx cut short: not a readable zip archive
        (folder / "broken.docx").write_bytes((EXAMPLES / "sichuan-2022-045.docx").read_bytes()[:3000])
    return folder


def overrides(tmp: Path, **flows_kw) -> dict:
    return {"store": {"url": f"sqlite:///{tmp}/store.db"},
            "flows": {"inboxes": [{"path": str(tmp / "inbox"), "glob": "*"}],
                      "processed_dir": str(tmp / "processed"), "quarantine_dir": str(tmp / "quarantine"),
                      "reports_dir": str(tmp / "reports"), "extractor": "flow_fakes:gold",
                      "retry_delay_seconds": 0.05, **flows_kw}}


def facts_of(url: str) -> list[tuple]:
    with open_store(url) as st:
        rows = st.facts()
    return sorted(tuple([Path(r["document"]).name] + [str(r.get(k)) for k in FACT_KEYS]) for r in rows)


def artifact(key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    assert arts, f"no artifact {key}"
    return max(arts, key=lambda a: a.created).data


# ------------------------------------------------------------------------------------------------ ingest

def test_ingest_inbox_then_nothing_new(prefect_api, tmp_path):
    from flows.ingest import ingest

    inbox = make_inbox(tmp_path / "inbox")
    ov = overrides(tmp_path)
    state = ingest(overrides=ov, return_state=True)
    assert state.is_completed(), state.message
    r = state.result()
    assert (r["discovered"], r["new"], r["quarantined"], r["errors"]) == (4, 3, 1, 0)
    assert r["facts"] > 0

    url = ov["store"]["url"]
    with open_store(url) as st:
        docs = {Path(d["source_path"]).name: d for d in st.documents()}
        assert {n: d["status"] for n, d in docs.items()} == {
            "jiangxi-2021-117.txt": "ok", "hunan-2022-tongbao.txt": "ok", "jiujiang-2022-h1-summary.html": "ok",
            "broken.docx": "failed"}
        assert docs["jiangxi-2021-117.txt"]["n_facts"] > 0
        assert len(st.facts()) == r["facts"]
        counts = st.counts()

    # processed files moved, the corrupt one quarantined with its reason
    assert sorted(p.name for p in inbox.iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "processed").iterdir()) == sorted(f.name for f in GOOD)
    q = tmp_path / "quarantine"
    assert (q / "broken.docx").exists()
    record = json.loads((q / "broken.docx.error.json").read_text(encoding="utf-8"))
    assert "corrupt .docx" in record["reason"] and record["file"] == str(inbox / "broken.docx")
    assert record["sha256"] and record["model_version"] == "gold-seed"
    md = artifact("jianbao-ingest")
    assert "| new | 3 |" in md and "| quarantined | 1 |" in md and "broken.docx" in md

    # the same bulletins arrive again: nothing is processed, nothing written to the store
    make_inbox(inbox, corrupt=False)
    state = ingest(overrides=ov, return_state=True)
    assert state.is_completed(), state.message
    r2 = state.result()
    assert (r2["discovered"], r2["processed"], r2["new"], r2["unchanged"], r2["facts"]) == (3, 0, 0, 3, 0)
    with open_store(url) as st:
        assert st.counts() == counts  # runs included: no run was even recorded
    assert sorted(p.name for p in (tmp_path / "processed").iterdir()) == sorted(f.name for f in GOOD)
    assert sorted(p.name for p in q.iterdir()) == ["broken.docx", "broken.docx.error.json"]


def test_transient_store_failure_is_retried(prefect_api, tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from flows.ingest import ingest
    from pipeline.store import Store

    (tmp_path / "inbox").mkdir()
    shutil.copyfile(SEED, tmp_path / "inbox" / SEED.name)
    real_write = Store.write
    calls = []

    def flaky_write(self, rec, **kw):
        calls.append(rec.path)
        if len(calls) == 1:  # the connection drops in the middle of the first write
            raise OperationalError("INSERT INTO facts …", {}, Exception("server closed the connection unexpectedly"))
        return real_write(self, rec, **kw)

    monkeypatch.setattr(Store, "write", flaky_write)
    ov = overrides(tmp_path)
    state = ingest(overrides=ov, return_state=True)
    assert state.is_completed(), state.message
    r = state.result()
    assert len(calls) == 2  # failed once, retried once
    assert (r["new"], r["quarantined"], r["errors"]) == (1, 0, 0) and r["facts"] > 0
    with open_store(ov["store"]["url"]) as st:
        assert [d["status"] for d in st.documents()] == ["ok"]
    assert not (tmp_path / "quarantine").exists()


def test_missing_model_fails_the_run(prefect_api, tmp_path):
    from flows.ingest import ingest

    inbox = make_inbox(tmp_path / "inbox", corrupt=False)
    ov = overrides(tmp_path, extractor="")
    ov["model"] = {"path": str(tmp_path / "no-model")}
    state = ingest(overrides=ov, return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception) as err:
        state.result()
    assert type(err.value).__name__ == "ModelMissingError"
    assert "ingest cannot run without a model" in str(err.value) and str(tmp_path / "no-model") in str(err.value)
    assert sorted(p.name for p in inbox.iterdir()) == sorted(f.name for f in GOOD)  # nothing touched


# ------------------------------------------------------------------------------------------------ retrain

def fake_report(f1: float) -> dict:
    prf = {"p": f1, "r": f1, "f1": f1, "tp": 0, "fp": 0, "fn": 0, "support": 50}
    return {"entities": {"micro": prf, "per_label": {"ORG": prf, "COUNT": dict(prf, f1=round(f1 - 0.1, 4))}},
            "relations": {"micro": prf, "per_type": {"item": prf}}, "quantities": prf, "facts": prf,
            "norm_accuracy": 0.9}


def test_retrain_promotes_better_refuses_worse(prefect_api, tmp_path, monkeypatch):
    from flows.retrain import retrain

    scores = iter([("m1", 0.80), ("m2", 0.85), ("m3", 0.70)])

    def train_model(settings, output_dir, overrides=None):  # a tiny stand-in bundle with its scores
        version, f1 = next(scores)
        out = Path(output_dir)
        out.mkdir(parents=True)
        (out / "config.json").write_text(json.dumps({"version": version}))
        (out / "metrics.json").write_text(json.dumps(fake_report(f1)))
        return {"version": version, "dev": fake_report(f1 + 0.01), "test": fake_report(f1)}

    def evaluate_model(model_dir, split="test", settings=None):
        return dict(json.loads((Path(model_dir) / "metrics.json").read_text()),
                    model_version=json.loads((Path(model_dir) / "config.json").read_text())["version"])

    monkeypatch.setitem(sys.modules, "pipeline.models.train", types.SimpleNamespace(train_model=train_model))
    monkeypatch.setattr("pipeline.evaluate.evaluate_model", evaluate_model)
    current = tmp_path / "models" / "current"
    ov = overrides(tmp_path, registry_dir=str(tmp_path / "models" / "registry"))
    ov["model"] = {"path": str(current)}

    def run():
        state = retrain(overrides=ov, return_state=True)
        assert state.is_completed(), state.message
        return state.result()

    first = run()
    assert first["promoted"] and first["decision"]["reason"] == "there is no current model"
    better = run()
    assert better["promoted"] and better["decision"]["old"] == pytest.approx(0.80)
    assert json.loads((current / "config.json").read_text())["version"] == "m2"
    worse = run()
    assert not worse["promoted"] and worse["decision"]["old"] == pytest.approx(0.85)
    assert "< current 0.8500" in worse["decision"]["reason"]
    assert json.loads((current / "config.json").read_text())["version"] == "m2"  # unchanged

    registry = tmp_path / "models" / "registry"
    assert sorted(p.name for p in registry.iterdir()) == ["m1", "m2", "m3"]
    card = json.loads((registry / "m3" / "card.json").read_text())
    assert card["decision"]["promote"] is False and card["test"]["entities"]["micro"]["f1"] == 0.70
    assert "promoted to current: no" in (registry / "m3" / "README.md").read_text()
    assert json.loads((current / "card.json").read_text())["version"] == "m2"
    md = artifact("jianbao-retrain")
    assert "**not promoted**" in md and "| ORG | 0.8500 |" in md and "| COUNT |" in md
    # evaluate ran after each retrain, on the current model
    latest = json.loads((tmp_path / "reports" / "evaluation-latest.json").read_text())
    assert latest["version"] == "m2" and worse["evaluation"]["version"] == "m2"
    assert "| ORG |" in artifact("jianbao-evaluate")


# ------------------------------------------------------------------------------------------------ dask

def test_dask_runner_same_facts_as_threads(prefect_api, tmp_path):
    from flows.ingest import ingest

    results = {}
    for runner in ("threads", "dask"):
        tmp = tmp_path / runner
        make_inbox(tmp / "inbox")
        ov = overrides(tmp, task_runner=runner, dask_workers=2, processed_action="mark")
        state = ingest(overrides=ov, return_state=True)
        assert state.is_completed(), state.message
        r = state.result()
        assert r["runner"].startswith(runner)
        assert (r["new"], r["quarantined"]) == (3, 1)
        results[runner] = facts_of(ov["store"]["url"])
        marks = sorted(p.name for p in (tmp / "inbox" / ".jianbao").iterdir())
        assert marks == sorted(f.name + ".json" for f in GOOD)  # marked, left in place
    assert results["threads"] and results["dask"] == results["threads"]


def small_corpus(tmp: Path, sizes: dict[str, int]) -> Path:
    """An annotations/ folder with the first passages of each split of the real corpus, in the same splits."""
    from pipeline.annotations import load_split, write_jsonl

    root = tmp / "annotations"
    (root / "batches").mkdir(parents=True)
    recs, sources = [], {}
    for split, n in sizes.items():
        for r in load_split(ROOT / "annotations", split)[:n]:
            recs.append(r)
            sources[r["meta"]["source"]] = split
    write_jsonl(root / "batches" / "small.jsonl", recs)
    splits = json.loads((ROOT / "annotations" / "splits.json").read_text(encoding="utf-8"))
    (root / "splits.json").write_text(json.dumps({**splits, "sources": sources}, ensure_ascii=False), encoding="utf-8")
    return root


@pytest.mark.slow
def test_retrain_with_the_real_trainer_on_a_tiny_config(prefect_api, tmp_path):
    """The real trainer (a tiny BERT built here, a few passages): a trained model is promoted over none,
    then a model that barely trained (1 epoch, lr 1e-7) scores lower on test and is refused."""
    from test_models import _tiny_checkpoint

    from flows.retrain import retrain

    base = _tiny_checkpoint(tmp_path / "tiny-bert")
    current = tmp_path / "models" / "current"
    ov = overrides(tmp_path, registry_dir=str(tmp_path / "models" / "registry"))
    ov["model"] = {"path": str(current)}
    corpus = str(small_corpus(tmp_path, {"train": 20, "dev": 12, "test": 16}))
    ov["paths"] = {"annotations": corpus}
    tiny = {"base": str(base), "aux_sets": [], "annotations": corpus, "batch_chars": 4096, "fp16": False}

    good = retrain(overrides=ov, train_overrides={**tiny, "epochs": 5, "lr": 3e-3, "head_lr": 3e-3},
                   return_state=True)
    assert good.is_completed(), good.message
    good = good.result()
    assert good["promoted"]
    good_version = json.loads((current / "config.json").read_text())["version"]
    assert (current / "heads.safetensors").exists() and (current / "README.md").exists()

    bad = retrain(overrides=ov, train_overrides={**tiny, "epochs": 1, "lr": 1e-7, "head_lr": 1e-7},
                  return_state=True).result()
    assert not bad["promoted"], bad["decision"]
    assert bad["decision"]["new"] < bad["decision"]["old"]
    assert json.loads((current / "config.json").read_text())["version"] == good_version
