"""Helpers for the browser tests (tests/test_browser*.py): Chromium and a signed-in page, the real daemon as a
subprocess, users and stories loaded with the real CLI, realistic Chinese stories, and hostile payloads read from
feedparser's sanitizer test cases. The fixtures ``browser`` and ``browser_page`` (tests/conftest.py) use them.

Nothing here imports Playwright when the module loads, so it loads (and the browser suite skips cleanly) without
it: a browser test module starts with ``expect = playwright_or_skip().expect``.
"""

from __future__ import annotations

import base64
import html
import json
import random
import signal
import socket
import sqlite3
import subprocess
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from procs import drain, popen_cli, run_cli, wait_until

PASSWORD = "编辑部 correct horse 1"
"""Every test user's password (one line on the CLI's stdin)."""

# --------------------------------------------------------------------------- the browser

CHROMIUM = Path("/usr/bin/chromium")


def playwright_or_skip() -> Any:
    """``playwright.sync_api``; the calling test module is skipped when Chromium or Playwright is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium (``CHROMIUM``, no sandbox) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Any, base_url: str, **context_options: Any) -> Any:
    """A page in a fresh browser context (own cookies): ``base_url``, locale zh-CN, 10 s timeouts."""
    context = browser.new_context(base_url=base_url, locale="zh-CN", **context_options)
    context.set_default_timeout(10_000)
    return context.new_page()


def sign_in(page: Any, name: str, password: str = PASSWORD) -> None:
    """Sign in through the form, from wherever the page is (the login page or a redirect to it)."""
    if "/login" not in page.url:
        page.goto("/login")
    page.get_by_label("用户名", exact=True).fill(name)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def signed_in_page(browser: Any, base_url: str, name: str, **context_options: Any) -> Any:
    """``open_page`` signed in as ``name`` (password ``PASSWORD``), checked to have landed on the queue (``/``)."""
    from playwright.sync_api import expect

    page = open_page(browser, base_url, **context_options)
    sign_in(page, name)
    expect(page).to_have_url(base_url + "/")
    return page


# --------------------------------------------------------------------------- the daemon


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def add_users(tmp: Path, users: list[tuple[str, str]], password: str = PASSWORD) -> None:
    """``news-harvester users add NAME --role ROLE`` for each ``(name, role)``, the password on stdin as a
    script would pipe it. One after the other: side by side they wait on each other's database locks."""
    for name, role in users:
        done = run_cli(tmp, "users", "add", name, "--role", role, input=password + "\n", timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


def ingest(tmp: Path, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Write ``records`` as JSON lines and feed them through ``news-harvester ingest FILE --json``."""
    path = tmp / "items.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    done = run_cli(tmp, "ingest", str(path), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def stories_by_url(tmp: Path) -> tuple[dict[str, int], dict[str, int]]:
    """``(story id by member URL, article id by member URL)`` from ``news-harvester stories list --json``."""
    done = run_cli(tmp, "stories", "list", "--json", "--limit", "1000")
    assert done.returncode == 0, done.stderr
    story_ids: dict[str, int] = {}
    article_ids: dict[str, int] = {}
    for story in json.loads(done.stdout):
        for member in story["members"]:
            story_ids[member["url"]] = int(story["id"])
            article_ids[member["url"]] = int(member["id"])
    return story_ids, article_ids


def store_evidence(db: Path, pages: dict[str, bytes]) -> None:
    """Store harvested pages as an article's evidence snapshot, zlib-compressed as the harvester stores them."""
    with sqlite3.connect(db) as conn:
        for url, page in pages.items():
            changed = conn.execute(
                "UPDATE articles SET raw_page = ? WHERE url = ?", (zlib.compress(page, 6), url)
            ).rowcount
            assert changed == 1, url


@dataclass
class Daemon:
    base_url: str
    proc: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def log(self) -> str:
        return "".join(self.output)


@contextmanager
def running_daemon(tmp: Path, *run_args: str, **env: str) -> Iterator[Daemon]:
    """``news-harvester run [run_args] --bind 127.0.0.1:<free port>`` with ``env`` settings, ready once /healthz
    answers; stopped with SIGTERM (killed if it does not stop within 10 s)."""
    port = free_port()
    proc = popen_cli(tmp, "run", *run_args, "--bind", f"127.0.0.1:{port}", **env)
    daemon = Daemon(f"http://127.0.0.1:{port}", proc)
    daemon.output = drain(proc)
    try:
        ready = wait_until(lambda: http_status(daemon.base_url + "/healthz") == 200 or proc.poll() is not None, 30)
        assert ready and proc.poll() is None, "daemon did not start:\n" + daemon.log()
        yield daemon
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@contextmanager
def web_daemon(tmp: Path) -> Iterator[Daemon]:
    """The review app alone (``run --web-only``), as :func:`running_daemon` starts it."""
    with running_daemon(tmp, "--web-only") as daemon:
        yield daemon


# --------------------------------------------------------------------------- realistic stories


@dataclass(frozen=True)
class Item:
    """One JSON line for ``news-harvester ingest``."""

    key: str
    title: str
    url: str
    body: str
    source: str
    weight: float
    days_ago: float = 1.0
    extra: dict[str, str] = field(default_factory=dict)

    def record(self, now: datetime) -> dict[str, Any]:
        published = (now - timedelta(days=self.days_ago)).astimezone(UTC).isoformat()
        return {
            "title": self.title,
            "url": self.url,
            "body": self.body,
            "source": self.source,
            "weight": self.weight,
            "published_at": published,
        } | self.extra


NOTICE_BODY = (
    "6月11日，商务部等九部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》。《意见》明确，五大方面15项工作内容。"
    "一是积极培育跨境电商经营主体，大力支持跨境电商赋能产业发展，提升服务跨境电商企业能力。二是加大金融支持力度，"
    "畅通跨境电商企业融资渠道，优化跨境资金结算服务，推动跨境电商供应链降本增效。三是加强相关基础设施和物流体系建设。"
)
"""The start of the nine departments' notice (as POLICY_BODY), dated in its first words: the assembly screen's
drafted summary starts "6 月 11 日，"."""
POLICY_BODY = (
    "近日，商务部等9部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》（以下简称《意见》）。"
    "《意见》明确了五个方面15项工作内容。一是积极培育跨境电商经营主体，大力支持跨境电商赋能产业发展，"
    "支持跨境电商企业开展品牌建设，提升服务跨境电商企业能力。二是加大金融支持力度，畅通跨境电商企业融资渠道，"
    "优化跨境资金结算服务，推动跨境电商供应链降本增效。三是加强相关基础设施和物流体系建设，"
    "推动跨境电商海外仓高质量发展，增强跨境电商物流保障能力，鼓励企业在重点市场布局海外仓。"
    "四是优化监管与服务，完善跨境电商出口退运商品管理，提升跨境数据管理和服务水平。"
    "五是积极开展标准规则建设与国际合作，深度参与国际规则和标准制定，营造良好发展环境。"
    "商务部有关负责人表示，下一步将会同各部门抓好《意见》贯彻落实，推动跨境电商健康持续创新发展。"
)
AI_BODY = (
    "11月25日，在第二届未来科技大会上，研究机构发布《中国人工智能城市竞争力排行研究报告》。"
    "报告从人工智能产业基础、技术创新、人才储备、应用场景和政策环境五个维度构建评价体系，"
    "通过聚类分析将样本城市划分为五个梯队。北京市作为第一梯队城市，在大模型研发、算力基础设施和高端人才方面优势突出；"
    "上海市、深圳市属于第二梯队，上海在产业链的基础层和技术层覆盖较全，深圳在智能终端和机器人应用方面表现亮眼；"
    "杭州、广州、成都、合肥等城市位列第三梯队。报告建议各地立足自身禀赋，避免同质化竞争，"
    "加快建设智能算力中心，推动人工智能与制造业、医疗、教育、交通等行业深度融合，完善数据要素流通机制。"
)
OFF_TOPIC_BODY = (
    "11月24日清晨，2026年滨江城市马拉松鸣枪开跑，来自全国各地的两万余名跑者沿江岸线奔跑，"
    "赛道途经老城区、滨江公园和大学城，沿途设有二十余个补给站和医疗点。组委会介绍，今年赛事首次设置亲子跑项目，"
    "吸引了三千多个家庭报名参加。当天气温适宜，微风拂面，不少跑者刷新了个人最好成绩。"
    "男子全程冠军由一名来自云南的业余选手获得，女子组冠军则由上届亚军夺得。赛后，志愿者们迅速清理赛道，"
    "城市交通在中午前全部恢复正常。不少市民自发来到沿途为选手加油，场面热烈，成为初冬时节的一道风景。"
    "组委会表示，明年将继续优化赛道设计，增加沿途文艺表演，让更多市民感受运动的快乐。"
)
DATA_SECURITY_BODY = (
    "国家互联网信息办公室近日发布《个人信息出境认证办法》，自2026年1月1日起施行。"
    "办法明确，个人信息处理者通过个人信息保护认证方式向境外提供个人信息的，应当事前开展个人信息保护影响评估，"
    "并与境外接收方订立具有法律约束力的协议，明确双方的数据安全保护义务。"
    "专业认证机构应当依照办法规定开展认证活动，对个人信息处理者的出境活动进行评价和持续监督。"
    "网信部门有关负责人表示，办法的出台进一步完善了数据出境制度体系，有利于在保障个人信息权益和数据安全的前提下，"
    "便利企业开展跨境业务，促进数据依法有序自由流动。业内人士认为，认证方式为中小企业提供了成本更低的合规路径，"
    "企业应尽快梳理数据出境场景，建立健全内部个人信息保护合规管理制度。"
)
FIVE_G_BODY = (
    "工业和信息化部11月26日发布数据显示，截至10月末，我国5G基站总数达到470万个，比上年末净增45万个，"
    "占移动基站总数的比重进一步提升。千兆光网覆盖持续扩大，具备千兆网络服务能力的端口数超过3000万个。"
    "5G移动电话用户达到11亿户，占移动电话用户的比重超过60%。工业互联网标识解析体系不断完善，"
    "二级节点覆盖全国31个省份，服务企业超过40万家。工业和信息化部有关负责人表示，"
    "下一步将适度超前建设数字基础设施，深入推进5G规模化应用，加快5G-A网络部署和商用进程，"
    "推动算力网络与5G协同发展，为数字经济高质量发展提供坚实网络支撑。"
)
FINTECH_BODY = (
    "中国人民银行近日表示，数字人民币跨境支付试点范围将进一步扩大，多边央行数字货币桥项目已完成真实交易测试，"
    "参与机构覆盖内地和香港、泰国、阿联酋等地的多家商业银行。试点结果显示，基于数字货币桥的跨境支付"
    "可将结算时间由数天缩短至数秒，交易成本明显下降。与此同时，金融科技企业积极探索区块链技术在贸易融资、"
    "供应链金融等场景中的应用，多家银行上线了基于区块链的跨境贸易融资平台。专家指出，"
    "数字人民币在跨境场景中的应用仍需在监管协调、反洗钱和数据保护方面加强国际合作，"
    "稳妥有序推进试点，防范金融风险，更好服务实体经济和对外贸易发展。"
)
OUTSOURCING_BODY = (
    "商务部服务贸易和商贸服务业司负责人介绍，今年前三季度，我国企业承接服务外包合同额18000亿元，"
    "执行额12500亿元，同比分别增长8.5%和9.2%。其中，承接离岸服务外包执行额7200亿元，同比增长8.9%。"
    "从业务结构看，信息技术外包、业务流程外包和知识流程外包执行额分别增长7.6%、10.1%和11.3%，"
    "研发设计、检验检测、数据分析等高附加值业务增长较快。从区域看，服务外包示范城市承接离岸执行额占全国的八成以上。"
    "数字贸易成为服务外包增长的重要引擎，云计算、大数据、人工智能等数字技术服务需求持续旺盛。"
    "下一步，商务部将推动服务外包数字化、智能化、绿色化发展，培育一批具有国际竞争力的服务外包企业。"
)
CHIP_BODY = (
    "国家集成电路产业投资基金三期近日完成首批项目投资，重点投向集成电路装备、材料和先进封装等薄弱环节。"
    "据介绍，三期基金注册资本达3440亿元，将继续发挥引导作用，带动社会资本投向芯片制造和关键设备领域。"
    "业内人士分析，当前全球半导体产业链加速重构，国内晶圆厂扩产带动设备和材料需求快速增长，"
    "光刻胶、电子特气、大硅片等领域国产替代空间广阔。与此同时，芯片设计企业在人工智能芯片、"
    "汽车芯片等方向持续加大研发投入，部分企业产品已实现规模化量产。专家建议，"
    "应进一步加强产学研协同，完善人才培养体系，推动集成电路产业链上下游协同创新，提升产业链供应链韧性。"
)

RCEP_BODY = (
    "海关总署最新统计显示，今年前10个月，我国与《区域全面经济伙伴关系协定》（RCEP）其他成员国进出口总额达10.5万亿元，"
    "同比增长4.1%，占我国外贸总值的三成以上。其中，对东盟进出口增长7.2%，东盟继续保持我国第一大贸易伙伴地位。"
    "协定生效实施以来，原产地累积规则和关税减让红利持续释放，企业申领RCEP原产地证书数量和享惠金额稳步增长。"
    "商务部国际贸易谈判代表表示，将推动协定高质量实施，帮助企业特别是中小企业用好关税减让、原产地累积等规则，"
    "并积极推进中国—东盟自贸区3.0版升级议定书的生效，加快构建面向全球的高标准自由贸易区网络，稳步扩大制度型开放。"
)
DIGITAL_ECONOMY_BODY = (
    "近期，多个省市相继出台数字经济促进条例，围绕数字基础设施、数据资源开发利用、数字产业化和产业数字化等方面作出规定。"
    "条例提出，支持企业开展数字化转型诊断，推动中小企业上云用数赋智，培育一批工业互联网平台和数字化转型服务商。"
    "同时，鼓励公共数据依法有序开放，探索建立数据要素市场化配置机制，加强数字经济统计监测。"
    "专家表示，地方立法为数字经济发展提供了制度保障，有助于激发市场主体活力，但各地还需加强政策协同，"
    "避免重复建设，结合本地产业基础找准数字化转型的突破口，推动数字技术与实体经济深度融合。"
    "业内人士建议，条例落地还需配套细则，明确数据权属和收益分配，并加大对数字人才的培养力度。"
)

ITEMS = [
    Item(
        "policy",
        "商务部等9部门联合印发《关于拓展跨境电商出口推进海外仓建设的意见》",
        "https://www.mofcom.gov.cn/zcfb/art/2026/art_b2c.html",
        POLICY_BODY,
        "商务部网站",
        10,
        0.5,
    ),
    Item(
        "reprint",
        "九部门发文：推进海外仓建设 助力跨境电商出口",
        "https://www.news.cn/fortune/20261126/c_haiwaicang.htm",
        "新华社北京11月26日电\n" + POLICY_BODY,
        "新华网",
        7,
        0.4,
    ),
    Item(
        "ai",
        "《中国人工智能城市竞争力排行研究报告》发布 北京领跑第一梯队",
        "https://www.tmtpost.example.cn/ai-city-ranking.html",
        AI_BODY,
        "钛媒体",
        5,
        1.0,
    ),
    Item(
        "offtopic",
        "滨江城市马拉松开跑 两万余名跑者沿江竞逐",
        "https://news.example-city.cn/sports/marathon.html",
        OFF_TOPIC_BODY,
        "滨江日报",
        3,
        1.5,
    ),
    Item(
        "datasec",
        "国家网信办发布《个人信息出境认证办法》",
        "https://www.cac.example.cn/2026-11/grxxcj.htm",
        DATA_SECURITY_BODY,
        "中国网信网",
        6,
        2.0,
    ),
    Item(
        "5g",
        "工信部：截至10月末我国5G基站总数达470万个",
        "https://www.miit.example.cn/gxsj/5g-jizhan.html",
        FIVE_G_BODY,
        "工业和信息化部网站",
        6,
        2.5,
    ),
    Item(
        "fintech",
        "数字人民币跨境支付试点扩容 多边央行数字货币桥完成真实交易测试",
        "https://www.fnews.example.cn/fintech/e-cny-bridge.html",
        FINTECH_BODY,
        "金融时报",
        4,
        3.0,
    ),
    Item(
        "outsourcing",
        "商务部：前三季度我国服务外包执行额同比增长9.2%",
        "https://www.mofcom.gov.cn/fwmys/art/2026/outsourcing-q3.html",
        OUTSOURCING_BODY,
        "商务部网站",
        9,
        3.5,
    ),
    Item(
        "chips",
        "大基金三期完成首批投资 聚焦集成电路装备与材料",
        "https://www.stcn.example.cn/chip/bigfund3.html",
        CHIP_BODY,
        "证券时报",
        4,
        4.0,
    ),
    Item(
        "rcep",
        "前10个月我国与RCEP其他成员国进出口10.5万亿元",
        "https://www.customs.example.cn/tjsj/rcep-10m.html",
        RCEP_BODY,
        "海关总署网站",
        8,
        1.2,
    ),
    Item(
        "digitaleconomy",
        "多地出台数字经济促进条例 推动中小企业数字化转型",
        "https://www.cet.example.cn/szjj/tiaoli.html",
        DIGITAL_ECONOMY_BODY,
        "中国经济网",
        4,
        2.2,
    ),
]

# --------------------------------------------------------------------------- hostile payloads

SANITIZE_DIR = "feedparser-tests/tests/wellformed/sanitize"
"""feedparser's sanitizer cases under ../shared/fixtures: each XML file carries one hostile HTML payload."""
PAYLOAD_FILES = (
    "entry_content_script.xml",  # <script> (escaped HTML)
    "entry_content_script_cdata.xml",  # <script> in CDATA
    "entry_content_script_base64.xml",  # <script>, base64-encoded content
    "entry_content_script_inline.xml",  # <script> inside inline XHTML
    "entry_content_crazy.xml",  # broken-comment / attribute-soup script smuggling
    "xml_malicious_comment.xml",  # <!-- -- nonwhitespace > comment trick before <script>alert(1)
    "entry_content_onerror.xml",  # <img onerror=>
    "entry_content_onload.xml",  # <img onload=>
    "entry_content_onmouseover.xml",  # <img onmouseover=>
    "entry_content_iframe.xml",  # <iframe>
    "entry_content_frame.xml",  # <frameset><frame>
    "entry_content_object.xml",  # <object>
    "entry_content_embed.xml",  # <embed>
    "entry_content_applet.xml",  # <applet>
    "entry_content_meta.xml",  # <meta http-equiv=refresh>
    "entry_content_link.xml",  # <link rel=stylesheet> to another site
    "entry_content_style.xml",  # style= overlay with url()
    "entry_content_style_tag.xml",  # <style>
    "feed_title_unacceptable_uri.xml",  # <a href="javascript:alert(1)">
)
EXTRA_PAYLOADS = (
    # Shapes feedparser's corpus lacks (no <svg>, no CSS expression()); written here, clearly not from it.
    ("svg_onload", "<svg onload=alert('svg_onload')><circle r=1></circle></svg>"),
    ("svg_script", "<svg><script>alert('svg_script')</script></svg>"),
    ("style_expression", "<div style=\"width: expression(alert('style_expression'))\">表达式</div>"),
    ("style_url_javascript", "<p style=\"background:url('javascript:alert(1)')\">背景</p>"),
    ("javascript_href_obfuscated", "<a href=\"jav&#x09;ascript:alert('obf')\">点击查看</a>"),
    ("img_onerror_alert", "<img src=x onerror=\"alert('img_onerror')\">"),
    ("mutation_xss", "<math><mtext><table><mglyph><style><img src=x onerror=alert('mxss')></style></math>"),
    ("details_ontoggle", "<details open ontoggle=\"alert('ontoggle')\"><summary>摘要</summary></details>"),
    ("autofocus_onfocus", "<input autofocus onfocus=\"alert('onfocus')\">"),
    ("form_action", "<form action=\"javascript:alert('form')\"><button>提交</button></form>"),
    ("base_href", '<base href="javascript:alert(\'base\')//"><a href="x">相对链接</a>'),
    ("attribute_breakout", "\"><img src=x onerror=alert('breakout')><a title='"),
)
_CONTENT_NAMES = ("content", "summary", "description", "title", "subtitle", "tagline", "info", "copyright")


def sanitizer_payload(path: Path) -> str:
    """The hostile HTML one feedparser sanitizer case feeds in, as a feed reader would receive it: the first
    content-like element's text (entities and CDATA resolved), base64-decoded for ``mode="base64"``, or its
    serialised children for inline XHTML."""
    root = ET.parse(path).getroot()
    for element in root.iter():
        name = element.tag.rsplit("}", 1)[-1]
        if name not in _CONTENT_NAMES:
            continue
        if len(element):
            ET.register_namespace("", "http://www.w3.org/1999/xhtml")
            return "".join(ET.tostring(child, encoding="unicode") for child in element)
        text = (element.text or "").strip()
        if not text:
            continue
        if element.get("mode") == "base64":
            return base64.b64decode(text).decode("utf-8")
        return text
    raise ValueError(f"no payload in {path}")


def arm(name: str, payload: str) -> str:
    """The payload made loud: wherever it would navigate (``location.href=``) it first calls
    ``alert('<name>')``, which the test's init script records; so execution shows even where navigation
    would be blocked or go unnoticed."""
    return payload.replace("location.href=", f"alert('{name}');location.href=")


_FILLER = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所"
    "民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那"
    "社义事平形相全表间样与关各重新线内正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并"
)


def filler(seed: int, chars: int = 320) -> str:
    """Distinct pseudo-Chinese prose (random common characters), so no two hostile items join one story."""
    rng = random.Random(seed)
    sentences = []
    while sum(len(s) for s in sentences) < chars:
        sentences.append("".join(rng.choices(_FILLER, k=rng.randint(12, 24))) + "。")
    return "".join(sentences)


@dataclass(frozen=True)
class Payload:
    name: str
    raw: str
    armed: str
    origin: str


def load_payloads(fixtures: Path) -> list[Payload]:
    """The chosen feedparser cases (``origin`` = their file) plus the EXTRA_PAYLOADS (``origin`` = "extra")."""
    out = []
    for file_name in PAYLOAD_FILES:
        name = file_name.removesuffix(".xml")
        raw = sanitizer_payload(fixtures / SANITIZE_DIR / file_name)
        out.append(Payload(name, raw, arm(name, raw), f"{SANITIZE_DIR}/{file_name}"))
    out += [Payload(name, raw, raw, "extra") for name, raw in EXTRA_PAYLOADS]
    return out


def hostile_items(payloads: list[Payload]) -> list[Item]:
    """One story per payload, the payload in every harvested field that reaches a page: the title and body as
    literal text (escaped markup in the feed, as real feeds carry it), the body also as markup, and the
    outlet name, author and attribution raw."""
    items = []
    for k, p in enumerate(payloads):
        body = (
            f"<p>{filler(k)}</p>"
            f"<p>原文摘录：{html.escape(p.armed, quote=False)}</p>"
            f"<div>{p.raw}</div><div>{p.armed}</div>"
            f"<p>{filler(10_000 + k, 120)}</p>"
        )
        items.append(
            Item(
                f"xss-{p.name}",
                f"XSS样本{k:02d} {html.escape(p.armed[:400])}",
                f"https://hostile.example.net/xss/{k:02d}-{p.name}.html",
                body,
                f"可疑来源{k:02d}{p.armed[:120]}" if k % 3 == 0 else f"可疑来源{k:02d}",
                1,
                5.0 + k / 100,
                {"author": p.armed[:200], "attribution": f"来源{k:02d}{p.armed[:200]}"},
            )
        )
    return items


def evidence_page(payloads: list[Payload], title: str) -> bytes:
    """A harvested article page carrying ``payloads`` as markup, in the head and the body."""
    head = (
        "<script>alert('head_script')</script>"
        '<meta http-equiv="refresh" content="0;url=javascript:alert(\'meta_refresh\')">'
        '<base href="https://hostile.example.net/">'
        "<style>body{background:url(\"javascript:alert('css')\")}</style>"
        '<link rel="stylesheet" href="https://hostile.example.net/evil.css">'
    )
    parts = "".join(f"<section><h2>{html.escape(p.name)}</h2>{p.raw}{p.armed}</section>" for p in payloads)
    page = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>{head}</head>'
        f"<body onload=\"alert('body_onload')\"><h1>{html.escape(title)}</h1><p>正文第一段：存档快照中的正文内容。</p>"
        f"{parts}<p>正文最后一段。</p></body></html>"
    )
    return page.encode("utf-8")


def feed_payloads(path: Path) -> list[str]:
    """The raw markup of every text field of a feedparser test feed, as a feed reader would get
    it before sanitizing: escaped HTML decoded by the XML parser, base64 decoded, inline XHTML
    serialised."""
    root = etree.fromstring(path.read_bytes(), etree.XMLParser(resolve_entities=False, no_network=True))
    fields = {
        "content", "description", "body", "summary", "title", "encoded", "subtitle", "tagline", "copyright",
        "info", "fullitem",
    }  # fmt: skip
    payloads = []
    for element in root.iter():
        parent = element.getparent()
        if not isinstance(element.tag, str) or parent is None:
            continue
        if etree.QName(parent).localname not in ("item", "entry", "channel", "feed"):
            continue
        if etree.QName(element).localname not in fields:
            continue
        if element.get("mode") == "base64":
            payloads.append(base64.b64decode(element.text or "").decode("utf-8"))
        else:
            inner = "".join(etree.tostring(child, encoding="unicode", with_tail=True) for child in element)
            payloads.append((element.text or "") + inner)
    return payloads


XSS_WATCH = """
(() => {
  const hits = [];
  Object.defineProperty(window, "__xss", { value: hits });
  Object.defineProperty(window, "__csp", { value: [] });
  const record = (kind) => function (...args) {
    hits.push(kind + ":" + args.map(String).join(","));
    return kind === "confirm" ? false : null;
  };
  for (const name of ["alert", "confirm", "prompt", "print", "open"]) {
    window[name] = record(name);
  }
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || ""));
  });
})();
"""
"""Init script of a page under test: records alert/confirm/prompt/print/open calls in ``window.__xss`` and CSP
violation reports in ``window.__csp``, so a test can prove harvested markup ran nothing."""
