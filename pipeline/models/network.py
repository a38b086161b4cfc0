"""The joint extractor: one character encoder, a BIOES tagging head and a pairwise relation head."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from pipeline.models.tagging import TAGS
from pipeline.models.schema import (BETWEEN_BUCKETS, DIST_BUCKETS, GAP_BUCKETS, RANK_BUCKETS, REL_CLASSES, TARGET_CLASSES, UNIT_BUCKETS,
                                    class_mask)
from pipeline.types import LABELS, QUANTITY_LABELS

CLASS_MASKS = {label: torch.tensor(class_mask(label)) for label in TARGET_CLASSES}


class ExtractorNet(nn.Module):
    def __init__(self, encoder: nn.Module, rel_dim: int = 256, dropout: float = 0.1, pair_features: bool = True):
        super().__init__()
        h = encoder.config.hidden_size
        self.encoder = encoder
        self.drop = nn.Dropout(dropout)
        self.ner = nn.Linear(h, len(TAGS))
        self.label_emb = nn.Embedding(len(LABELS), 32)
        self.ent_proj = nn.Linear(2 * h + 32, rel_dim)
        self.dist_emb = nn.Embedding(2 * DIST_BUCKETS + 1, 32)
        self.rank_emb = nn.Embedding(RANK_BUCKETS, 16)
        self.gap_emb = nn.Embedding(GAP_BUCKETS, 16)
        self.ctx_proj = nn.Linear(h, rel_dim)
        extra = 0
        if pair_features:  # unit relation, part cue, counts between (columns 5-7 of make_pairs)
            self.unit_emb = nn.Embedding(UNIT_BUCKETS, 16)
            self.cue_emb = nn.Embedding(2, 16)
            self.between_emb = nn.Embedding(BETWEEN_BUCKETS, 16)
            extra = 48
        self.pair_features = pair_features
        self.rel = nn.Sequential(
            nn.Linear(4 * rel_dim + 32 + 16 + 16 + extra, rel_dim), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(rel_dim, len(REL_CLASSES)),
        )
        self.head_config = {"rel_dim": rel_dim, "dropout": dropout, "pair_features": pair_features}

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        hidden = self.drop(hidden)
        return hidden, self.ner(hidden)

    def relation_logits(self, hidden: torch.Tensor, ents: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """ents: (E, 4) rows of [batch, start, end_inclusive, label]; pairs: (P, 8) rows of
        [head_ent, tail_ent, dist_bucket, rank, gap, unit relation, part cue, counts between] (data.make_pairs);
        positions already include the [CLS] shift."""
        if pairs.numel() == 0:
            return hidden.new_zeros((0, len(REL_CLASSES)))
        start = hidden[ents[:, 0], ents[:, 1]]
        end = hidden[ents[:, 0], ents[:, 2]]
        rep = torch.tanh(self.ent_proj(torch.cat([start, end, self.label_emb(ents[:, 3])], -1)))
        q, a = rep[pairs[:, 0]], rep[pairs[:, 1]]
        parts = [q, a, q * a, self._between(hidden, ents, pairs), self.dist_emb(pairs[:, 2]),
                 self.rank_emb(pairs[:, 3]), self.gap_emb(pairs[:, 4])]
        if self.pair_features:
            parts += [self.unit_emb(pairs[:, 5]), self.cue_emb(pairs[:, 6]), self.between_emb(pairs[:, 7])]
        return self.rel(torch.cat(parts, -1))

    def _between(self, hidden: torch.Tensor, ents: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Mean of the hidden states strictly between the two entities (zeros when adjacent)."""
        cums = torch.nn.functional.pad(hidden.cumsum(1), (0, 0, 1, 0))  # cums[b, i] = sum of hidden[b, :i]
        h, t = ents[pairs[:, 0]], ents[pairs[:, 1]]
        lo = torch.minimum(h[:, 2], t[:, 2]) + 1
        hi = torch.maximum(h[:, 1], t[:, 1])
        n = (hi - lo).clamp(min=0)
        hi = lo + n
        total = cums[h[:, 0], hi] - cums[h[:, 0], lo]
        return torch.tanh(self.ctx_proj(total / n.clamp(min=1).unsqueeze(-1)))


class EncodeView(nn.Module):
    """The encoder and tagging head alone, as one graph (for export)."""

    def __init__(self, net: ExtractorNet):
        super().__init__()
        self.net = net

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.encode(input_ids, attention_mask)


class RelationView(nn.Module):
    """The relation head alone, as one graph (for export)."""

    def __init__(self, net: ExtractorNet):
        super().__init__()
        self.net = net

    def forward(self, hidden: torch.Tensor, ents: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        return self.net.relation_logits(hidden, ents, pairs)


def build_encoder(path: str | Path) -> tuple[nn.Module, dict]:
    """Any local HF encoder checkpoint directory (ours, or e.g. a downloaded chinese-roberta)."""
    from transformers import AutoConfig, AutoModel

    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path}: not a Hugging Face checkpoint directory (no config.json)")
    config = AutoConfig.from_pretrained(path)
    encoder = AutoModel.from_pretrained(path, config=config, add_pooling_layer=False) \
        if config.model_type == "bert" else AutoModel.from_pretrained(path, config=config)
    return encoder.float(), config.to_dict()


def save_bundle(net: ExtractorNet, vocab_dir: Path, out: Path, meta: dict, fp16: bool = True) -> None:
    from safetensors.torch import save_file

    out = Path(out)
    (out / "encoder").mkdir(parents=True, exist_ok=True)
    enc = net.encoder
    state = {k: v.detach().clone() for k, v in enc.state_dict().items()}
    enc.save_pretrained(out / "encoder", state_dict={k: v.half() if fp16 and v.is_floating_point() else v
                                                     for k, v in state.items()}, safe_serialization=True)
    for name in ("vocab.txt", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"):
        src = Path(vocab_dir) / name
        if src.exists():
            (out / "encoder" / name).write_bytes(src.read_bytes())
    heads = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items() if not k.startswith("encoder.")}
    save_file({k: v.half() if fp16 and v.is_floating_point() else v for k, v in heads.items()},
              str(out / "heads.safetensors"))
    (out / "config.json").write_text(json.dumps({**meta, "head_config": net.head_config, "tags": TAGS,
                                                 "labels": list(LABELS), "relation_classes": REL_CLASSES,
                                                 "quantity_labels": list(QUANTITY_LABELS)},
                                                ensure_ascii=False, indent=1), encoding="utf-8")


def load_bundle(path: str | Path) -> tuple[ExtractorNet, dict]:
    from safetensors.torch import load_file

    path = Path(path)
    cfg_file = path / "config.json"
    if not cfg_file.exists() or not (path / "heads.safetensors").exists():
        raise FileNotFoundError(f"{path}: not a jianbao model (config.json and heads.safetensors expected)")
    meta = json.loads(cfg_file.read_text(encoding="utf-8"))
    encoder, _ = build_encoder(path / "encoder")
    net = ExtractorNet(encoder, **{"pair_features": False, **meta.get("head_config", {})})
    heads = {k: v.float() for k, v in load_file(str(path / "heads.safetensors")).items()}
    missing, unexpected = net.load_state_dict(heads, strict=False)
    if unexpected or any(not k.startswith("encoder.") for k in missing):
        raise ValueError(f"{path}: heads do not match the network ({unexpected or missing})")
    net.eval()
    return net, meta
