# The agent's image: Python 3.11 with the models installed from PyPI (no download at run time).
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY voiceagent ./voiceagent
COPY telephony ./telephony
COPY dialogs ./dialogs
COPY migrations ./migrations
# Editable, so the package finds dialogs/ and migrations/ beside it in /app.
RUN pip install --no-cache-dir -e .
RUN useradd --system --home /app voiceagent && chown -R voiceagent /app
USER voiceagent
EXPOSE 8000
