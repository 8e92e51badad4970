"""Editorial work on the stories: issues of the brief, house-style summaries, and export of an issue.

``issues`` (numbering, accepting stories into a draft, publishing) uses ``summary`` (drafts of the 150–400
character 行业资讯 summaries: ``lead`` finds the lead and its date, ``house_style`` checks the result,
``sentences`` splits text) and ``export`` (the issue document, rendered by ``export_markdown``,
``export_html``, ``export_docx`` and ``export_pdf``; ``rich_text`` reads sanitized HTML into blocks).

Never imports harvest (editors never wait for the network), web, cli, cluster, daemon or wiring.
"""
