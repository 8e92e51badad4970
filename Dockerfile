# news_harvester daemon: scheduler + web endpoint, SQLite in /data, sources in /config.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NEWS_HARVESTER_DATA_DIR=/data \
    NEWS_HARVESTER_SOURCES=/config/sources.yaml \
    NEWS_HARVESTER_TOPICS=/config/topics.yaml \
    NEWS_HARVESTER_BIND=0.0.0.0:8000 \
    NEWS_HARVESTER_LOG_FORMAT=json

# Chinese glyphs for the 数据月报 chart (matplotlib draws its labels with a CJK font; without one they are boxes).
# --build-arg WITH_PDF=1 adds LibreOffice Writer (~300 MB) for `issue export --format pdf` and the PDF button.
ARG WITH_PDF=0
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk \
 && if [ "$WITH_PDF" = "1" ]; then apt-get install -y --no-install-recommends libreoffice-writer-nogui; fi \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 harvester \
 && useradd --system --uid 10001 --gid harvester --home-dir /data --shell /usr/sbin/nologin harvester

WORKDIR /app
COPY pyproject.toml README.md ./
# src/news_harvester/defaults/*.yaml link to config/: the wheel packs their content as the packaged defaults
COPY config/sources.yaml config/topics.yaml ./config/
COPY src ./src
RUN pip install --no-compile ".[postgres]" && rm -rf /app/src /app/config

COPY --chown=harvester:harvester config/sources.yaml config/topics.yaml /config/
RUN mkdir -p /data && chown harvester:harvester /data /config

USER harvester
VOLUME ["/data", "/config"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

STOPSIGNAL SIGTERM
ENTRYPOINT ["news-harvester"]
CMD ["run"]
