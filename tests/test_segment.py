"""Segmentation: spaCy zh + pkuseg (the pkuseg==0.0.25 default model) + the domain user dictionary."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from pipeline.config import load_settings
from pipeline.segment import (ModelMissingError, clear_cache, get_nlp, segment_document, segment_text, setup_pkuseg,
                              tokenize)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "bulletins"
DIGIT_END = re.compile(r"[0-9０-９]$")
MULT_START = re.compile(r"^[万亿]")


def words(nlp, text: str) -> list[str]:
    return [t.text for t in nlp(text) if not t.is_space]


DOMAIN_TEXTS = [
    "查处的江西省凯鑫化工科技有限公司非法建设案被应急管理部评为全国安全生产优秀执法案例。",
    "应急管理部办公厅印发通知，要求各地做好安全生产工作。",
    "各级应急管理部门和安全生产委员会办公室联合开展检查。",
    "省安委会、专委会部署隐患排查治理，市应急管理局、消防救援支队参加。",
]


@pytest.mark.parametrize("text", DOMAIN_TEXTS, ids=[f"text{i}" for i in range(len(DOMAIN_TEXTS))])
def test_domain_terms_are_never_split(nlp, text):
    """Every occurrence of a domain term lies inside one token (应急管理部门 is one word of its own)."""
    doc = nlp(text)
    spans = [(t.idx, t.idx + len(t.text)) for t in doc]
    checked = 0
    for term in ("应急管理部", "安全生产", "安委会", "专委会", "应急管理局", "隐患排查", "消防救援"):
        for m in re.finditer(term, text):
            assert any(a <= m.start() and m.end() <= b for a, b in spans), (term, [t.text for t in doc])
            checked += 1
    assert checked >= 2


def test_seed_keeps_domain_terms(nlp, seed_doc):
    toks = [t.text for sents in segment_document(seed_doc) for s in sents for t in s.tokens]
    assert "应急管理部" in toks
    assert toks.count("安全生产") >= 10
    pairs = set(zip(toks, toks[1:]))
    assert not pairs & {("安全", "生产"), ("应急", "管理部"), ("应急管理", "部"), ("专", "委会"), ("安委", "会")}


@pytest.mark.parametrize("text, unit", [
    ("辨识风险点 5.65 万处，其中重大风险点 510 处。", "5.65 万"),
    ("排查整治问题隐患 1.05 万余条。", "1.05 万"),
    ("消防部门投入 7.3 亿元，建成小型消防站 101 个。", "7.3 亿"),
    ("交通部门查处酒醉驾 1.94 万余起、无证驾驶 7.3 万余起。", "1.94 万"),
    ("财政拨付620万元专款，全年投入12亿元。", "620万"),
    ("排查整治隐患13.49万条，联合检查企业5.39万家。", "13.49万"),
    ("经济处罚 5093 万元，移送司法机关 66 人。", "5093 万"),
])
def test_a_number_is_never_split_from_its_multiplier(nlp, text, unit):
    w = words(nlp, text)
    assert any(x.startswith(unit) for x in w), w
    for a, b in zip(w, w[1:]):
        assert not (DIGIT_END.search(a) and MULT_START.match(b)), (a, b, w)


def test_no_number_split_from_its_multiplier_in_any_example(nlp, settings):
    from pipeline.loaders import iter_documents

    n = 0
    for _, doc in iter_documents(EXAMPLES, settings):
        for sents in segment_document(doc, settings):
            for s in sents:
                toks = [t.text for t in s.tokens]
                for a, b in zip(toks, toks[1:]):
                    assert not (DIGIT_END.search(a) and MULT_START.match(b)), (a, b, s.text)
                n += sum(1 for t in toks if re.search(r"\d\s*[万亿]", t))
    assert n > 50  # the examples are full of such figures


def test_sentences_end_at_final_punctuation_and_line_breaks(nlp):
    text = "全市共发生事故99起！同比下降24.4%？已完成227项；剩余12项。“十大攻坚战”全面完成。”他说\n第二行没有标点\n第三行"
    sents = [s.text for s in segment_text(text)]
    assert sents == ["全市共发生事故99起！", "同比下降24.4%？", "已完成227项；", "剩余12项。",
                     "“十大攻坚战”全面完成。”", "他说", "第二行没有标点", "第三行"]


def test_tokens_carry_raw_offsets_across_a_mended_page_break(nlp, seed_doc):
    raw = seed_doc.raw
    per_par = segment_document(seed_doc)
    assert len(per_par) == len(seed_doc.paragraphs)
    for par, sents in zip(seed_doc.paragraphs, per_par):
        assert re.sub(r"\s+", "", "".join(t.text for s in sents for t in s.tokens)) == re.sub(r"\s+", "", par.text)
        for s in sents:
            assert re.sub(r"\s+", "", raw[s.start:s.end]) == re.sub(r"\s+", "", s.text)
            for t in s.tokens:
                assert re.sub(r"\s+", "", raw[t.start:t.end]) == re.sub(r"\s+", "", t.text)
    crossing = [t for sents in per_par for s in sents for t in s.tokens if "\n" in raw[t.start:t.end]]
    assert crossing and all(t.text in ("工业园区", "园区", "燃气", "气", "工业") or "\n" not in t.text for t in crossing)


def test_fast_pkuseg_gives_exactly_pkusegs_own_output(nlp, seed_text, settings):
    """The faster feature extraction in pipeline.segment must not change a single segmentation."""
    seg = nlp.tokenizer.pkuseg_seg
    cls = type(seg)
    from pipeline.loaders import iter_documents

    texts = [seed_text] + [p.text for _, d in iter_documents(EXAMPLES, settings) for p in d.paragraphs]
    texts += ["ABC公司2021年投入1.5亿元，ｘｙｚ全角ＡＢＣ１２３。", "a", "——", "-._,|/*:混合", "含\ufdd0的文本12"]
    for text in texts:
        for chunk in text.split():
            fe = seg.feature_extractor
            nodes = list(fe.normalize_text(chunk))
            assert seg._jianbao_features(nodes) == [fe.get_node_features_idx(i, nodes) for i in range(len(nodes))]
            assert seg._cut(chunk) == cls._cut(seg, chunk)
            pp = seg.postprocesser
            assert pp.post_process(list(seg._cut(chunk)), True) == type(pp).post_process(pp, list(cls._cut(seg, chunk)), True)


def test_missing_model_says_how_to_get_it(tmp_path):
    s = load_settings(environ={"JIANBAO_SEGMENT__PKUSEG_MODEL": str(tmp_path / "nowhere")})
    with pytest.raises(ModelMissingError) as info:
        get_nlp(s)
    assert "jianbao setup" in str(info.value) and str(tmp_path / "nowhere") in str(info.value)


def test_setup_is_idempotent_and_fast_when_cached(settings, nlp):
    t0 = time.perf_counter()
    path = setup_pkuseg(settings)
    assert time.perf_counter() - t0 < 2
    assert (path / "weights.npz").is_file()


def test_jieba_backend_when_configured():
    s = load_settings(environ={"JIANBAO_SEGMENT__BACKEND": "jieba"})
    try:
        toks = tokenize("应急管理部评为全国安全生产优秀执法案例，投入 7.3 亿元。", s)
    finally:
        clear_cache()
    assert "应急管理部" in toks and "安全生产" in toks
    assert not any(DIGIT_END.search(a) and MULT_START.match(b) for a, b in zip(toks, toks[1:]))
