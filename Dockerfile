# modq: the HTTP service under gunicorn (service/gunicorn_conf.py), as a non-root user.
#   docker build -t modq .
#   docker run -p 8000:8000 -e MODQ_REDIS_URL=redis://redis-host:6379/0 modq
# docker-compose.yml runs it next to a Redis with append-only persistence.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY model ./model
COPY training ./training

# Install the package, then make sure it carries the default model: build it into the installed
# package when the checkout did not ship model/default/. The build runs from / so that it uses
# the installed packages, not the sources in /src.
RUN pip install . \
    && cd / \
    && if ! python -c "from model.scorer import load_default_model; load_default_model()"; then \
           python -m training build-default; \
       fi \
    && python -c "from model.scorer import load_default_model; print(load_default_model().version)" \
    && rm -rf /src

# /app is the user's home and working directory, so that `docker compose exec modq modq labels
# export --out FILE` or `modq train --out DIR` can write there.
RUN useradd --system --uid 10001 --user-group --home-dir /app --create-home \
        --shell /usr/sbin/nologin modq
WORKDIR /app
USER modq

ENV PORT=8000
EXPOSE 8000

# Liveness only (/healthz checks nothing else); orchestrators should use /readyz for traffic.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)" || exit 1

# gunicorn is PID 1 (modq serve runs it in process), so SIGTERM from `docker stop` drains
# in-flight requests; give it at least graceful_timeout (30 s): `docker stop -t 35`.
CMD ["modq", "serve"]
