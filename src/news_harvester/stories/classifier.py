"""The process's story classifier: the taxonomy of topics.yaml plus the newest learned model in the database.

Both change while the daemon runs (an admin edits topics.yaml, an editor retrains the model from the web app
or the CLI); :class:`ClassifierSource` notices either and builds a new
:class:`~news_harvester.stories.enricher.StoryEnricher`.
An invalid topics.yaml is logged with its file:line message and the last valid taxonomy keeps working; only the
first load (start-up, CLI commands) fails on it, because then there is nothing valid to keep.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from news_harvester.errors import ConfigError
from news_harvester.stories.enricher import StoryEnricher
from news_harvester.stories.prior_model import load_shipped
from news_harvester.stories.topics import Taxonomy, load_taxonomy

if TYPE_CHECKING:
    from news_harvester.stories.topic_model import TopicModel

log = logging.getLogger(__name__)


class TopicModels(Protocol):
    """Where the learned models are kept (the store's Repository)."""

    def latest_topic_model(self) -> tuple[int, bytes, dict[str, Any]] | None: ...


class ClassifierSource:
    def __init__(self, path: Path, repository: TopicModels) -> None:
        self.path = path
        self.repository = repository
        self.enricher = StoryEnricher()
        self._mtime: float | None = None
        self._model_id: int | None = None

    def load(self) -> StoryEnricher:
        """First load: an invalid topics.yaml raises ConfigError (nothing valid to keep yet)."""
        taxonomy = load_taxonomy(self.path)
        self._mtime = _mtime(self.path)
        self.enricher = self._build(taxonomy)
        return self.enricher

    def check(self) -> StoryEnricher | None:
        """A new enricher when topics.yaml or the newest model changed, else None; errors keep the old one."""
        taxonomy = self.enricher.taxonomy
        mtime = _mtime(self.path)
        changed = False
        if mtime != self._mtime:
            self._mtime = mtime
            try:
                taxonomy = load_taxonomy(self.path)
            except ConfigError as exc:
                log.error(
                    "topics.yaml edit rejected, keeping the last valid taxonomy:\n%s",
                    exc,
                    extra={"stage": "config", "code": exc.code},
                )
                return None
            changed = taxonomy != self.enricher.taxonomy
            if changed:
                log.info("topics reloaded: %d topics", len(taxonomy.topics), extra={"stage": "config"})
        latest = self.repository.latest_topic_model()
        if latest is not None and latest[0] != self._model_id:
            changed = True
        if not changed or taxonomy is None:
            return None
        self.enricher = self._build(taxonomy)
        return self.enricher

    def _build(self, taxonomy: Taxonomy) -> StoryEnricher:
        model: TopicModel | None = None
        model_id: int | None = None
        latest = self.repository.latest_topic_model()
        if latest is not None:
            # scikit-learn costs a second or more to import: only when a model was trained
            from news_harvester.stories.topic_model import TopicModel

            model_id, blob, _info = latest
            try:
                model = TopicModel.from_bytes(blob)
            except ValueError as exc:
                log.error("stored topic model %d is unreadable, classifying with rules only: %s", model_id, exc)
                model = None
        self._model_id = model_id
        return StoryEnricher(
            taxonomy=taxonomy, model=model, model_id=model_id if model is not None else None, prior=load_shipped()
        )


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime_ns / 1e9
    except OSError:
        return None
