"""One position per character: a char vocabulary for our own encoder, and the same mapping onto
any local Hugging Face checkpoint's vocab.txt (Chinese BERT vocabularies hold single characters)."""
from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterable

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[SP]", "[NL]"]
PUNCT = "，。、；：！？“”‘’（）《》【】〔〕—…·％～－＋／"


def _base_chars() -> list[str]:
    ascii_chars = [chr(c) for c in range(33, 127)]
    fullwidth = [chr(c) for c in range(0xFF01, 0xFF5F)]
    return ascii_chars + fullwidth + list(PUNCT) + list("〇零一二三四五六七八九十百千万亿两半余多近约超逾")


class CharVocab:
    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}
        self.unk = self.index.get("[UNK]", 1)
        self.pad = self.index.get("[PAD]", 0)
        self.cls = self.index.get("[CLS]", 2)
        self.sep = self.index.get("[SEP]", 3)
        self.mask = self.index.get("[MASK]", 4)
        self.space = self.index.get("[SP]", self.index.get("[unused1]", self.unk))
        self.newline = self.index.get("[NL]", self.index.get("[unused2]", self.space))

    def __len__(self) -> int:
        return len(self.tokens)

    def char_id(self, ch: str) -> int:
        if ch in self.index:
            return self.index[ch]
        if ch in "\n\r":
            return self.newline
        if ch.isspace():
            return self.space
        folded = unicodedata.normalize("NFKC", ch).lower()
        return self.index.get(folded, self.unk)

    def encode(self, text: str) -> list[int]:
        return [self.char_id(ch) for ch in text]

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 3, max_size: int = 12000) -> "CharVocab":
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(t)
        tokens = list(SPECIALS)
        seen = set(tokens)
        for ch in _base_chars():
            if ch not in seen:
                tokens.append(ch)
                seen.add(ch)
        for ch, n in counts.most_common():
            if len(tokens) >= max_size or n < min_count:
                break
            if ch not in seen and not ch.isspace():
                tokens.append(ch)
                seen.add(ch)
        return cls(tokens)

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "vocab.txt").write_text("\n".join(self.tokens) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "CharVocab":
        path = Path(directory) / "vocab.txt"
        if not path.exists():
            raise FileNotFoundError(f"{directory}: no vocab.txt (a character-level vocabulary is needed)")
        return cls(path.read_text(encoding="utf-8").rstrip("\n").split("\n"))
