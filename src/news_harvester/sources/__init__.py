"""The source list and its health: editing sources.yaml, OPML, health reports, alarms and their notifications.

``admin`` (edit sources.yaml keeping its comments, with ``entry_fields``, ``yaml_splice`` and
``yaml_document``), ``opml`` (import/export), ``health`` (configuration
joined with runtime state), ``alarms`` (pure detection from recent runs) → ``notify`` (webhook, e-mail).

Never imports harvest, editorial, web, cli, cluster, daemon or wiring.
"""
