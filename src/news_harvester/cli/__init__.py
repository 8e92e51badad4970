"""The ``news-harvester`` command line: thin commands over news_harvester.wiring, the store and config.

main.py holds the root group and the daemon commands and registers the command modules (articles,
sources, stories, issues, users, ops); common.py holds what they share. Commands import their heavy
parts inside the function, so ``--help`` and simple commands start fast. Never imported by the library.
"""
