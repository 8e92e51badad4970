"""JSON list sources from configuration only: Xinhua ds_*.json and tmtpost-style APIs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer

from conftest import source
from news_harvester.errors import ParseError
from news_harvester.models import Outcome
from news_harvester.parse.jsonlist import lookup, parse_json_list

SHANGHAI = ZoneInfo("Asia/Shanghai")
XINHUA_FIELDS = {"items": "datasource", "title": "showTitle|title", "url": "publishUrl", "date": "publishTime",
                 "summary": "summary", "id": "contentId", "author": "author"}


def _xinhua_rows(n: int) -> dict:
    return {"datasource": [
        {"title": f"数字经济新闻{k}", "publishUrl": f"/tech/2024061{k}/abc{k}/c.html", "summary": f"摘要{k}",
         "author": "新华社", "contentId": f"id{k}", "publishTime": f"2024-06-1{k} 10:3{k}:00"}
        for k in range(n)
    ]}


def test_xinhua_datasource_mapping_resolves_urls_and_beijing_time():
    items = parse_json_list(json.dumps(_xinhua_rows(3), ensure_ascii=False), "https://www.news.cn/ds_x.json",
                            SHANGHAI, XINHUA_FIELDS)
    assert [i.url for i in items][:1] == ["https://www.news.cn/tech/20240610/abc0/c.html"]
    assert items[1].title == "数字经济新闻1"
    assert items[1].published == datetime(2024, 6, 11, 2, 31, tzinfo=UTC)
    assert (items[2].guid, items[2].author, items[2].summary_html) == ("id2", "新华社", "摘要2")


def test_unix_seconds_and_milliseconds_and_fallback_paths():
    doc = {"data": {"roll_data": [
        {"content": "只有内容的快讯", "shareurl": "https://api.example.org/d/1", "ctime": 1718073000},
        {"title": "带标题", "content": "x", "shareurl": "https://api.example.org/d/2", "ctime": 1718073000000},
    ]}}
    fields = {"items": "data.roll_data", "title": "title|content", "url": "shareurl", "date": "ctime"}
    items = parse_json_list(json.dumps(doc), "https://api.example.org/list", SHANGHAI, fields)
    assert [i.title for i in items] == ["只有内容的快讯", "带标题"]
    assert items[0].published == items[1].published == datetime(2024, 6, 11, 2, 30, tzinfo=UTC)


def test_lookup_paths():
    doc = {"a": [{"b": {"c": 1}}, {"b": {"c": 2}}]}
    assert lookup(doc, "a.1.b.c") == 2
    assert lookup(doc, "a.5.b|a.0.b.c") == 1
    assert lookup(doc, "missing") is None
    assert lookup([1, 2], "") == [1, 2]


@pytest.mark.parametrize(("text", "code"), [("{not json", "parse.malformed"), ('{"datasource": {}}', "parse.no_items"),
                                            ('{"datasource": [{"x": 1}]}', "parse.no_items")],
                         ids=["invalid JSON", "items path is not a list", "rows without title and url"])
def test_bad_json_lists_fail_with_codes(text, code):
    with pytest.raises(ParseError) as caught:
        parse_json_list(text, "https://x.org/", SHANGHAI, XINHUA_FIELDS)
    assert caught.value.code == code


@pytest.mark.parametrize(("policy", "expected"), [("page", "新华社"), ("source", "新华网")],
                         ids=["page names its 来源 → that", "attribution: source → the source's name"])
def test_json_source_harvests_end_to_end(httpserver: HTTPServer, write_sources, run_harvest, repository, policy,
                                         expected):
    httpserver.expect_request("/ds_abc.json").respond_with_json(_xinhua_rows(4))
    for k in range(4):
        httpserver.expect_request(f"/tech/2024061{k}/abc{k}/c.html").respond_with_data(
            f"<html><head><meta name='PubDate' content='2024-06-1{k} 09:00'><meta name='ContentSource' "
            f"content='新华社'></head><body><div id='detailContent'><p>新华社北京6月1{k}日电 商务部等部门联合印发"
            f"关于促进数字贸易发展的意见，提出到2029年的发展目标，内容涉及跨境数据流动与数字基础设施。</p><p>第二段内容"
            f"说明具体措施和保障条件，包括服务外包与跨境电商。</p></div></body></html>", content_type="text/html")
    config = write_sources([source(httpserver, "/ds_abc.json", id="xinhua", kind="json", name="新华网",
                                   fields=XINHUA_FIELDS, full_text=True, attribution=policy)])
    [summary] = run_harvest(list(config.sources))
    assert summary.outcome == Outcome.OK and summary.items_new == 4
    stored = {a.title: a for a in repository.list_articles()}
    article = stored["数字经济新闻2"]
    assert article.attribution == expected
    assert article.published_at == datetime(2024, 6, 12, 1, 0, tzinfo=UTC)
    assert article.date_origin == "meta"
    assert "联合印发" in article.body_text


def test_json_source_config_requires_title_and_url(tmp_path):
    from news_harvester.config import load_sources
    from news_harvester.errors import ConfigError

    (tmp_path / "s.yaml").write_text("sources:\n  - {id: j, name: J, kind: json, url: 'https://x.org/a.json', "
                                     "fields: {items: data, titel: t}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="needs 'fields' with title, url"):
        load_sources(tmp_path / "s.yaml")


def test_html_list_inside_json_is_parsed_with_selectors(httpserver: HTTPServer, write_sources, run_harvest,
                                                        repository):
    fragment = ('<div class="page-content"><ul>'
                '<li><a href="/zwgk/zcjd/art/2024/art_0a1b.html">工信部解读5G规模化应用政策</a>'
                '<span>2024-06-11</span></li>'
                '<li><a href="/zwgk/zcjd/art/2024/art_2c3d.html">数据中心绿色发展指引解读</a>'
                '<span>2024-06-10</span></li>'
                '</ul></div>')
    httpserver.expect_request("/api-gateway/unit").respond_with_json({"success": True, "data": {"html": fragment}})
    for path in ("/zwgk/zcjd/art/2024/art_0a1b.html", "/zwgk/zcjd/art/2024/art_2c3d.html"):
        httpserver.expect_request(path).respond_with_data(
            "<html><head><meta name='ArticleTitle' content='解读'></head><body><div id='con_con'><p>"
            + "工业和信息化部发布通知，推进5G网络与数据中心协同建设，提升数字基础设施服务能力。" * 3
            + "</p></div></body></html>", content_type="text/html; charset=utf-8")
    config = write_sources([source(httpserver, "/api-gateway/unit", id="miit", kind="html", name="工业和信息化部网站",
                                   html_path="data.html",
                                   selectors={"item": ["div.page-content li"], "date": ["span"]})])
    [summary] = run_harvest(list(config.sources))
    assert summary.outcome == Outcome.OK and summary.items_new == 2, summary
    stored = {a.url.rsplit("/", 1)[1]: a for a in repository.list_articles()}
    assert stored["art_0a1b.html"].published_at.astimezone(SHANGHAI).date().isoformat() == "2024-06-11"
    assert stored["art_2c3d.html"].title == "数据中心绿色发展指引解读"
    assert set(stored) == {"art_0a1b.html", "art_2c3d.html"}


def test_missing_html_fragment_is_no_items():
    from news_harvester.parse.jsonlist import html_fragment

    with pytest.raises(ParseError) as caught:
        html_fragment('{"data": {}}', "data.html")
    assert caught.value.code == "parse.no_items"
    with pytest.raises(ParseError) as caught:
        html_fragment("<html>", "data.html")
    assert caught.value.code == "parse.malformed"


def test_a_flash_without_title_gets_a_headline_not_its_whole_text():
    body = "工信部数据显示，1—5月份我国软件业务收入50520亿元，同比增长11.6%，软件业利润总额5851亿元，增长14.8%。" * 2
    rows = [
        {"title": "", "content": f"【前5月软件业务收入同比增长11.6%】财联社6月24日电，{body}", "shareurl": "/a/1"},
        {"title": "", "content": f"财联社6月24日电，商务部表示将推动海外仓建设。{body}", "shareurl": "/a/2"},
        {"title": "", "content": body.replace("。", "，"), "shareurl": "/a/3"},
        {"title": "", "content": "财联社6月24日电，商务部表示将推动海外仓建设。", "shareurl": "/a/4"},
    ]
    fields = {"items": "data.roll_data", "title": "title|content", "url": "shareurl"}
    items = parse_json_list(json.dumps({"data": {"roll_data": rows}}), "https://www.cls.example/", SHANGHAI, fields)

    assert items[0].title == "前5月软件业务收入同比增长11.6%"
    assert items[1].title == "财联社6月24日电，商务部表示将推动海外仓建设。"
    assert len(items[2].title) == 81 and items[2].title.endswith("…")
    assert items[3].title == rows[3]["content"]  # short: the text is the headline
