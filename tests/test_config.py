"""load_sources error messages (file, line, source id, field, hint), defaults merging, and
load_settings precedence: defaults < TOML file < NEWS_HARVESTER_* environment < overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from news_harvester.config import Settings, load_settings, load_sources
from news_harvester.errors import ConfigError

GOOD = """\
defaults:
  schedule: 2h
  timezone: Asia/Shanghai
  language: zh
sources:
  - id: mofcom-policy
    name: 商务部政策发布
    kind: html
    url: https://www.mofcom.gov.cn/zcfb/index.html
    weight: 10
    selectors:
      item: ul.policy-list > li
      date: [span.time, span]
  - id: xinhua-world
    name: 新华网国际
    kind: feed
    url: http://www.news.cn/world/news_world.xml
    schedule: 30m
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    assert caught.value.code == "config.invalid"
    return str(caught.value)


def test_good_file_loads_and_defaults_merge(tmp_path):
    config = load_sources(_write(tmp_path, GOOD))

    mofcom, xinhua = config.sources
    assert (mofcom.id, mofcom.kind, mofcom.weight) == ("mofcom-policy", "html", 10)
    assert mofcom.schedule == "2h" and mofcom.interval_seconds == 7200  # from defaults:
    assert xinhua.schedule == "30m" and xinhua.interval_seconds == 1800  # the source's own value wins
    assert mofcom.selectors.item == ["ul.policy-list > li"]  # one selector or a list of fallbacks
    assert mofcom.selectors.date == ["span.time", "span"]
    assert str(mofcom.zone) == "Asia/Shanghai"
    assert config.get("xinhua-world") is xinhua and config.get("nope") is None


# (what to change in GOOD, the line the error must name, the field, a phrase of the hint)
BROKEN = [
    ("    kind: feed\n", "    kind: rss\n", 16, "kind", "use one of: feed, html, json"),
    ("    schedule: 30m\n", "    schedule: every hour\n", 18, "schedule", "use an interval such as 30m"),
    ("    schedule: 30m\n", "    schedule: 10s\n", 18, "schedule", "use an interval such as 30m"),
    ("    schedule: 30m\n", "    schedule: 30m\n    timezone: Asia/Beijing\n", 19, "timezone", "use an IANA zone name"),
    (
        "    url: http://www.news.cn/world/news_world.xml\n",
        "    url: www.news.cn/world/news_world.xml\n",
        17,
        "url",
        "write the full address",
    ),
    ("    schedule: 30m\n", "    schedule: 30m\n    weight: 500\n", 19, "weight", "a number from 0 to 100"),
    ("    schedule: 30m\n", "    schedule: 30m\n    encoding: gbk2\n", 19, "encoding", "use a Python codec name"),
]


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "hint"), BROKEN, ids=[f"{b[3]}={b[1].split(':')[-1].strip()}" for b in BROKEN]
)
def test_invalid_field_names_file_line_source_field_and_hint(tmp_path, old, new, line, field, hint):
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))

    message = _error(path)

    assert str(path) in message
    assert f"line {line}:" in message  # the offending field's own line
    assert f"{path}:14:" in message  # and where the source starts
    assert "source 'xinhua-world'" in message
    assert f"field {field} = " in message
    assert f"hint: {hint}" in message


def test_unknown_field_with_a_typo_suggests_the_right_name(tmp_path):
    path = _write(tmp_path, GOOD.replace("    schedule: 30m\n", "    shedule: 30m\n"))

    message = _error(path)

    assert f"{path}:14:" in message and "line 18:" in message
    assert "source 'xinhua-world'" in message
    assert "field shedule: unknown field (did you mean 'schedule'?)" in message
    assert "hint: known fields are id, name, kind, url, schedule" in message


def test_unknown_selector_key_suggests_a_selector_key(tmp_path):
    path = _write(tmp_path, GOOD.replace("      item: ul.policy-list > li\n", "      itme: ul.policy-list > li\n"))

    message = _error(path)

    assert "source 'mofcom-policy'" in message
    assert "field selectors.itme: unknown field (did you mean 'item'?)" in message
    assert "hint: known fields are item, link, title, date, body" in message


def test_missing_required_field(tmp_path):
    path = _write(tmp_path, GOOD.replace("    name: 新华网国际\n", ""))

    message = _error(path)

    assert f"{path}:14:" in message and "source 'xinhua-world'" in message
    assert "field name: required but missing" in message


def test_duplicate_id_names_both_places(tmp_path):
    path = _write(tmp_path, GOOD.replace("  - id: xinhua-world\n", "  - id: mofcom-policy\n"))

    message = _error(path)

    assert f"{path}:14:" in message
    assert "source 'mofcom-policy'" in message
    assert "field id = 'mofcom-policy' is a duplicate" in message
    assert "first defined as sources[0] on line 6" in message
    assert "hint: every source needs its own id" in message


def test_invalid_value_from_defaults_points_at_the_defaults_block(tmp_path):
    path = _write(tmp_path, GOOD.replace("  timezone: Asia/Shanghai\n", "  timezone: Beijing\n"))

    message = _error(path)

    assert "source 'mofcom-policy'" in message
    assert "line 3, from defaults:" in message
    assert "field timezone = 'Beijing'" in message
    assert "hint: use an IANA zone name" in message


def test_bad_yaml_names_file_line_source_and_hint(tmp_path):
    broken = GOOD.replace("    url: http://www.news.cn/world/news_world.xml\n", "    url: [http://www.news.cn\n")
    path = _write(tmp_path, broken)

    message = _error(path)

    assert message.startswith(f"{path}:")
    assert "not valid YAML" in message
    assert "(in source 'xinhua-world')" in message
    line = int(message.split(":")[1])
    assert 17 <= line <= 19  # at or just after the unclosed bracket on line 17
    assert "hint: check indentation and quoting" in message


def test_tab_indentation_is_bad_yaml_with_its_line(tmp_path):
    path = _write(tmp_path, GOOD.replace("    weight: 10\n", "\tweight: 10\n"))

    message = _error(path)

    assert message.startswith(f"{path}:10:")
    assert "(in source 'mofcom-policy')" in message


def test_missing_file(tmp_path):
    message = _error(tmp_path / "nope.yaml")

    assert str(tmp_path / "nope.yaml") in message
    assert "sources file not found" in message
    assert "hint: set NEWS_HARVESTER_SOURCES or --sources" in message


def test_top_level_must_have_a_sources_list(tmp_path):
    message = _error(_write(tmp_path, "source:\n  - id: a\n"))

    assert "expected a mapping with a 'sources:' list" in message


# --------------------------------------------------------------------------- settings


def test_settings_precedence_defaults_file_env_overrides(tmp_path):
    toml = tmp_path / "settings.toml"
    toml.write_text(
        '[news_harvester]\nconcurrency = 4\nlog_level = "DEBUG"\nper_host_delay = 2.5\nretries = 5\n', encoding="utf-8"
    )
    environ = {"NEWS_HARVESTER_CONCURRENCY": "8", "NEWS_HARVESTER_RETRIES": "3", "NEWS_HARVESTER_BIND": ""}

    settings = load_settings(config_file=toml, environ=environ, overrides={"retries": 1, "log_level": None})

    defaults = Settings()
    assert settings.read_timeout == defaults.read_timeout == 30.0  # default
    assert settings.per_host_delay == 2.5  # file beats default
    assert settings.log_level == "DEBUG"  # file; a None override does not count
    assert settings.concurrency == 8  # environment beats file
    assert settings.retries == 1  # override beats environment
    assert settings.bind == defaults.bind  # empty environment value does not count


def test_settings_file_named_by_environment(tmp_path):
    toml = tmp_path / "settings.toml"
    toml.write_text("concurrency = 3\nrespect_robots = false\n", encoding="utf-8")

    settings = load_settings(environ={"NEWS_HARVESTER_CONFIG": str(toml), "NEWS_HARVESTER_DATA_DIR": "/srv/nh"})

    assert settings.concurrency == 3
    assert settings.respect_robots is False
    assert settings.data_dir == Path("/srv/nh")


def test_environment_strings_are_converted():
    settings = load_settings(
        environ={
            "NEWS_HARVESTER_RESPECT_ROBOTS": "false",
            "NEWS_HARVESTER_PER_HOST_DELAY": "0.25",
            "NEWS_HARVESTER_LOG_LEVEL": "warning",
        }
    )

    assert settings.respect_robots is False
    assert settings.per_host_delay == 0.25
    assert settings.log_level == "WARNING"


@pytest.mark.parametrize(
    ("kwargs", "setting", "origin"),
    [
        (
            {"environ": {"NEWS_HARVESTER_CONCURRENCY": "lots"}},
            "concurrency = 'lots'",
            "environment variable NEWS_HARVESTER_CONCURRENCY",
        ),
        (
            {"environ": {"NEWS_HARVESTER_LOG_LEVEL": "verbose"}},
            "log_level = 'VERBOSE'",
            "environment variable NEWS_HARVESTER_LOG_LEVEL",
        ),
        (
            {"environ": {}, "overrides": {"per_host_concurrency": 0}},
            "per_host_concurrency = 0",
            "command-line flag --per-host-concurrency",
        ),
    ],
    ids=["env-not-an-int", "env-not-a-level", "flag-out-of-range"],
)
def test_invalid_setting_values_say_which_setting_where_from_and_how_to_fix(kwargs, setting, origin):
    with pytest.raises(ConfigError) as caught:
        load_settings(**kwargs)

    message = str(caught.value)
    assert setting in message
    assert f"(from {origin})" in message
    name = setting.split(" ")[0]
    assert f"hint: fix it there, or override it with NEWS_HARVESTER_{name.upper()} or --{name.replace('_', '-')}" in (
        message
    )


def test_invalid_value_in_the_settings_file_names_the_file(tmp_path):
    toml = tmp_path / "settings.toml"
    toml.write_text("concurrency = 0\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=toml, environ={})

    assert f"concurrency = 0 (from settings file {toml})" in str(caught.value)
    assert "greater than or equal to 1" in str(caught.value)


def test_settings_file_problems(tmp_path):
    toml = tmp_path / "settings.toml"
    toml.write_text("concurency = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown setting 'concurency' \(did you mean 'concurrency'\?\)"):
        load_settings(config_file=toml, environ={})

    toml.write_text("concurrency = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not valid TOML.*line 1"):
        load_settings(config_file=toml, environ={})

    with pytest.raises(ConfigError, match="settings file not found"):
        load_settings(config_file=tmp_path / "missing.toml", environ={})
