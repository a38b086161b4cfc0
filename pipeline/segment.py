"""Word segmentation: a spaCy ``zh`` pipeline with the pkuseg segmenter and a domain user dictionary.

* The pkuseg model is the ``default`` model that the sdist of ``pkuseg==0.0.25`` carries
  (``pkuseg/models/default/``). :func:`setup_pkuseg` fetches that sdist from PyPI with pip, extracts the
  model into ``<cache_dir>/pkuseg/default`` (or ``segment.pkuseg_model``) and reuses it afterwards.
* ``configs/user_dict.txt`` (``segment.user_dict``) keeps domain terms whole (应急管理部, 安全生产 …).
* A number is never split from its 万/亿 multiplier (5.65 万处 → "5.65 万" + "处").
* Sentences end after 。！？； (and their closing quotes) and at line breaks.
* ``segment.backend = "jieba"`` uses jieba instead; it is never chosen silently.

Nothing heavy happens at import time: spaCy is imported and the model loaded on first use, then cached.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Doc

    from pipeline.config import Settings
    from pipeline.types import Document, Paragraph

PKUSEG_VERSION = "0.0.25"
MODEL_FILES = ("weights.npz",)
FEATURE_FILES = ("features.msgpack", "features.pkl", "features.json")
SENT_END = set("。！？；!?;")
CLOSERS = set("”’」』）)】〕》\"'")
_NUMBER = re.compile(r"(?:[0-9０-９][0-9０-９.,，．]*[0-9０-９]|[0-9０-９])(?:余|多)?$")
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千]+(?:余|多)?$")
_MULT = re.compile(r"^(?:[万亿]+)(?:余|多)?")
_DIGITS = set("0123456789０１２３４５６７８９")


class SegmentError(RuntimeError):
    """Segmentation cannot run (model missing, bad configuration)."""


class ModelMissingError(SegmentError):
    pass


class SetupError(RuntimeError):
    pass


# --------------------------------------------------------------------------- the pkuseg model

def _settings(settings: "Settings | None") -> "Settings":
    if settings is None:
        from pipeline.config import get_settings

        settings = get_settings()
    return settings


def pkuseg_model_dir(settings: "Settings | None" = None) -> Path:
    settings = _settings(settings)
    if settings.segment.pkuseg_model:
        return settings.resolve(settings.segment.pkuseg_model)
    return settings.cache_dir / "pkuseg" / "default"


def model_ready(d: Path) -> bool:
    return all((d / f).is_file() for f in MODEL_FILES) and any((d / f).is_file() for f in FEATURE_FILES)


def _download_sdist(dest: Path, log: Callable[[str], None]) -> Path:
    """The pkuseg sdist, by pip from the configured package index."""
    spec = f"pkuseg=={PKUSEG_VERSION}"
    base = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--disable-pip-version-check",
            "-q", "-d", str(dest)]
    errors: list[str] = []
    # pkuseg's setup.py imports numpy, so metadata preparation needs the venv's numpy (no build isolation)
    for extra in (["--no-build-isolation"], []):
        proc = subprocess.run(base + extra + [spec], capture_output=True, text=True)
        found = sorted(dest.glob("pkuseg-*.tar.gz"))
        if found:
            return found[0]
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        errors.append(tail[-1] if tail else f"pip exited with {proc.returncode}")
    raise SetupError(f"could not download {spec} from PyPI with pip: {errors[-1]}")


def setup_pkuseg(settings: "Settings | None" = None, log: Callable[[str], None] | None = None) -> Path:
    """Make sure the pkuseg model is in its cache directory and return that directory (idempotent)."""
    log = log or (lambda s: None)
    target = pkuseg_model_dir(settings)
    if model_ready(target):
        log(f"pkuseg model already cached at {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    log(f"fetching the pkuseg=={PKUSEG_VERSION} sdist from PyPI for its default model …")
    with tempfile.TemporaryDirectory(prefix="jianbao-pkuseg-") as tmp:
        sdist = _download_sdist(Path(tmp), log)
        staging = Path(tempfile.mkdtemp(prefix=".default-", dir=target.parent))
        try:
            n = 0
            with tarfile.open(sdist, "r:gz") as tar:
                for m in tar.getmembers():
                    parts = Path(m.name).parts
                    if len(parts) == 5 and parts[1:4] == ("pkuseg", "models", "default") and m.isfile():
                        if parts[4] == "__init__.py":
                            continue
                        src = tar.extractfile(m)
                        if src is None:
                            continue
                        with src, open(staging / parts[4], "wb") as out:
                            shutil.copyfileobj(src, out, 1 << 20)
                        n += 1
            if not model_ready(staging):
                raise SetupError(f"{sdist.name} has no usable pkuseg/models/default/ (found {n} files)")
            os.chmod(staging, 0o755)
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    log(f"pkuseg model cached at {target}")
    return target


# --------------------------------------------------------------------------- the spaCy pipeline

_LOCK = threading.Lock()
_NLP_CACHE: dict[tuple[Any, ...], "Language"] = {}
_COMPONENT_REGISTERED = False


def _register_component() -> None:
    global _COMPONENT_REGISTERED
    if _COMPONENT_REGISTERED:
        return
    from spacy.language import Language

    if "jianbao_sentences" not in Language.factories:
        Language.component("jianbao_sentences", func=_set_sentences)
    _COMPONENT_REGISTERED = True


def sentence_starts(texts: list[str], spaces: list[str]) -> list[bool]:
    """Which tokens start a sentence: the first; one after 。！？； (closing quotes and brackets stay with
    their sentence); one after a line break. Whitespace tokens never start one."""
    out: list[bool] = []
    prev_final = prev_break = False
    for i, (t, ws) in enumerate(zip(texts, spaces)):
        if i == 0:
            out.append(True)
        else:
            out.append((prev_final or prev_break) and not t.isspace() and t[0] not in CLOSERS and t[0] not in SENT_END)
        if t.isspace():
            if "\n" in t or "\r" in t:
                prev_break = True
            continue
        if t[-1] in SENT_END:
            prev_final, prev_break = True, ("\n" in ws)
        elif prev_final and all(c in CLOSERS for c in t):
            prev_break = False
        else:
            prev_final, prev_break = False, False
    return out


def _set_sentences(doc: "Doc") -> "Doc":
    """spaCy component: sentence starts by :func:`sentence_starts` (set in one array operation)."""
    if not len(doc):
        return doc
    import numpy

    from spacy.attrs import SENT_START

    pairs = [(t.text, t.whitespace_) for t in doc]
    starts = sentence_starts([p[0] for p in pairs], [p[1] for p in pairs])
    arr = numpy.array([1 if x else -1 for x in starts], dtype="int64").astype("uint64").reshape(-1, 1)
    doc.from_array([SENT_START], arr)
    return doc


class NumberSafeTokenizer:
    """Wraps spaCy's Chinese tokenizer; re-joins a number that segmentation split from its 万/亿."""

    def __init__(self, base: Any, vocab: Any):
        self.base = base
        self.vocab = vocab

    def __call__(self, text: str) -> "Doc":
        doc = self.base(text)
        for _ in range(4):  # a merge can leave a remainder that is itself a number before 万 (rare)
            fixed = _fix_numbers(doc, text)
            if fixed is None:
                break
            from spacy.tokens import Doc

            words, spaces = fixed
            doc = Doc(self.vocab, words=words, spaces=spaces)
        return doc

    # spaCy calls these on (de)serialisation; delegate
    def __getattr__(self, name: str) -> Any:
        if name in ("base", "vocab") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.base, name)


def _fix_numbers(doc: "Doc", text: str) -> tuple[list[str], list[bool]] | None:
    if "万" not in text and "亿" not in text:
        return None
    n = len(doc)
    hits = []
    for i in range(n - 1):
        a, b = doc[i], doc[i + 1]
        if a.whitespace_ not in ("", " ") or not b.text or b.text[0] not in "万亿":
            continue
        at = a.text
        if at[-1] in _DIGITS or _NUMBER.fullmatch(at):
            hits.append(i)
        elif not a.whitespace_ and _CN_NUMBER.fullmatch(at) and len(at) <= 6:
            hits.append(i)
    if not hits:
        return None
    words: list[str] = []
    spaces: list[bool] = []
    hit = set(hits)
    i = 0
    while i < n:
        tok = doc[i]
        if i in hit and i + 1 < n:
            nxt = doc[i + 1]
            m = _MULT.match(nxt.text)
            mult = m.group(0) if m else nxt.text[0]
            rest = nxt.text[len(mult):]
            words.append(tok.text + tok.whitespace_ + mult)
            if rest:
                spaces.append(False)
                words.append(rest)
                spaces.append(bool(nxt.whitespace_))
            else:
                spaces.append(bool(nxt.whitespace_))
            i += 2
            continue
        words.append(tok.text)
        spaces.append(bool(tok.whitespace_))
        i += 1
    return words, spaces


# --------------------------------------------------------------------------- a faster pkuseg (same output)
#
# spacy_pkuseg computes ~80 string features per character in a per-character call; most of them repeat
# (the same dictionary-word contexts around many characters). These replacements compute exactly the
# same feature lists (same features, same order, same weights, so the same Viterbi path) with each
# dictionary lookup done once per position and the word-pair features cached per context, and skip the
# dictionary post-processing's n-gram joins that cannot be dictionary words. tests/test_segment.py
# checks that the output equals spacy_pkuseg's own.

_NOWORD = "**noWord"


def _install_fast_pkuseg(seg: Any) -> None:
    from spacy_pkuseg import inference as _inf
    from spacy_pkuseg.config import config

    fe = seg.feature_extractor
    f2i: dict[str, int] = fe.feature_to_idx
    get = f2i.get
    unigram = fe.unigram
    lengths = tuple(range(config.wordMax, config.wordMin - 1, -1))
    wmax = config.wordMax
    word_feature = bool(config.wordFeature)
    model = seg.model
    is_b = [("B" in seg.idx_to_tag[k]) for k in range(len(seg.idx_to_tag))]
    uni_cache: dict[str, tuple[int | None, ...]] = {}
    bi_cache: dict[tuple[str, str], tuple[int | None, ...]] = {}
    wpre_cache: dict[tuple[str, ...], list[int]] = {}
    wpost_cache: dict[tuple[str, ...], list[int]] = {}
    wwl_cache: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
    wwr_cache: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
    empty = "" if "" in unigram else _NOWORD  # what an out-of-range slice contributes
    # multi-character nodes (**Num, **Letter …) become one private-use character each, so that word
    # candidates are plain string slices; word_of maps such a slice back to the unigram entry
    specials = sorted({x for w in unigram for x in re.findall(r"\*\*[A-Za-z]+", w)} | {"**Num", "**Letter"})
    node_char = {x: chr(0xFDD0 + k) for k, x in enumerate(specials)}  # Unicode noncharacters
    placeholders = set(node_char.values())
    word_map: dict[str, str] = {}
    for w in unigram:
        f = w
        for x, ch in node_char.items():
            if x in f:
                f = f.replace(x, ch)
        word_map[f] = w
    word_of = word_map.get

    def uni(x: str) -> tuple[int | None, ...]:
        r = uni_cache.get(x)
        if r is None:
            r = uni_cache[x] = (get("c." + x), get("c-1." + x), get("c1." + x), get("c-2." + x), get("c2." + x))
        return r

    def bi(a: str, b: str) -> tuple[int | None, ...]:
        r = bi_cache.get((a, b))
        if r is None:
            ab = a + "." + b
            r = bi_cache[(a, b)] = (get("c-1c." + ab), get("cc1." + ab), get("c-2c-1." + ab))
        return r

    def found(keys: Iterable[str]) -> list[int]:
        return [v for v in map(get, keys) if v is not None]

    rowl_cache: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    rowr_cache: dict[tuple[str, tuple[str, ...]], list[int]] = {}

    pairl_cache: dict[tuple[str, str], int | None] = {}
    pairr_cache: dict[tuple[str, str], int | None] = {}

    def row(cache: dict[tuple[str, str], int | None], prefix: str, a: str, posts: tuple[str, ...]) -> list[int]:
        out = []
        for b in posts:
            v = cache.get((a, b), -1)
            if v == -1:
                v = cache[(a, b)] = get(prefix + a + "*" + b)
            if v is not None:
                out.append(v)
        return out

    def row_l(a: str, posts: tuple[str, ...]) -> list[int]:
        r = rowl_cache.get((a, posts))
        if r is None:
            r = rowl_cache[(a, posts)] = row(pairl_cache, "ww.l.", a, posts)
        return r

    def row_r(a: str, posts: tuple[str, ...]) -> list[int]:
        r = rowr_cache.get((a, posts))
        if r is None:
            r = rowr_cache[(a, posts)] = row(pairr_cache, "ww.r.", a, posts)
        return r

    def combined(key: tuple[tuple[str, ...], ...]) -> list[int]:
        """w-1, w1, ww.l and ww.r features of a position, from (pre_ex, pre_in, post_in, post_ex)."""
        pre_ex, pre_in, post_in, post_ex = key
        r1 = wpre_cache.get(pre_in)
        if r1 is None:
            r1 = wpre_cache[pre_in] = found("w-1." + t for t in pre_in if t != _NOWORD)
        r2 = wpost_cache.get(post_in)
        if r2 is None:
            r2 = wpost_cache[post_in] = found("w1." + t for t in post_in if t != _NOWORD)
        r3 = wwl_cache.get((pre_ex, post_in))
        if r3 is None:
            r3 = wwl_cache[(pre_ex, post_in)] = [v for a in pre_ex for v in row_l(a, post_in)]
        r4 = wwr_cache.get((pre_in, post_ex))
        if r4 is None:
            r4 = wwr_cache[(pre_in, post_ex)] = [v for a in pre_in for v in row_r(a, post_ex)]
        return r1 + r2 + r3 + r4

    def features(nodes: list[str]) -> list[list[int]]:
        """The feature index lists of spacy_pkuseg's __get_node_features_idx, for every position."""
        n = len(nodes)
        for cache in caches:  # bounded memory
            if len(cache) > 300_000:
                cache.clear()
        ug, bg = uni_cache.get, bi_cache.get
        U = [ug(x) or uni(x) for x in nodes]
        Bg = [bg(k) or bi(*k) for k in zip(nodes, nodes[1:])]
        PRE: list[tuple[str, ...]] = []
        POST: list[tuple[str, ...]] = []
        if word_feature:
            # W[l][j + wmax]: nodes[j:j+l] if it is a known word, else **noWord; '' out of range.
            # Slices are taken on a string with one character per node (placeholders for **Num …).
            pad = [empty] * wmax
            W: dict[int, list[str]] = {}
            if not any(ch in nodes for ch in placeholders):
                flat = "".join(node_char.get(x) or x for x in nodes)
                for l in lengths:
                    W[l] = pad + [word_of(flat[j:j + l], _NOWORD) for j in range(n - l + 1)] + [empty] * (wmax + l + 2)
            else:  # the text itself holds a placeholder character: join the nodes instead
                for l in lengths:
                    W[l] = pad + [t if (t := "".join(nodes[j:j + l])) in unigram else _NOWORD
                                  for j in range(n - l + 1)] + [empty] * (wmax + l + 2)
            # PRE[i + 1]: words ending at i (i = -1 … n-1); POST[i]: words starting at i (i = 0 … n)
            PRE = list(zip(*[W[l][wmax - l: wmax - l + n + 1] for l in lengths]))
            POST = list(zip(*[W[l][wmax: wmax + n + 1] for l in lengths]))
        # the 8 character features of position i, in pkuseg's order; absent ones (at the edges) are None
        none5: tuple[None, ...] = (None,) * 5
        none3: tuple[None, ...] = (None,) * 3
        Up = [none5, none5] + U + [none5, none5]  # Up[i + 2] = U[i]
        Bp = [none3, none3] + Bg + [none3, none3]  # Bp[i + 2] = Bg[i] (the bigram at i, i+1)
        basic = [
            [0] + [v for v in t if v is not None]
            for t in zip((u[0] for u in U),
                         (u[1] for u in Up[1:n + 1]), (b[0] for b in Bp[1:n + 1]),
                         (u[2] for u in Up[3:n + 3]), (b[1] for b in Bp[2:n + 2]),
                         (u[3] for u in Up[0:n]), (b[2] for b in Bp[0:n]),
                         (u[4] for u in Up[4:n + 4]))
        ]
        if not word_feature:
            return basic
        g1, g2, g3, g4 = wpre_cache.get, wpost_cache.get, wwl_cache.get, wwr_cache.get
        out = []
        for b, pre_ex, pre_in, post_in, post_ex in zip(basic, PRE, PRE[1:], POST, POST[1:]):
            r1, r2, r3, r4 = g1(pre_in), g2(post_in), g3((pre_ex, post_in)), g4((pre_in, post_ex))
            if r1 is None or r2 is None or r3 is None or r4 is None:
                b.extend(combined((pre_ex, pre_in, post_in, post_ex)))
            else:
                b.extend(r1)
                b.extend(r2)
                b.extend(r3)
                b.extend(r4)
            out.append(b)
        return out


    caches = (uni_cache, bi_cache, wpre_cache, wpost_cache, wwl_cache, wwr_cache, rowl_cache, rowr_cache,
              pairl_cache, pairr_cache)

    def clear_caches() -> None:
        for cache in caches:
            cache.clear()

    def fast_cut(text: str) -> list[str]:
        nodes = list(fe.normalize_text(text))
        if not nodes:
            return []
        _, tags = _inf.decodeViterbi_fast(features(nodes), model)
        starts = [0] + [i for i, tag in enumerate(tags) if i and is_b[tag]]
        ends = starts[1:] + [len(tags)]
        return [text[a:b] for a, b in zip(starts, ends)]

    seg._cut = fast_cut
    seg._jianbao_features = features  # for tests
    seg._jianbao_clear_caches = clear_caches

    pp = seg.postprocesser
    if getattr(pp, "do_process", False):
        common, other = pp.common_words, pp.other_words
        first2 = {w[:2] for w in common | other if len(w) >= 2}

        def post_process(sent: list[str], check_seperated: bool) -> list[str]:
            for m in range(7, 1, -1):
                end = len(sent) - m
                if end < 0:
                    continue
                i = 0
                while i < end + 1:
                    a = sent[i]
                    head = a[:2] if len(a) >= 2 else a + sent[i + 1][:1]
                    if head not in first2:
                        i += 1
                        continue
                    merged = "".join(sent[i:i + m])
                    if merged in common:
                        do_seg = True
                    elif merged in other:
                        if check_seperated:
                            do_seg = not all((w in common) or (w in other) for w in sent[i:i + m])
                        else:
                            do_seg = True
                    else:
                        do_seg = False
                    if do_seg:
                        del sent[i:i + m]
                        sent.insert(i, merged)
                        i += 1
                        end = len(sent) - m
                    else:
                        i += 1
            return sent

        pp.post_process = post_process


def user_dict_path(settings: "Settings") -> Path | None:
    if not settings.segment.user_dict:
        return None
    p = settings.resolve(settings.segment.user_dict)
    if not p.is_file():
        raise SegmentError(f"{p}: user dictionary not found (segment.user_dict)")
    return p


def get_nlp(settings: "Settings | None" = None) -> "Language":
    """The cached spaCy pipeline for the configured backend (pkuseg or jieba)."""
    settings = _settings(settings)
    backend = settings.segment.backend
    udict = user_dict_path(settings)
    model = pkuseg_model_dir(settings) if backend == "pkuseg" else None
    key = (backend, str(model), str(udict), udict.stat().st_mtime if udict else None)
    with _LOCK:
        nlp = _NLP_CACHE.get(key)
        if nlp is None:
            nlp = _build(backend, model, udict)
            _NLP_CACHE[key] = nlp
    return nlp


def _build(backend: str, model: Path | None, udict: Path | None, fast: bool = True) -> "Language":
    import spacy

    _register_component()
    if backend == "pkuseg":
        assert model is not None
        if not model_ready(model):
            raise ModelMissingError(
                f"pkuseg model not found at {model}: run `jianbao setup` (or `make setup`) to fetch it from the "
                f"pkuseg=={PKUSEG_VERSION} sdist on PyPI, or set segment.backend = \"jieba\"")
        nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "pkuseg"}}})
        with contextlib.redirect_stderr(io.StringIO()):  # spacy_pkuseg prints a warning about features.msgpack
            nlp.tokenizer.initialize(pkuseg_model=str(model), pkuseg_user_dict=str(udict) if udict else "default")
        if fast:
            _install_fast_pkuseg(nlp.tokenizer.pkuseg_seg)
    elif backend == "jieba":
        nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        if udict:
            import jieba

            jieba.setLogLevel(60)
            jieba.load_userdict(str(udict))
    else:  # pragma: no cover - pydantic already refuses it
        raise SegmentError(f"unknown segment.backend {backend!r}")
    nlp.tokenizer = NumberSafeTokenizer(nlp.tokenizer, nlp.vocab)
    nlp.add_pipe("jianbao_sentences")
    return nlp


def clear_cache() -> None:
    """Forget the loaded pipelines (the next get_nlp loads again)."""
    with _LOCK:
        _NLP_CACHE.clear()


def clear_feature_caches(settings: "Settings | None" = None) -> None:
    """Empty the fast pkuseg's context caches (so that a benchmark sees every text as new)."""
    nlp = get_nlp(settings)
    seg = getattr(nlp.tokenizer, "pkuseg_seg", None)
    fn = getattr(seg, "_jianbao_clear_caches", None)
    if fn is not None:
        fn()


# --------------------------------------------------------------------------- paragraphs → sentences → tokens

@dataclass
class Token:
    text: str
    start: int  # raw offsets (or offsets into the text given)
    end: int


@dataclass
class Sentence:
    text: str
    start: int
    end: int
    tokens: list[Token] = field(default_factory=list)


def _sentences(doc: "Doc", text: str, offsets: list[int] | None = None) -> list[Sentence]:
    """Sentences of ``doc`` (whose text is ``text``), whitespace tokens dropped; with ``offsets``
    (text index → raw index) the offsets are raw offsets."""
    if offsets is None:
        def start_of(i: int) -> int:
            return i

        def end_of(i: int) -> int:
            return i
    else:
        n_off = len(offsets)
        last = offsets[-1] + 1 if offsets else 0

        def start_of(i: int) -> int:
            return offsets[i] if i < n_off else last

        def end_of(i: int) -> int:  # i = exclusive end in text
            return offsets[i - 1] + 1 if 0 < i <= n_off else (last if i > n_off else 0)
    out: list[Sentence] = []
    cur: list[tuple[str, int]] = []

    def close() -> None:
        if cur:
            s_char, e_char = cur[0][1], cur[-1][1] + len(cur[-1][0])
            tokens = [Token(tx, start_of(ix), end_of(ix + len(tx))) for tx, ix in cur]
            out.append(Sentence(text[s_char:e_char], start_of(s_char), end_of(e_char), tokens))
            cur.clear()

    for tx, ix, start in [(t.text, t.idx, t.is_sent_start) for t in doc]:
        if start:
            close()
        if not tx.isspace():
            cur.append((tx, ix))
    close()
    return out


def segment_text(text: str, settings: "Settings | None" = None) -> list[Sentence]:
    """Sentences and tokens of a text; offsets are indices into ``text``."""
    return _sentences(get_nlp(settings)(text), text)


def tokenize(text: str, settings: "Settings | None" = None) -> list[str]:
    """The words of ``text`` (whitespace dropped)."""
    return [t.text for t in get_nlp(settings).make_doc(text) if not t.is_space]


def segment_paragraphs(paragraphs: Iterable["Paragraph"], settings: "Settings | None" = None,
                       batch_size: int = 64) -> list[list[Sentence]]:
    """Sentences and tokens of each paragraph, with offsets into the document's raw text."""
    nlp = get_nlp(settings)
    pars = list(paragraphs)
    out: list[list[Sentence]] = []
    for par, doc in zip(pars, nlp.pipe((p.text for p in pars), batch_size=batch_size)):
        offsets = par.offsets if len(par.offsets) == len(par.text) else list(range(par.start, par.start + len(par.text)))
        out.append(_sentences(doc, par.text, offsets))
    return out


def segment_paragraph(par: "Paragraph", settings: "Settings | None" = None) -> list[Sentence]:
    return segment_paragraphs([par], settings)[0]


def segment_document(document: "Document", settings: "Settings | None" = None) -> list[list[Sentence]]:
    """Per paragraph of ``document`` (in order), its sentences with tokens; offsets index ``document.raw``."""
    return segment_paragraphs(document.paragraphs, settings)
