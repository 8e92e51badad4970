"""news_harvester: harvests trade news for the 数字贸易简报 (Digital Trade Brief)."""

__version__ = "0.1.0"
