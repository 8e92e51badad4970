"""Harvesting: when each source is due, fetching it, decoding its bytes and reading its items and articles.

The flow reads top to bottom: ``schedule`` (when) → ``fetch`` (bytes over HTTP, politeness, limits) →
``decode`` (bytes to text, GBK/GB18030 right) → ``read`` (a source's items and article pages, traps handled,
parsed by news_harvester.parse) → ``pipeline`` (one source end to end: new items, stories, store, run record).
``ingest`` reads already-extracted articles from JSON lines instead of the web.

Never imports web, cli, cluster, daemon or wiring (the shells above it), nor editorial (what editors do with
the stories comes after harvesting).
"""
