"""BIOES character tags over the eight labels, and constrained Viterbi decoding to valid spans."""
from __future__ import annotations

import numpy as np

from pipeline.types import LABELS

TAGS = ["O"] + [f"{p}-{l}" for l in LABELS for p in "BIES"]
TAG_INDEX = {t: i for i, t in enumerate(TAGS)}
NEG = -1e4


def spans_to_tags(length: int, spans: list[tuple[int, int, str]]) -> list[int]:
    tags = [0] * length
    for s, e, label in spans:
        if e - s == 1:
            tags[s] = TAG_INDEX[f"S-{label}"]
        else:
            tags[s] = TAG_INDEX[f"B-{label}"]
            for i in range(s + 1, e - 1):
                tags[i] = TAG_INDEX[f"I-{label}"]
            tags[e - 1] = TAG_INDEX[f"E-{label}"]
    return tags


def tags_to_spans(tags: list[int]) -> list[tuple[int, int, str]]:
    spans, start, cur = [], None, None
    for i, t in enumerate(tags):
        name = TAGS[t]
        if name == "O":
            start = cur = None
            continue
        p, label = name.split("-", 1)
        if p == "S":
            spans.append((i, i + 1, label))
            start = cur = None
        elif p == "B":
            start, cur = i, label
        elif p == "E" and start is not None and cur == label:
            spans.append((start, i + 1, label))
            start = cur = None
        elif p == "I" and cur == label:
            continue
        else:
            start = cur = None
    return spans


def _allowed() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(TAGS)
    trans = np.full((n, n), NEG, dtype=np.float32)
    start = np.full(n, NEG, dtype=np.float32)
    end = np.full(n, NEG, dtype=np.float32)
    for i, a in enumerate(TAGS):
        pa, la = (a.split("-", 1) + [None])[:2] if a != "O" else ("O", None)
        if pa in ("O", "B", "S"):
            start[i] = 0
        if pa in ("O", "E", "S"):
            end[i] = 0
        for j, b in enumerate(TAGS):
            pb, lb = (b.split("-", 1) + [None])[:2] if b != "O" else ("O", None)
            if pa in ("O", "E", "S"):
                ok = pb in ("O", "B", "S")
            else:  # B or I must continue the same label
                ok = pb in ("I", "E") and lb == la
            if ok:
                trans[i, j] = 0
    return trans, start, end


TRANSITIONS, START, END = _allowed()


def viterbi(logprobs: np.ndarray) -> list[int]:
    """Best tag sequence under the BIOES constraints; logprobs is (length, n_tags)."""
    L = logprobs.shape[0]
    if L == 0:
        return []
    score = logprobs[0] + START
    back = np.zeros((L, len(TAGS)), dtype=np.int32)
    for i in range(1, L):
        cand = score[:, None] + TRANSITIONS
        back[i] = cand.argmax(0)
        score = cand.max(0) + logprobs[i]
    score = score + END
    best = [int(score.argmax())]
    for i in range(L - 1, 0, -1):
        best.append(int(back[i, best[-1]]))
    return best[::-1]


def viterbi_batch(logprobs: np.ndarray, lengths: list[int]) -> list[list[int]]:
    """`viterbi` for a padded batch (rows, length, n_tags) at once: one numpy step per position of the
    longest row instead of one per position of every row; the same paths, ties included."""
    rows = logprobs.shape[0]
    longest = max(lengths, default=0)
    if longest == 0:
        return [[] for _ in range(rows)]
    active = np.arange(longest)[None, :] < np.asarray(lengths)[:, None]
    score = logprobs[:, 0] + START
    back = np.zeros((rows, longest, len(TAGS)), dtype=np.int32)
    for i in range(1, longest):
        cand = score[:, :, None] + TRANSITIONS
        back[:, i] = cand.argmax(1)
        step = cand.max(1) + logprobs[:, i]
        score = np.where(active[:, i, None], step, score)
    last = (score + END).argmax(1).tolist()
    paths = []
    for r, n in enumerate(lengths):
        if n == 0:
            paths.append([])
            continue
        steps = back[r, :n].tolist()
        best = [last[r]]
        for i in range(n - 1, 0, -1):
            best.append(steps[i][best[-1]])
        paths.append(best[::-1])
    return paths


def label_mask(known: set[str]) -> np.ndarray:
    """Tags a position outside every annotated span may take when a set annotates only `known` labels."""
    return np.array([t == "O" or t.split("-", 1)[1] not in known for t in TAGS], dtype=bool)
