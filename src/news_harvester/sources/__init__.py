"""The source list and its health: editing sources.yaml, OPML, health reports, alarms and their notifications.

``admin`` (edit sources.yaml keeping its comments, with ``entry_fields``, ``yaml_splice`` and
``yaml_document``), ``opml`` (import/export), ``health`` (configuration
joined with runtime state), ``alarms`` (pure detection from recent runs) → ``notify`` (webhook, e-mail).
Health as people read it: ``error_advice`` (error codes in Chinese with advice), ``health_chart`` (the 30-day SVG),
``cadence`` (why a source is quiet), ``banner`` (the queue bar's groups) and ``health_page`` (the sources page).

Never imports harvest, editorial, web, cli, cluster, daemon or wiring.
"""
