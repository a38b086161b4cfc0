"""What the relation head predicts and which argument labels admit which classes (no torch here:
inference imports this without the training stack)."""
from __future__ import annotations

import numpy as np

from pipeline.types import RELATION_TYPES

REL_CLASSES = ["none", *RELATION_TYPES]
TARGET_CLASSES = {
    "ITEM": ["item"], "ORG": ["agent"], "GPE": ["place"], "DATE": ["time"],
    "PERCENT": ["increase", "decrease", "part_of"],
    "COUNT": ["part_of"], "MONEY": ["part_of"], "MEASURE": ["part_of"],
}
DIST_BUCKETS = 16
RANK_BUCKETS = 4
GAP_BUCKETS = 4
UNIT_BUCKETS = 5   # 0: not a quantity, 1..3: same unit (rank among those), 4: another unit
BETWEEN_BUCKETS = 5  # non-PERCENT quantities between head and tail: 0..3, 4 = more
PAIR_COLUMNS = 8   # head, tail, dist, rank, gap, unit relation, part cue, counts between


def class_mask(label: str) -> list[bool]:
    allowed = {"none", *TARGET_CLASSES[label]}
    return [c in allowed for c in REL_CLASSES]


CLASS_MASK_ROWS = {label: np.array(class_mask(label)) for label in TARGET_CLASSES}


def dist_bucket(d: int) -> int:
    """Signed log-scale bucket of a character distance, in [0, 2*DIST_BUCKETS]."""
    mag = min(DIST_BUCKETS, int(abs(d)).bit_length())
    return DIST_BUCKETS + (mag if d >= 0 else -mag)
