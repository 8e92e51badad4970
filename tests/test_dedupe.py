"""dedupe: normalisation, each layer, idempotence, the window, rebuild, and quality on tests/dedupe_eval.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import SHARED_FIXTURES, missing_shared
from news_harvester.stories.dedupe import (
    DedupeDecision,
    DedupeDoc,
    DedupeParams,
    StoryIndex,
    content_hash,
    fingerprint,
    normalise_for_dedupe,
    shingle_hashes,
    title_bigrams,
)

T = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
BODY = (
    "商务部新闻发言人今日表示，今年前两个月我国数字贸易进出口总额同比增长百分之十二，其中可数字化交付的服务贸易增长较快。"
    "发言人指出，下一步将继续完善跨境数据流动规则，支持企业参与国际数字贸易规则制定，推动数字贸易示范区建设。"
    "据介绍，跨境电商综合试验区已覆盖全国三十一个省区市，海外仓数量超过两千五百个，面积超过三千万平方米。"
    "业内人士认为，数字技术与贸易的深度融合正在重塑全球价值链，我国有条件在数字贸易领域形成新的竞争优势。"
    "商务部还将会同有关部门出台支持数字贸易高质量发展的若干措施，加快培育一批具有国际竞争力的数字贸易龙头企业。"
)
OTHER = (
    "国家统计局今日发布数据，三月份全国居民消费价格同比上涨百分之零点八，环比下降百分之零点一，食品价格有所回落。"
    "其中城市上涨百分之零点九，农村上涨百分之零点六；扣除食品和能源价格的核心指数同比上涨百分之零点七。"
    "统计局城市司首席统计师解读称，受节后消费需求季节性回落等因素影响，多数商品和服务价格有所下降。"
    "一季度平均来看，全国居民消费价格比上年同期上涨百分之零点五，工业生产者出厂价格同比下降。"
    "分析人士预计，随着扩大内需政策持续发力，后期居民消费价格有望保持温和回升态势，物价总体平稳运行。"
)


def doc(
    doc_id: int, body: str = BODY, *, title: str = "数字贸易快速增长", url: str | None = None, when: datetime = T
) -> DedupeDoc:
    return DedupeDoc(doc_id, url or f"https://example{doc_id}.invalid/a.html", title, body, when)


def test_normalise_folds_width_case_punctuation_and_traditional() -> None:
    assert normalise_for_dedupe("ＡＢＣ　１２３，Hello！") == "abc123hello"
    assert normalise_for_dedupe("臺灣經濟發展，來源：新華網") == normalise_for_dedupe("台湾经济发展。来源:新华网")
    assert normalise_for_dedupe(" \n\t…—") == ""


def test_content_hash_ignores_layout_and_refuses_stubs() -> None:
    assert content_hash(normalise_for_dedupe(BODY)) == content_hash(
        normalise_for_dedupe(BODY.replace("，", ", ") + "\n")
    )
    assert content_hash(normalise_for_dedupe("短")) is None


def test_shingles_are_stable_and_distinct() -> None:
    norm = normalise_for_dedupe(BODY)
    a, b = shingle_hashes(norm, 5), shingle_hashes(norm, 5)
    assert (a == b).all()
    assert len(a) == len(set(a.tolist())) <= len(norm) - 4
    assert len(shingle_hashes("ab", 5)) == 1
    assert len(shingle_hashes("", 5)) == 0


def test_url_layer_and_idempotent_add() -> None:
    index = StoryIndex()
    first = doc(1)
    assert index.match(first) == DedupeDecision.new_story()
    index.add(first, 100)
    index.add(first, 999)  # the same doc again: a no-op
    assert len(index) == 1
    assert index.story_of(1) == 100
    again = index.match(first)
    assert (again.kind, again.story_id) == ("exact_duplicate", 100)
    same_url = index.match(doc(2, OTHER, url=first.url))
    assert (same_url.kind, same_url.story_id, same_url.layer) == ("exact_duplicate", 100, "url")


def test_content_hash_layer_across_urls_and_width() -> None:
    index = StoryIndex.from_records([(doc(1), 100)])
    decision = index.match(doc(2, BODY.replace("，", ",").replace("百分之十二", "百分之十二 ")))
    assert (decision.kind, decision.story_id, decision.layer) == ("exact_duplicate", 100, "content_hash")


def test_minhash_layer_joins_reprints_not_other_stories() -> None:
    index = StoryIndex.from_records([(doc(1), 100), (doc(2, OTHER), 200)])
    reprint = "来源：新华网　编辑：李娜\n" + BODY.rsplit("。", 2)[0] + "。" + "\n（责任编辑：李娜）"
    decision = index.match(doc(3, reprint, title="完全不同的标题"))
    assert (decision.kind, decision.story_id, decision.layer) == ("same_story", 100, "minhash")
    assert 0.3 <= decision.similarity < 1.0
    assert index.match(doc(4, OTHER[::-1] + BODY[::-1])).kind == "new_story"


def test_traditional_reprint_is_an_exact_duplicate() -> None:
    trad = BODY.replace("贸易", "貿易").replace("数字", "數字").replace("发言人", "發言人")
    decision = StoryIndex.from_records([(doc(1), 100)]).match(doc(2, trad))
    assert (decision.kind, decision.layer) == ("exact_duplicate", "content_hash")


def test_title_layer_for_flashes_with_time_window() -> None:
    index = StoryIndex()
    flash = doc(1, "央行宣布降准0.5个百分点。", title="央行宣布下调存款准备金率0.5个百分点")
    index.add(flash, 100)
    copy = doc(2, "快讯。", title="快讯：央行宣布下调存款准备金率0.5个百分点", when=T + timedelta(hours=3))
    decision = index.match(copy)
    assert (decision.kind, decision.story_id, decision.layer) == ("same_story", 100, "title")
    late = doc(3, "快讯。", title="快讯：央行宣布下调存款准备金率0.5个百分点", when=T + timedelta(days=5))
    assert index.match(late).kind == "new_story"
    other = doc(4, "快讯。", title="央行宣布开展逆回购操作", when=T + timedelta(hours=1))
    assert index.match(other).kind == "new_story"
    undated = DedupeDoc(5, "https://x.invalid/5", copy.title, copy.body, None)
    assert index.match(undated).kind == "new_story"


def test_long_bodies_do_not_use_the_title_layer() -> None:
    index = StoryIndex.from_records([(doc(1), 100)])
    assert index.match(doc(2, OTHER)).kind == "new_story"  # same title, different long body


def test_remove_older_than_and_rebuild() -> None:
    records = [(doc(1, when=T - timedelta(days=100)), 100), (doc(2, OTHER, when=T), 200)]
    index = StoryIndex.from_records(records)
    assert index.remove_older_than(T - timedelta(days=90)) == 1
    assert 1 not in index
    assert index.match(doc(3)).kind == "new_story"  # its URL, hash, MinHash and title are gone
    assert index.match(doc(4, OTHER)).story_id == 200
    assert sorted(index) == [(2, 200)]
    rebuilt = StoryIndex.from_records([(doc(2, OTHER, when=T), 200)])
    assert rebuilt.match(doc(5, OTHER)) == index.match(doc(5, OTHER))


def test_assign_matches_then_adds() -> None:
    index = StoryIndex()
    assert index.assign(doc(1), 100).kind == "new_story"
    assert index.story_of(1) == 100
    assert index.assign(doc(2, BODY + "编辑：张伟"), 200).story_id == 100
    assert index.story_of(2) == 100


def test_fingerprint_short_and_long() -> None:
    assert fingerprint(doc(1, "短讯。")).is_short
    fp = fingerprint(doc(1))
    assert not fp.is_short and fp.minhash is not None and len(fp.minhash) == DedupeParams().num_perm
    assert fp.title_bigrams == title_bigrams("数字贸易快速增长")


def test_quality_on_evaluation_set() -> None:
    if not (SHARED_FIXTURES / "gne").exists():
        missing_shared(f"shared fixtures not available at {SHARED_FIXTURES}")
    import dedupe_eval

    docs = dedupe_eval.build(SHARED_FIXTURES)
    score = dedupe_eval.evaluate(docs)
    print(f"{len(docs)} docs, {score.true_pairs} same-story pairs: P={score.precision:.4f} R={score.recall:.4f}")
    for pair in score.false[:20]:
        print("false", pair)
    for pair in score.missed[:20]:
        print("missed", pair)
    assert len(docs) > 500
    assert score.precision >= 0.97
    assert score.recall >= 0.90
    for part in ("long", "short"):
        sub = dedupe_eval.evaluate(docs, only=part)
        assert sub.precision >= 0.97 and sub.recall >= 0.90, (part, sub.precision, sub.recall)


def test_permutations_and_banding_are_datasketchs() -> None:
    """The product derives datasketch's "affine32" permutations and its optimal LSH split itself (importing
    datasketch loads scipy at every start); both must stay exactly datasketch's, or stored keys would change."""
    from datasketch import MinHash, MinHashLSH

    from news_harvester.stories.minhash import affine32_permutations, optimal_bands

    for num_perm, seed in ((128, 1), (64, 7), (256, 42)):
        a, b = affine32_permutations(num_perm, seed)
        reference = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        assert (a == reference[0]).all() and (b == reference[1]).all()
    for threshold in (0.3, 0.5, 0.8):
        for num_perm in (64, 128):
            lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
            assert optimal_bands(threshold, num_perm) == (lsh.b, lsh.r), (threshold, num_perm)
