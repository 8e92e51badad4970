"""Persistence: the only importers of sqlalchemy and alembic, and the only place SQL appears.

The store reads and writes; it decides nothing about stories. Where a transaction needs a story decision (which
story a new article joins, a story's canonical member, topics and score), it asks the decider it is handed
(``story_ports``: a run's ``StoryBatch``, the process's ``StoryService``) and writes the records it gets back
(news_harvester.story_records).

Never imports the story logic (news_harvester.stories), parsing, harvest, editorial, sources, web, cli, cluster,
daemon or wiring (checked by lint-imports).
"""
