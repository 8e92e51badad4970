"""Small RSS/Atom documents built in tests (recorded real feeds come from ../shared/fixtures)."""

from __future__ import annotations

from xml.sax.saxutils import escape


def rss(items: list[dict[str, str]], *, title: str = "测试频道", encoding: str = "utf-8") -> str:
    entries = "".join(
        "<item>"
        f"<title>{escape(i['title'])}</title><link>{escape(i['link'])}</link>"
        f"<guid>{escape(i.get('guid', i['link']))}</guid>"
        + (f"<pubDate>{escape(i['date'])}</pubDate>" if i.get("date") else "")
        + f"<description>{escape(i.get('description', ''))}</description>"
        "</item>"
        for i in items
    )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        f"<rss version=\"2.0\"><channel><title>{escape(title)}</title><link>http://example.invalid/</link>"
        f"<description>t</description>{entries}</channel></rss>"
    )


def items(base: str, n: int, *, prefix: str = "a") -> list[dict[str, str]]:
    return [
        {
            "title": f"商务部发布数字贸易政策第{k}号通知",
            "link": f"{base}/{prefix}/2024061{k % 10}/{k}.html",
            "date": f"Tue, 11 Jun 2024 {k % 24:02d}:30:00 +0800",
            "description": f"<p>6月11日，商务部等九部门联合印发第{k}号文件，推动数字贸易发展。</p>",
        }
        for k in range(n)
    ]
