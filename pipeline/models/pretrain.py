"""Masked-LM pretraining of the small character-level BERT encoder (span masking over characters).

Runs on CPU with the small defaults and on a GPU with larger arguments; writes a save_pretrained
directory (safetensors) with vocab.txt and a model card. Needs only torch and transformers."""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import torch

from pipeline.models.vocab import CharVocab


@dataclass
class PretrainArguments:
    corpus: list[str] = field(default_factory=lambda: ["../shared/data/mlm_corpus"])
    extra_texts: list[str] = field(default_factory=lambda: ["annotations/batches"])
    output_dir: str = "models/encoder"
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 1024
    max_position: int = 1024
    seq_len: int = 128
    batch_size: int = 32
    steps: int = 1500
    lr: float = 5e-4
    warmup: int = 200
    mask_prob: float = 0.15
    seed: int = 13
    device: str = "auto"
    vocab_min_count: int = 2
    max_seconds: float = 0  # > 0: shrink steps after a short warm-up so the run fits this time
    save_fp16: bool = True
    log_every: int = 100


def _corpus_lines(paths: list[str]) -> list[str]:
    lines: list[str] = []
    for p in paths:
        p = Path(p)
        files = sorted(p.rglob("*.txt")) + sorted(p.rglob("*.jsonl")) if p.is_dir() else [p]
        for f in files:
            if not f.exists():
                continue
            for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
                if f.suffix == ".jsonl":
                    try:
                        line = json.loads(line).get("text", "")
                    except (json.JSONDecodeError, AttributeError):
                        continue
                line = line.strip()
                if len(line) >= 4:
                    lines.append(line)
    return lines


def _pack(lines: list[str], vocab: CharVocab, seq_len: int, rng: random.Random) -> Iterator[list[int]]:
    """Endless stream of [CLS] chars… [SEP] sequences packed from shuffled lines."""
    body = seq_len - 2
    encoded = [vocab.encode(line) for line in lines]
    while True:
        order = list(range(len(lines)))
        rng.shuffle(order)
        buf: list[int] = []
        for i in order:
            buf.extend(encoded[i])
            buf.append(vocab.sep)
            while len(buf) >= body:
                yield [vocab.cls] + buf[:body] + [vocab.sep]
                buf = buf[body:]


def mask_spans(ids: torch.Tensor, vocab: CharVocab, prob: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Span masking: spans of 1–4 characters (geometric) until ~prob of the tokens are chosen."""
    inputs = ids.clone()
    labels = torch.full_like(ids, -100)
    special = ids < len([t for t in vocab.tokens[:7] if t.startswith("[")])
    B, L = ids.shape
    chosen = torch.zeros_like(ids, dtype=torch.bool)
    n_spans = max(1, int(L * prob / 2.0))
    starts = torch.randint(1, L - 1, (B, n_spans), generator=gen)
    lengths = torch.clamp(torch.distributions.Geometric(torch.tensor(0.5)).sample((B, n_spans)).long() + 1, max=4)
    for k in range(4):
        pos = torch.clamp(starts + k, max=L - 1)
        chosen.scatter_(1, pos, (lengths > k) | chosen.gather(1, pos))
    chosen &= ~special
    labels[chosen] = ids[chosen]
    r = torch.rand(ids.shape, generator=gen)
    inputs[chosen & (r < 0.8)] = vocab.mask
    rand_ids = torch.randint(7, len(vocab), ids.shape, generator=gen)
    swap = chosen & (r >= 0.8) & (r < 0.9)
    inputs[swap] = rand_ids[swap]
    return inputs, labels


def pretrain(args: PretrainArguments) -> dict:
    from transformers import BertConfig, BertForMaskedLM

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    lines = _corpus_lines(args.corpus) + _corpus_lines(args.extra_texts)
    if not lines:
        raise FileNotFoundError(f"no pretraining text found under {args.corpus + args.extra_texts}")
    vocab = CharVocab.build(lines, min_count=args.vocab_min_count)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=args.hidden_size, num_hidden_layers=args.num_layers,
        num_attention_heads=args.num_heads, intermediate_size=args.intermediate_size,
        max_position_embeddings=args.max_position, pad_token_id=vocab.pad, type_vocab_size=1,
    )
    model = BertForMaskedLM(config).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / args.warmup) * max(0.05, 0.5 * (1 + math.cos(math.pi * s / args.steps))))
    rng = random.Random(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    stream = _pack(lines, vocab, args.seq_len, rng)
    start = time.time()
    losses: list[float] = []
    model.train()
    step = 0
    while step < args.steps:
        batch = torch.tensor([next(stream) for _ in range(args.batch_size)])
        inputs, labels = mask_spans(batch, vocab, args.mask_prob, gen)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
            out = model(input_ids=inputs.to(device), labels=labels.to(device))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(out.loss.item())
        step += 1
        if args.max_seconds and step == 50:
            rate = step / (time.time() - start)
            args.steps = max(step + 1, min(args.steps, int(args.max_seconds * rate)))
            print(f"{rate:.1f} steps/s: running {args.steps} steps", flush=True)
        if args.log_every and step % args.log_every == 0:
            print(f"step {step}/{args.steps} loss {sum(losses[-args.log_every:]) / args.log_every:.3f} "
                  f"{time.time() - start:.0f}s", flush=True)
    wall = time.time() - start
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    bert = model.bert.cpu()
    if args.save_fp16:
        bert = bert.half()
    bert.save_pretrained(out_dir, safe_serialization=True)
    vocab.save(out_dir)
    (out_dir / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "BertTokenizer", "do_lower_case": False, "tokenize_chinese_chars": True}), encoding="utf-8")
    tail = losses[-min(len(losses), 200):]
    stats = {
        "steps": args.steps, "final_loss": round(sum(tail) / len(tail), 4), "wall_seconds": round(wall, 1),
        "device": device if device == "cpu" else torch.cuda.get_device_name(0), "sequences": args.steps * args.batch_size,
        "characters_seen": args.steps * args.batch_size * args.seq_len, "corpus_lines": len(lines),
        "vocab_size": len(vocab), "parameters": sum(p.numel() for p in bert.parameters()),
        "size_bytes": sum(f.stat().st_size for f in out_dir.iterdir() if f.is_file()),
        "arguments": asdict(args),
    }
    (out_dir / "pretrain_stats.json").write_text(json.dumps(stats, ensure_ascii=False, indent=1), encoding="utf-8")
    return stats


if __name__ == "__main__":
    import sys

    from transformers import HfArgumentParser

    (parsed,) = HfArgumentParser(PretrainArguments).parse_args_into_dataclasses(sys.argv[1:])
    print(json.dumps(pretrain(parsed), ensure_ascii=False, indent=1))
