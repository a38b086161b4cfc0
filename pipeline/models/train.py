"""Fine-tuning the joint extractor (run_ner.py-style dataclass arguments, model selection on dev)."""
from __future__ import annotations

import copy
import json
import os
import random
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from pipeline.models.data import PARTIAL, aux_example, record_examples
from pipeline.models.network import CLASS_MASKS, ExtractorNet, build_encoder, save_bundle
from pipeline.models.schema import PAIR_COLUMNS, REL_CLASSES
from pipeline.models.tagging import TAGS, label_mask
from pipeline.models.vocab import CharVocab
from pipeline.types import LABELS


@dataclass
class TrainArguments:
    base: str = "models/encoder"          # any local HF checkpoint directory with a vocab.txt
    annotations: str = "annotations"
    epochs: int = 16
    lr: float = 4e-4
    head_lr: float = 1e-3
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    batch_chars: int = 6144
    max_chars: int = 510
    rel_weight: float = 1.0
    aux_sets: list[str] = field(default_factory=lambda: ["msra", "pd1998", "cluener"])
    aux_per_set: int = 1200
    aux_weight: float = 0.5
    aux_root: str = "../shared/data"
    seed: int = 13
    threads: int = 2
    max_train_records: int = 0            # > 0: use only this many (tests)
    cache_dir: str = ""                   # tokenised training sets are cached here ("" = no cache)
    eval_every: int = 1
    fp16: bool = True                     # weights saved in fp16
    bf16: bool = True                     # bf16 autocast while training, where the CPU/GPU supports it
    onnx: bool = True                     # also export onnx/ (int8) for fast, torch-free inference

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainArguments":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown training arguments: {', '.join(sorted(unknown))}")
        return cls(**d)


def _shown(path: str) -> str:
    """A path as the card shows it: relative to the working directory when it lies below it."""
    p = Path(path).resolve()
    return str(p.relative_to(Path.cwd())) if p.is_relative_to(Path.cwd()) else str(path)


def bf16_supported() -> bool:
    """Native bf16 matrix units on this CPU (AVX512-BF16 or AMX); emulated bf16 would be slower."""
    cpu = torch.cpu
    return any(getattr(cpu, f, lambda: False)() for f in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _batches(examples: list[dict], budget: int, rng: random.Random) -> list[list[dict]]:
    order = sorted(examples, key=lambda e: len(e["input_ids"]) + rng.random())
    batches, cur, width = [], [], 0
    for ex in order:
        w = max(width, len(ex["input_ids"]))
        if cur and w * (len(cur) + 1) > budget:
            batches.append(cur)
            cur, w = [], len(ex["input_ids"])
        cur.append(ex)
        width = w
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


_MASK_CACHE: dict[tuple[str, ...], torch.Tensor] = {}


def _collate(batch: list[dict], pad: int) -> dict[str, torch.Tensor]:
    width = max(len(e["input_ids"]) for e in batch)
    B, T = len(batch), len(TAGS)
    ids = torch.full((B, width), pad, dtype=torch.long)
    attn = torch.zeros((B, width), dtype=torch.long)
    allowed = torch.zeros((B, width, T), dtype=torch.bool)
    weight = torch.zeros(B)
    ents, pairs, pair_labels, pair_masks = [], [], [], []
    for b, ex in enumerate(batch):
        n = len(ex["input_ids"])
        ids[b, :n] = torch.tensor(ex["input_ids"])
        attn[b, :n] = 1
        tags = torch.tensor(ex["tags"], dtype=torch.long)
        key = tuple(ex["known"])
        if key not in _MASK_CACHE:
            _MASK_CACHE[key] = torch.from_numpy(label_mask(set(key)))
        partial = tags == PARTIAL
        allowed[b, 1 : n - 1][~partial] = torch.nn.functional.one_hot(tags[~partial], T).bool()
        allowed[b, 1 : n - 1][partial] = _MASK_CACHE[key]
        weight[b] = ex.get("weight", 1.0)
        offset = len(ents)
        ents.extend([b, s + 1, e + 1, l] for s, e, l in ex["ents"])
        for (h, t, *features), y in zip(ex["pairs"], ex["pair_labels"]):
            pairs.append([h + offset, t + offset, *features])
            pair_labels.append(y)
            pair_masks.append(CLASS_MASKS[LABELS[ex["ents"][t][2]]])
    return {
        "ids": ids, "attn": attn, "allowed": allowed, "weight": weight,
        "ents": torch.tensor(ents, dtype=torch.long).reshape(-1, 4),
        "pairs": torch.tensor(pairs, dtype=torch.long).reshape(-1, PAIR_COLUMNS),
        "pair_labels": torch.tensor(pair_labels, dtype=torch.long),
        "pair_masks": torch.stack(pair_masks) if pair_masks else torch.zeros((0, len(REL_CLASSES)), dtype=torch.bool),
    }


def _loss(net: ExtractorNet, batch: dict[str, torch.Tensor], rel_weight: float) -> torch.Tensor:
    hidden, logits = net.encode(batch["ids"], batch["attn"])
    allowed = batch["allowed"]
    valid = allowed.any(-1)
    full = torch.logsumexp(logits, -1)
    part = torch.logsumexp(logits.masked_fill(~allowed, -1e4), -1)
    per_pos = (full - part) * valid
    per_seq = per_pos.sum(1) / valid.sum(1).clamp(min=1)
    loss = (per_seq * batch["weight"]).sum() / batch["weight"].sum().clamp(min=1e-6)
    if batch["pairs"].numel():
        rl = net.relation_logits(hidden, batch["ents"], batch["pairs"]).masked_fill(~batch["pair_masks"], -1e4)
        loss = loss + rel_weight * torch.nn.functional.cross_entropy(rl, batch["pair_labels"])
    return loss


def training_dataset(args: TrainArguments, records: list[dict], vocab: CharVocab,
                     log: Callable[[str], None] = print) -> tuple[Any, list[str]]:
    """The tokenised training set — bulletin chunks (weight 1) and auxiliary sentences (weight
    aux_weight) — as a `datasets.Dataset`, cached under args.cache_dir by a hash of everything it is
    built from (records, vocabulary, arguments and the code that builds it)."""
    import hashlib

    import datasets

    from pipeline.models import auxiliary, data

    root = Path(args.aux_root)
    aux = list(args.aux_sets) if args.aux_sets and args.aux_per_set > 0 else []
    if aux and not root.exists():
        log(f"auxiliary data not found at {root}: training on the bulletin corpus alone")
        aux = []
    recipe = {"records": records, "vocab": (Path(args.base) / "vocab.txt").read_text(encoding="utf-8"),
              "args": [args.max_chars, aux, args.aux_per_set, args.aux_weight, args.seed, str(root)],
              "code": [Path(m.__file__).read_text(encoding="utf-8") for m in (data, auxiliary)]}
    key = hashlib.sha256(json.dumps(recipe, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()[:20]
    cached = Path(args.cache_dir) / f"examples-{key}" if args.cache_dir else None
    if cached is not None and cached.exists():
        log(f"training examples from the cache {cached}")
        return datasets.load_from_disk(str(cached)), aux
    examples = [{**ex, "weight": 1.0} for r in records for ex in record_examples(r, vocab, args.max_chars)]
    for i, (text, spans, known) in enumerate(auxiliary.sample_aux(root, aux, args.aux_per_set, args.seed,
                                                                   args.max_chars) if aux else []):
        examples.append({**aux_example(f"aux{i}", text, spans, known, vocab), "weight": args.aux_weight})
    dataset = datasets.Dataset.from_list(examples)
    if cached is not None:
        import shutil

        tmp = cached.with_name(cached.name + f".tmp{os.getpid()}")
        dataset.save_to_disk(str(tmp))
        try:
            os.replace(tmp, cached)
        except OSError:  # another process cached the same recipe meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
        _prune_cache(cached.parent, keep=KEEP_CACHED)
        dataset = datasets.load_from_disk(str(cached))
    return dataset, aux


KEEP_CACHED = 3


def _prune_cache(folder: Path, keep: int) -> None:
    """Only the most recent training sets stay cached (each retrain on new annotations makes one)."""
    import shutil

    entries = sorted((p for p in folder.glob("examples-*") if p.is_dir() and ".tmp" not in p.name),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def train(args: TrainArguments, output_dir: str | Path, splits: dict[str, list[dict]],
          log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train on splits['train'], select on splits['dev'], save to output_dir; returns the card data."""
    from pipeline.models.predict import Predictor
    from pipeline.scorer import score

    _seed_all(args.seed)
    torch.set_num_threads(max(1, args.threads))
    started = time.time()
    vocab = CharVocab.load(Path(args.base))
    encoder, enc_config = build_encoder(args.base)
    net = ExtractorNet(encoder)
    train_recs = splits["train"][: args.max_train_records or None]
    dataset, aux_used = training_dataset(args, train_recs, vocab, log)
    enc_params = [p for n, p in net.named_parameters() if n.startswith("encoder.")]
    head_params = [p for n, p in net.named_parameters() if not n.startswith("encoder.")]
    opt = torch.optim.AdamW([{"params": enc_params, "lr": args.lr}, {"params": head_params, "lr": args.head_lr}],
                            weight_decay=args.weight_decay)
    rng = random.Random(args.seed)
    steps_per_epoch = len(_batches(dataset.to_list(), args.batch_chars, random.Random(0)))
    total = max(1, steps_per_epoch * args.epochs)
    warm = max(1, int(total * args.warmup_ratio))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / (total - warm + 1e-9))))
    best, best_state, history = -1.0, None, []
    autocast = args.bf16 and bf16_supported()
    predictor = Predictor.from_net(net, vocab, max_chars=args.max_chars)
    for epoch in range(1, args.epochs + 1):
        net.train()
        shuffled = dataset.shuffle(seed=args.seed + epoch).to_list()
        losses = []
        for batch in _batches(shuffled, args.batch_chars, rng):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = _loss(net, _collate(batch, vocab.pad), args.rel_weight)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.item())
        entry: dict[str, Any] = {"epoch": epoch, "loss": round(float(np.mean(losses)), 4), "seconds": round(time.time() - started)}
        if splits.get("dev") and (epoch % args.eval_every == 0 or epoch == args.epochs):
            net.eval()
            rep = score(splits["dev"], predictor.predict_records(splits["dev"])).report()
            sel = (rep["entities"]["micro"]["f1"] + rep["relations"]["micro"]["f1"]) / 2
            entry.update(dev_entity_f1=rep["entities"]["micro"]["f1"], dev_relation_f1=rep["relations"]["micro"]["f1"])
            if sel > best:
                best, best_state = sel, copy.deepcopy(net.state_dict())
        history.append(entry)
        log(json.dumps(entry))
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    tuning: dict[str, Any] = {}
    if splits.get("dev"):
        from pipeline.models.predict import tune_thresholds

        tuning = tune_thresholds(predictor, splits["dev"])
        predictor.thresholds = tuning["thresholds"]
        log(json.dumps({"relation_thresholds": tuning}))
    version = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")

    def scores(p: Predictor) -> dict[str, Any]:
        return {name: score(recs, p.predict_records(recs)).report()
                for name, recs in splits.items() if name in ("dev", "test") and recs}

    torch_scores, onnx_info, runtime_scores = scores(predictor), None, None
    if args.onnx:
        from pipeline.models.runtime import OnnxRuntime, export_onnx

        try:
            onnx_info = export_onnx(net, output_dir)
            runtime_scores = scores(Predictor(OnnxRuntime(output_dir), vocab, max_chars=args.max_chars,
                                              thresholds=predictor.thresholds))
        except Exception as exc:  # noqa: BLE001 - the torch bundle is complete; the export is an extra
            onnx_info = None
            log(f"ONNX export failed ({type(exc).__name__}: {exc}); the model runs on the torch runtime")
    meta = {
        "version": version, "max_chars": args.max_chars, "base": _shown(args.base), "base_config": {
            k: enc_config.get(k) for k in ("model_type", "hidden_size", "num_hidden_layers", "vocab_size")},
        "train_records": len(train_recs), "train_examples": len(dataset), "auxiliary_sets": aux_used,
        "train_seconds": round(time.time() - started, 1), "arguments": asdict(args), "bf16_autocast": autocast,
        "history": history, "runtime": "onnx" if onnx_info else "torch",
        "scores": runtime_scores or torch_scores, "scores_torch": torch_scores, "onnx": onnx_info,
        "thresholds": tuning.get("thresholds", {}), "threshold_tuning": tuning,
    }
    save_bundle(net, Path(args.base), Path(output_dir), meta, fp16=args.fp16)
    return meta


def train_model(settings, output_dir: str | Path, overrides: dict[str, Any] | None = None,
                log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train per the [train] config (plus overrides) on annotations/ train, select on dev, score dev and
    test, save to output_dir with its card; returns {"version", "dev": report, "test": report, …}."""
    from pipeline.annotations import load_split
    from pipeline.models.card import write_card

    args = TrainArguments.from_dict({**settings.train, **(overrides or {})})
    args.base = str(settings.resolve(args.base))
    args.aux_root = str(settings.resolve(args.aux_root))
    args.cache_dir = args.cache_dir or str(settings.cache_dir / "datasets")
    root = settings.resolve(args.annotations)
    splits = {s: load_split(root, s) for s in ("train", "dev", "test")}
    if not splits["train"]:
        raise FileNotFoundError(f"{root}: no training records (annotations/batches and splits.json)")
    meta = train(args, output_dir, splits, log=log)
    write_card(Path(output_dir), meta)
    return {**meta, "dev": meta["scores"].get("dev"), "test": meta["scores"].get("test")}
