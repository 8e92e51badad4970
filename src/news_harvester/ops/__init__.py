"""Operations: logging set-up, Prometheus metrics and SQLite backup/restore.

Never imports harvest, editorial, web, cli, cluster, daemon or wiring.
"""
