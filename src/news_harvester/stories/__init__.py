"""Stories: what the harvested articles are about and how much they matter, decided without I/O.

``dedupe`` (fingerprints, MinHash-LSH, which earlier article a new one repeats) → ``assign`` (the story
service and a transaction's ``StoryBatch``, the decider the store is handed) → ``enricher`` (canonical member,
classification and score of one story) → ``topics`` (classify: ``taxonomy`` reads topics.yaml,
``keywords`` matches the explainable rules, text read through ``textfold``), ``prior_model`` (the shipped
cold-start model), ``topic_model`` (the editors' learned model) → ``ranking`` (the queue score in named
parts). ``classifier`` follows topics.yaml and the newest learned model for the running process; ``refresh``
decides a story's canonical member, re-classification, topics and score from stored records.

Never imports the store (it reads through small protocols the store satisfies: ``assign.StoryStore``,
``classifier.TopicModels``), harvest, editorial, sources, web, cli, cluster, daemon or wiring.
"""
