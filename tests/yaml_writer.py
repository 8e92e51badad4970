"""Write test sources.yaml files with the same YAML library the product reads them with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def dump(data: Any, path: Path) -> None:
    yaml = YAML()
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
