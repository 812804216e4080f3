# Slim, non-root image of interview-bot. Build: docker build -t interview-bot .
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md alembic.ini ./
COPY bot ./bot
COPY migrations ./migrations
COPY content ./content
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 bot \
    && mkdir -p /app/data && chown bot:bot /app/data

USER bot
# Migrations run on start; a broken bank stops start-up with file:line messages.
CMD ["interview-bot", "run"]
