"""Issue 17: service-outsourcing figures stated in harvested articles, offered as figures to confirm.

The release texts below are written for these tests in the shape MOFCOM's monthly 服务外包 releases use (year to
date, RMB then 以美元计, 其中 离岸); the numbers are illustrative. The page test harvests such a release from a
local feed into a real SQLite file, and confirms figures through the review app."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import unquote_plus

from pytest_httpserver import HTTPServer
from sqlalchemy import update

from news_harvester.config import SourceSpec
from news_harvester.editorial.figures_found import find_figures
from news_harvester.store.schema import articles

RELEASE = (
    "商务部服务贸易和商贸服务业司负责人介绍2024年1-5月我国服务外包发展情况。"
    "2024年1-5月，我国企业承接服务外包合同额9171.8亿元，执行额6097.4亿元，同比分别增长14.5%和11.3%。"
    "其中，承接离岸服务外包合同额5299.1亿元，执行额3711.0亿元，同比分别增长12.6%和9.3%。"
    "以美元计，我国企业承接服务外包合同额1290.6亿美元，执行额858.0亿美元，同比分别增长11.1%和8.0%。"
    "其中，承接离岸服务外包合同额745.7亿美元，执行额522.2亿美元，同比分别增长9.3%和6.2%。"
    "从业务结构看，信息技术外包（ITO）、业务流程外包（BPO）和知识流程外包（KPO）执行额均实现增长。"
)
PUBLISHED = datetime(2024, 6, 20, 8, 0, tzinfo=UTC)


def test_a_release_gives_its_dollar_amounts_as_figures_and_its_rmb_amounts_for_reference():
    found = find_figures(RELEASE, PUBLISHED)
    rows = [(f.period, f.region, f.indicator, f.dimension, f.value, f.unit) for f in found]
    assert rows == [
        ("2024-01..2024-05", "全国", "合同签约额", "全部", Decimal("9171.8"), "亿元"),
        ("2024-01..2024-05", "全国", "合同执行额", "全部", Decimal("6097.4"), "亿元"),
        ("2024-01..2024-05", "全国", "合同签约额", "离岸", Decimal("5299.1"), "亿元"),
        ("2024-01..2024-05", "全国", "合同执行额", "离岸", Decimal("3711.0"), "亿元"),
        ("2024-01..2024-05", "全国", "合同签约额", "全部", Decimal("1290.6"), "亿美元"),
        ("2024-01..2024-05", "全国", "合同执行额", "全部", Decimal("858.0"), "亿美元"),
        ("2024-01..2024-05", "全国", "合同签约额", "离岸", Decimal("745.7"), "亿美元"),
        ("2024-01..2024-05", "全国", "合同执行额", "离岸", Decimal("522.2"), "亿美元"),
    ]
    assert [f.confirmable for f in found] == [False] * 4 + [True] * 4  # the report prints 万美元 only
    figure = found[4].figure
    assert figure is not None and (figure.value, figure.unit) == (Decimal("12906000.0"), "万美元")
    assert found[6].sentence.startswith("其中，承接离岸服务外包合同额745.7亿美元")


def test_a_city_release_without_a_year_takes_the_year_of_publication_and_the_year_before_for_december():
    city = "1-3月，大连市企业承接服务外包合同额76543.21万美元，执行额65432.1万美元。"
    [signed, executed] = find_figures(city, datetime(2024, 4, 18, tzinfo=UTC))
    assert (signed.period, signed.region, signed.value, signed.unit) == ("2024-01..2024-03", "大连市",
                                                                        Decimal("76543.21"), "万美元")
    assert executed.figure is not None and executed.figure.value == Decimal("65432.1")
    year_end = "全年，我国企业承接服务外包合同额2000.5亿美元。"
    [last_year] = find_figures(year_end, datetime(2025, 1, 20, tzinfo=UTC))
    assert last_year.period == "2024-01..2024-12"
    [half] = find_figures("前5个月，我国企业承接服务外包执行额600.0亿美元。", datetime(2024, 6, 20, tzinfo=UTC))
    assert half.period == "2024-01..2024-05" and half.indicator == "合同执行额"


def test_other_statistics_and_amounts_without_a_period_are_not_figures():
    assert find_figures("1-5月，全国社会消费品零售总额19.5万亿元，同比增长4.1%。", PUBLISHED) == []
    assert find_figures("我国企业承接服务外包合同额持续增长，某企业签约额达12.3亿美元。", PUBLISHED) == []


def test_the_figures_page_offers_a_harvested_release_and_confirms_what_the_editor_ticks(
        editor_client, repository, httpserver: HTTPServer, run_harvest):
    feed = ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>商务部</title>"
            f"<link>{httpserver.url_for('/')}</link><item><title>商务部服务贸易司负责人介绍2024年1-5月我国服务外包发展情况"
            f"</title><link>{httpserver.url_for('/art/2024/06/release.html')}</link><description>{RELEASE}"
            "</description><pubDate>Thu, 20 Jun 2024 16:00:00 +0800</pubDate></item></channel></rss>")
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    spec = SourceSpec(id="mofcom-fwmy", name="商务部网站", kind="feed", url=httpserver.url_for("/feed.xml"))
    [summary] = run_harvest([spec])
    assert summary.items_new == 1
    client, token = editor_client
    with repository.engine.begin() as conn:  # the page looks back 120 days: move the article into that window
        conn.execute(update(articles).values(published_at=datetime.now(UTC)))

    page = client.get("/figures").text
    assert "已抓取文章中的数据（待确认）" in page and "9171.8 亿元" in page and "1290.6 亿美元" in page
    picks = re.findall(r'name="pick" value="([^"]+)"', page)
    assert len(picks) == 4  # the dollar amounts only
    signed = next(p for p in picks if p.endswith("合同签约额|全部|亿美元"))
    forged = signed.replace("亿美元", "亿元")  # an RMB amount cannot be confirmed by editing the form
    done = client.post("/figures/confirm", data={"csrf_token": token, "pick": [signed, forged]})
    assert done.status_code == 303 and "已确认 1 条数据" in unquote_plus(done.headers["location"])
    [stored_set] = repository.figure_sets()
    assert (stored_set.period, stored_set.region) == ("2024-01..2024-05", "全国")  # the year the release names
    stored = repository.figures(stored_set.period, "全国")
    assert [(f.indicator, f.dimension, f.value, f.unit) for f in stored] == [
        ("合同签约额", "全部", Decimal("12906000.0"), "万美元")]
    nothing = client.post("/figures/confirm", data={"csrf_token": token, "pick": ["999:x"]})
    assert "没有选中可确认的数据" in unquote_plus(nothing.headers["location"])
    assert client.post("/figures/confirm", data={"pick": [signed]}).status_code == 403


MIIT = ("1—5月份，电信业务收入累计完成7456亿元，同比增长3.1%。按照上年不变价计算的电信业务总量同比增长11.4%。"
        "截至5月末，5G基站总数达383.7万个，比上年末净增46.1万个。"
        "1—5月，我国软件业务收入51175亿元，同比增长11.5%。软件业利润总额5986亿元，同比增长11.7%。")


def test_a_ministry_s_monthly_release_gives_its_year_to_date_totals_with_a_comparison():
    from news_harvester.editorial.figures_found import find_industry_figures

    found = find_industry_figures(MIIT, PUBLISHED)
    assert [(f.period, f.region, f.indicator, f.dimension, f.value, f.unit) for f in found] == [
        ("2024-01..2024-05", "全国", "电信业务收入", "全部", Decimal("7456"), "亿元"),
        ("2024-01..2024-05", "全国", "软件业务收入", "全部", Decimal("51175"), "亿元"),
        ("2024-01..2024-05", "全国", "软件业利润总额", "全部", Decimal("5986"), "亿元"),
    ]  # a stock "截至5月末" is no year-to-date figure; a rate alone (电信业务总量) is no amount
    assert all(f.figure is not None and f.figure.unit == "亿元" for f in found)


def test_the_figures_page_offers_a_ministry_release_in_its_own_units(editor_client, repository,
                                                                     httpserver: HTTPServer, run_harvest):
    feed = ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>工信部</title>"
            f"<link>{httpserver.url_for('/')}</link><item><title>2024年1—5月份通信业经济运行情况</title>"
            f"<link>{httpserver.url_for('/art/2024/06/txy.html')}</link><description>{MIIT}</description>"
            "<pubDate>Thu, 20 Jun 2024 16:00:00 +0800</pubDate></item></channel></rss>")
    httpserver.expect_request("/txy.xml").respond_with_data(feed, content_type="application/rss+xml")
    [summary] = run_harvest([SourceSpec(id="miit-txy", name="工业和信息化部网站", kind="feed",
                                        url=httpserver.url_for("/txy.xml"))])
    assert summary.items_new == 1
    with repository.engine.begin() as conn:
        conn.execute(update(articles).values(published_at=datetime.now(UTC)))
    client, token = editor_client
    page = client.get("/figures").text
    assert "2024年1—5月份通信业经济运行情况" in page and "7456 亿元" in page
    picks = re.findall(r'name="pick" value="([^"]+)"', page)
    assert len(picks) == 3
    done = client.post("/figures/confirm", data={"csrf_token": token, "pick": picks[:1]})
    assert "已确认 1 条数据（2024-01..2024-05 全国）" in unquote_plus(done.headers["location"])
    assert [(f.indicator, f.value, f.unit) for f in repository.figures("2024-01..2024-05", "全国")] == [
        ("电信业务收入", Decimal("7456"), "亿元")]
