"""The shipped config/sources.yaml is valid and covers every source kind."""

from __future__ import annotations

from pathlib import Path

from news_harvester.config import load_sources

SHIPPED = Path(__file__).resolve().parent.parent / "config" / "sources.yaml"


def test_shipped_sources_validate_and_cover_all_kinds():
    config = load_sources(SHIPPED)
    assert {s.kind for s in config.sources} == {"feed", "html", "json"}
    assert len({s.id for s in config.sources}) == len(config.sources)
    mofcom = config.get("mofcom-policy")
    assert mofcom is not None and mofcom.name == "商务部网站" and mofcom.timezone == "Asia/Shanghai"
    assert mofcom.weight > max(s.weight for s in config.sources if not s.id.startswith("mofcom"))
