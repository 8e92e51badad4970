"""A brief that started before the product continues its numbering: the 期刊 page's new-draft form takes the
year, number, 总第 N 期 and date (empty fields: proposed after the last issue), refuses bad values in Chinese and
creates nothing then."""

from __future__ import annotations

from urllib.parse import unquote_plus


def test_a_new_draft_takes_the_typed_numbers_and_date(editor_client):
    client, token = editor_client
    page = client.get("/issues").text
    assert 'name="total_number"' in page and 'name="issue_date"' in page
    made = client.post(
        "/issues",
        data={"csrf_token": token, "year": "2024", "number": "6", "total_number": "26", "issue_date": "2024-06-28"},
    )
    assert made.status_code == 303
    issue_id = int(made.headers["location"].split("?")[0].rsplit("/", 1)[1])
    issue = client.get(f"/api/issues/{issue_id}").json()
    assert (issue["year"], issue["number"], issue["total_number"], issue["issue_date"]) == (2024, 6, 26, "2024-06-28")
    assert "2024 年第 6 期（总第 26 期）" in client.get(f"/issues/{issue_id}").text
    # the next proposal follows the typed numbers
    assert "新建草稿：" in client.get("/issues").text and "（总第 27 期）" in client.get("/issues").text


def test_empty_fields_are_proposed_and_bad_values_are_refused_without_a_draft(editor_client):
    client, token = editor_client
    for field, value, words in (
        ("number", "0", "期号应为 1 到 999 之间的整数"),
        ("year", "二〇二四", "年份应为 2000 到 2100 之间的整数"),
        ("total_number", "-3", "总期号应为 1 到 100000 之间的整数"),
        ("issue_date", "28/06/2024", "出版日期应为 年-月-日"),
    ):
        refused = client.post("/issues", data={"csrf_token": token, field: value})
        assert refused.status_code == 303 and words in unquote_plus(refused.headers["location"]), field
    assert "还没有期刊" in client.get("/issues").text, "a refused form created a draft"
    made = client.post("/issues", data={"csrf_token": token, "total_number": "40"})
    issue = client.get(f"/api/issues/{int(made.headers['location'].split('?')[0].rsplit('/', 1)[1])}").json()
    assert issue["total_number"] == 40 and issue["number"] == 1
