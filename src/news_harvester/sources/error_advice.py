"""A run's error code in Chinese, with what an admin can do about it: values in, words out.

Every failed run stores a stable code (news_harvester.errors; ``fetch.http_status`` with the HTTP status beside it).
The sources page, the queue banner and the alarms show admins :func:`explain`'s ``cause`` (what happened, e.g.
"网站返回 403（禁止访问）") and ``advice`` (what to do, e.g. "可能需要调整请求频率…"). ``ERROR_NAMES`` is the
short cause alone, by code. Form validation messages are news_harvester.sources.messages_zh's, not these.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ERROR_NAMES", "NETWORK_CODES", "ErrorAdvice", "error_name", "explain"]

_ADVICE: dict[str, tuple[str, str]] = {
    "fetch.timeout": (
        "连接超时",
        "网站响应太慢或暂时不可用；偶尔一次可以忽略，持续超时请在浏览器中打开网址确认，或放宽抓取计划",
    ),
    "fetch.network": ("网络错误", "检查本机网络和代理；多个信息源同时出现时多半是本机网络故障"),
    "fetch.dns": ("域名无法解析", "检查网址中的域名是否拼写正确、网站是否已更换域名，以及本机 DNS 是否正常"),
    "fetch.refused": (
        "连接被拒绝",
        "对方服务器拒绝连接：网站可能已停止服务、更换了地址，或封禁了本机 IP；请在浏览器中打开网址确认",
    ),
    "fetch.tls": ("证书或加密连接错误", "网站证书过期或不受信任；可等待网站修复，或改用网站提供的 http:// 地址"),
    "fetch.truncated": ("响应不完整", "连接在传输中断开，通常是网站不稳定，会自动重试；持续出现请放宽抓取计划"),
    "fetch.http_status": ("网站返回错误状态码", "请在浏览器中打开网址，确认页面是否仍然存在"),
    "fetch.too_large": ("页面过大", "网址可能指向了文件或整站归档：请确认它是列表页，或提高 max_body_bytes"),
    "fetch.redirect_loop": ("重定向过多", "网站跳转陷入循环：请在浏览器中打开网址，把最终到达的网址填入信息源"),
    "fetch.rate_limited": (
        "访问过于频繁被限流（429）",
        "请放宽抓取计划、降低请求频率；程序会按网站要求的时间自动退避",
    ),
    "fetch.robots_denied": (
        "robots.txt 不允许抓取",
        "网站的 robots.txt 禁止抓取该网址；如已获网站许可，可在信息源中设置 respect_robots: false",
    ),
    "fetch.bad_encoding": ("内容压缩或编码错误", "网站返回的压缩数据损坏，多为网站临时问题；持续出现请联系网站"),
    "fetch.invalid_url": ("网址无效", "检查网址是否完整（以 http:// 或 https:// 开头）"),
    "fetch.challenge": (
        "被网站防火墙拦截（验证页面）",
        "网站要求浏览器验证，程序无法通过：可放宽抓取计划、改用网站的订阅源或数据接口，或暂时停用该信息源",
    ),
    "decode.charset": ("无法识别页面编码", "在信息源中设置 encoding（例如 gb18030 或 utf-8）"),
    "decode.binary": ("返回的是文件而不是网页", "网址指向 PDF、图片或压缩包：请换成列表页的网址"),
    "parse.malformed": ("内容格式错误", "返回的内容无法解析：检查网址是否仍指向订阅源或数据接口"),
    "parse.not_a_feed": (
        "不是 RSS/Atom 订阅源",
        "该网址是网页而不是订阅源：把类型改为 html 并设置选择器，或找到网站的订阅源地址",
    ),
    "parse.no_items": (
        "列表页没有找到任何条目（网站可能改版）",
        "在浏览器中打开列表页，检查选择器（列表条目 selectors.item）是否还能匹配到条目",
    ),
    "parse.unsupported": ("不支持的内容格式", "确认信息源的类型（feed、html、json）与网址的内容相符"),
    "parse.no_datasource": (
        "页面中找不到数据源编号",
        "网站可能已改版：检查数据源（datasource）设置中的页面元素和正则表达式",
    ),
    "parse.empty_article": ("文章页没有可读正文", "文章页可能需要登录或由脚本生成；可关闭抓取全文（full_text）"),
    "run.interrupted": ("抓取被中断", "程序在抓取过程中停止，重启后会自动重试，无需处理"),
    "storage.error": ("抓取结果无法保存", "检查数据库所在磁盘的空间和日志中的详细错误"),
    "internal.error": ("程序内部错误", "请查看日志中的详细错误并报告问题"),
}

ERROR_NAMES: dict[str, str] = {code: cause for code, (cause, _advice) in _ADVICE.items()}
"""The short Chinese cause of each error code (the sources page's former table, kept for its callers)."""

NETWORK_CODES = frozenset({"fetch.timeout", "fetch.network", "fetch.dns", "fetch.refused", "fetch.tls"})
"""Codes that say the host could not be reached at all: many sources with these at once is our network."""

_STATUS: dict[int, tuple[str, str]] = {
    401: ("需要登录", "该页面需要登录，无法直接抓取；请换用公开的列表页"),
    403: (
        "禁止访问",
        "可能需要调整请求频率（放宽抓取计划）或请求头（headers 中的 User-Agent、Referer）；先确认浏览器能否打开",
    ),
    404: ("页面不存在", "栏目可能已改版或迁移：在网站上找到新的列表页后修改信息源的网址"),
    410: ("页面已删除", "栏目已被网站删除：在网站上找到新的列表页后修改信息源的网址，或停用该信息源"),
    451: ("因法律原因不可访问", "该页面在本地不可访问，请停用该信息源或换用其他页面"),
}


@dataclass(frozen=True, slots=True)
class ErrorAdvice:
    """What a failed run's code means (``cause``) and what to do about it (``advice``), in Chinese."""

    code: str
    cause: str
    advice: str

    @property
    def text(self) -> str:
        """``cause，advice`` as one sentence, e.g. "网站返回 403（禁止访问），可能需要调整请求频率…"."""
        return f"{self.cause}，{self.advice}"


def explain(code: str | None, http_status: int | None = None) -> ErrorAdvice | None:
    """The cause and advice for ``code`` (None: no error). ``fetch.http_status`` is told apart by ``http_status``
    (403, 404, 5xx …); an unknown code still gets a sentence, never an empty cell."""
    if not code:
        return None
    if code == "fetch.http_status" and http_status:
        return ErrorAdvice(code, *_status_advice(http_status))
    if code == "fetch.challenge" and http_status and http_status != 200:
        cause, advice = _ADVICE[code]
        return ErrorAdvice(code, f"{cause}，网站返回 {http_status}", advice)
    cause, advice = _ADVICE.get(code, (f"抓取出错（{code}）", "请查看日志中这次抓取的详细错误"))
    return ErrorAdvice(code, cause, advice)


def error_name(code: str | None, http_status: int | None = None) -> str:
    """The short Chinese cause of ``code`` ("" for none)."""
    found = explain(code, http_status)
    return found.cause if found is not None else ""


def _status_advice(status: int) -> tuple[str, str]:
    if status in _STATUS:
        what, advice = _STATUS[status]
        return f"网站返回 {status}（{what}）", advice
    if status == 429:
        return f"网站返回 {status}（访问过于频繁）", _ADVICE["fetch.rate_limited"][1]
    if status >= 500:
        return (
            f"网站返回 {status}（服务器错误）",
            "网站服务器出错，通常会自行恢复；持续数天请在浏览器中确认网址是否仍然有效",
        )
    return f"网站返回 {status}", "请求被网站拒绝：请在浏览器中打开网址，检查网址和请求头（headers）"
