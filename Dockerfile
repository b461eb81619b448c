FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FILMCLUB_DB=/data/filmclub.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY db ./db
# libfribidi0: Pillow's bundled Raqm loads it to lay out right-to-left text in the pictures (bot/fonts.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libfribidi0 \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 filmclub \
    && mkdir -p /data \
    && chown filmclub:filmclub /data

USER filmclub
VOLUME ["/data"]
STOPSIGNAL SIGTERM
# DISCORD_TOKEN comes from the environment at run time (docker run -e DISCORD_TOKEN=... or --env-file).
CMD ["filmclub"]
