"""Model cards: what a model was trained on, how long, how big, and how well it scores."""
from __future__ import annotations

from pathlib import Path
from typing import Any

AUX_LICENCES = {
    "msra": "MSRA NER (SIGHAN 2006 bakeoff; research use, no stated licence) — ORG, LOC→GPE",
    "pd1998": "People's Daily 1998-01 (PKU; research use) — nt→ORG, ns→GPE, t→DATE",
    "cluener": "CLUENER2020 (CLUE benchmark) — government/organization/company→ORG, address→GPE",
}
# reference figures for off-the-shelf offline tools on such text (from the project's issue 4)
BASELINES = {"ORG": ("Baidu LAC", 0.63), "COUNT": ("Microsoft Recognizers-Text", 0.91), "MONEY": ("jionlp", 0.96)}


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def write_card(model_dir: Path, meta: dict[str, Any]) -> Path:
    test = meta.get("scores", {}).get("test") or {}
    dev = meta.get("scores", {}).get("dev") or {}
    lines = [
        f"# jianbao extractor {meta.get('version')}", "",
        "Joint character-level NER (BIOES, constrained Viterbi) and relation classifier on one encoder,",
        "following ../shared/ANNOTATION.md. Load with `pipeline.models.predict.Predictor.from_pretrained(DIR)`.", "",
        "## Training", "",
        f"- encoder: `{meta.get('base')}` ({meta.get('base_config')})",
        f"- bulletin corpus: annotations/ train split, {meta.get('train_records')} passages; model selection on dev only",
        f"- auxiliary sets (loss masked for labels a set does not annotate): "
        + ("; ".join(AUX_LICENCES.get(a, a) for a in meta.get("auxiliary_sets", [])) or "none"),
        f"- wall time: {meta.get('train_seconds')} s; epochs: {len(meta.get('history', []))}",
        f"- size on disk: {_size_mb(model_dir):.1f} MB (torch weights in fp16"
        + (f"; ONNX export {meta['onnx']['bytes'] / 1e6:.1f} MB, int8 encoder)" if meta.get("onnx") else ")"),
        f"- bf16 autocast while training: {meta.get('bf16_autocast', False)}",
        f"- relation decision thresholds, tuned on dev: {meta.get('thresholds') or 'none (0.5)'}", "",
        "## Scores (strict spans)", "",
        f"Scored with the runtime that `extract` uses: **{meta.get('runtime', 'torch')}**"
        + (" (int8 encoder; no torch at inference)." if meta.get("runtime") == "onnx" else "."), "",
        "The reference column gives the F1 that the best offline off-the-shelf tools reach on such text, as",
        "reported in the project's issue 4 (not re-measured here); none of them finds ITEM or relations.", "",
        "| | dev F1 | test P | test R | test F1 | off-the-shelf reference |", "|---|---|---|---|---|---|",
    ]
    rescored = meta.get("rescored")
    if rescored:
        then = (meta.get("scores_at_training") or {}).get("test") or {}
        at = next(i for i, line in enumerate(lines) if line.startswith("The reference column"))
        lines[at:at] = [f"Rescored on {rescored['date']} (`jianbao rescore`) on the corpus splits of that day: dev "
                        f"{rescored.get('dev')} passages, test {rescored.get('test')} passages. At training time the "
                        f"test split had {then.get('records', '?')} passages: entities "
                        f"{then.get('entities', {}).get('micro', {}).get('f1', '?')}, relations "
                        f"{then.get('relations', {}).get('micro', {}).get('f1', '?')}.", ""]
    for label, d in (test.get("entities", {}).get("per_label") or {}).items():
        ref = BASELINES.get(label)
        dv = dev.get("entities", {}).get("per_label", {}).get(label, {}).get("f1", "")
        lines.append(f"| {label} | {dv} | {d['p']} | {d['r']} | {d['f1']} | {f'{ref[0]} {ref[1]}' if ref else ''} |")
    for name, key in (("entities (micro)", ("entities", "micro")), ("relations (micro)", ("relations", "micro"))):
        d = test.get(key[0], {}).get(key[1], {})
        dv = dev.get(key[0], {}).get(key[1], {}).get("f1", "")
        if d:
            lines.append(f"| {name} | {dv} | {d['p']} | {d['r']} | {d['f1']} | |")
    for rtype, d in (test.get("relations", {}).get("per_type") or {}).items():
        lines.append(f"| rel:{rtype} | | {d['p']} | {d['r']} | {d['f1']} | none of them |")
    if test:
        q = test["quantities"]
        lines += [f"| quantity spans | | {q['p']} | {q['r']} | {q['f1']} | |",
                  f"| facts | | {test['facts']['p']} | {test['facts']['r']} | {test['facts']['f1']} | |", "",
                  f"Normalisation accuracy on correctly found quantity spans (test): {test['norm_accuracy']}"]
    torch_test = (meta.get("scores_torch") or {}).get("test")
    if torch_test and meta.get("runtime") == "onnx" and not rescored:
        lines += ["", "The same model on the torch runtime (fp32) scores on test: entities "
                  f"{torch_test['entities']['micro']['f1']}, relations {torch_test['relations']['micro']['f1']}, "
                  f"quantity spans {torch_test['quantities']['f1']}, norm accuracy {torch_test['norm_accuracy']}."]
    lines += ["", "## History", "", "| epoch | loss | dev entity F1 | dev relation F1 | s |", "|---|---|---|---|---|"]
    for h in meta.get("history", []):
        lines.append(f"| {h['epoch']} | {h['loss']} | {h.get('dev_entity_f1', '')} | {h.get('dev_relation_f1', '')} | {h['seconds']} |")
    path = Path(model_dir) / "README.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
