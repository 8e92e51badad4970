"""Issue 17 in the review app (TestClient over a real SQLite file): the 数据月报 page uploads a table (bad rows listed
in Chinese, nothing stored), lists what is stored and previews the report; the assembly screen's button puts the
report into the issue's 【数据月报】, and numbers edited there are flagged and counted before publishing."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import unquote_plus as unquote

from figures_support import PERIOD, REGION, sample_csv, upload


def test_the_figures_page_uploads_lists_and_previews(editor_client, repository):
    client, token = editor_client
    page = client.get("/figures")
    assert page.status_code == 200 and "还没有导入数据" in page.text and 'href="/figures"' in page.text
    csv_bytes = sample_csv()
    lines = csv_bytes.decode("utf-8").splitlines()
    bad = "\n".join([*lines[:3], lines[3].replace("万美元", "美元"), lines[5].replace("2024-01", "2024-13")]) + "\n"
    refused = upload(client, token, "bad.csv", bad.encode("utf-8"))
    assert refused.status_code == 422
    assert re.findall(r'data-row="(\d+)"', refused.text) == ["4", "5"]
    assert "第 4 行：单位“美元”不对" in refused.text and "第 5 行：期间“2024-13..2024-05”格式不对" in refused.text
    assert "未导入任何数据" in refused.text and repository.figure_sets() == []
    without_token = client.post("/figures", files={"file": ("a.csv", csv_bytes, "text/csv")})
    assert without_token.status_code == 403 and repository.figure_sets() == []

    stored = upload(client, token, "dalian.csv", csv_bytes)
    assert stored.status_code == 303
    assert "已导入 dalian.csv" in unquote(stored.headers["location"])
    listing = client.get("/figures").text
    row = re.search(rf'<tr data-period="{re.escape(PERIOD)}" data-region="{REGION}">(.*?)</tr>', listing, re.S)
    count = sum(1 for line in lines[1:] if line.startswith(PERIOD))
    assert row and f"<td>{count}</td>" in row[1] and "editor1" in row[1]
    again = upload(client, token, "dalian.csv", csv_bytes)
    assert f"已替换原有 {count} 条" in unquote(again.headers["location"])
    preview = client.get("/figures", params={"period": PERIOD, "region": REGION}).text
    assert "预览：2024 年 5 月大连市服务外包数据统计情况" in preview and "前三的是日本、荷兰、新加坡" in preview
    other = client.get("/figures", params={"period": PERIOD, "region": "沈阳市"}).text
    assert "没有 2024-01..2024-05 沈阳市的数据" in other


def test_the_assembly_button_drafts_the_report_and_edits_are_checked(editor_client):
    client, token = editor_client
    created = client.post("/issues", data={"csrf_token": token})
    issue_id = int(created.headers["location"].split("?")[0].rsplit("/", 1)[1])
    empty = client.get(f"/issues/{issue_id}").text
    assert "还没有导入数据" in empty and "从数据生成数据月报" not in empty
    none = client.post(f"/issues/{issue_id}/figures-report", data={"csrf_token": token})
    assert "还没有导入数据" in unquote(none.headers["location"])
    upload(client, token, "dalian.csv", sample_csv())
    page = client.get(f"/issues/{issue_id}").text
    assert f'<option value="{PERIOD}|{REGION}">' in page and "从数据生成数据月报" in page

    done = client.post(f"/issues/{issue_id}/figures-report",
                       data={"csrf_token": token, "figures": f"{PERIOD}|{REGION}"})
    assert done.status_code == 303
    assert "已根据 2024-01..2024-05 大连市的数据生成数据月报" in unquote(done.headers["location"])
    items = client.get(f"/api/issues/{issue_id}").json()["items"]
    report = next(i for i in items if i["section"] == "数据月报")
    assert report["title"] == "2024 年 5 月大连市服务外包数据统计情况" and report["story_id"] is None
    assert report["html"].count("<p>") == 4 and "前三的是日本、荷兰、新加坡" in report["html"]
    page = client.get(f"/issues/{issue_id}").text
    assert 'data-code="figures.' not in page  # the draft agrees with the figures

    edited = report["html"].replace("126741.68", "126471.68").replace("增长12.67%", "下降12.67%")
    saved = client.post(f"/issues/{issue_id}/items/{report['id']}/html",
                        data={"csrf_token": token, "title": report["title"], "html": edited})
    assert saved.status_code == 303
    page = client.get(f"/issues/{issue_id}").text
    item = page.split(f'data-item="{report["id"]}"')[1].split("</li>")[0]
    warnings = re.findall(r'<p class="style-warning" data-code="([^"]+)">⚠ (.*?)</p>', item)
    assert [code for code, _m in warnings] == ["figures.mismatch", "figures.mismatch"]
    assert "“126471.68万美元”" in unescape(warnings[0][1]) and "合同执行额（全部） 126741.68万美元" in warnings[0][1]
    assert "“下降12.67%”" in unescape(warnings[1][1]) and "国别：新加坡" in warnings[1][1]
    confirm = client.post(f"/issues/{issue_id}/publish", data={"csrf_token": token})
    assert "有 1 条摘要存在格式提示" in client.get(confirm.headers["location"]).text
