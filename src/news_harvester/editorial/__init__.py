"""Editorial work on the stories: issues of the brief, house-style summaries, and export of an issue.

``issues`` (numbering, accepting stories into a draft, publishing) uses ``summary`` (drafts of the 150–400
character 行业资讯 summaries and a style check) and ``export`` (Markdown, HTML, DOCX, PDF).

Never imports harvest (editors never wait for the network), web, cli, cluster, daemon or wiring.
"""
