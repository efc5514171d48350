# The production image: gunicorn serves the site (static files via WhiteNoise); the same image runs
# the Celery worker and beat (see docker-compose.yml).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN useradd --system --uid 1000 --home /app skyledger

# Exactly the locked set (every package pinned, with hashes; `make lock` makes it), then the project
# itself with no dependency resolution of its own.
COPY requirements/prod.txt ./requirements/prod.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/prod.txt
COPY pyproject.toml README.md ./
COPY config ./config
COPY accounts ./accounts
COPY inventory ./inventory
COPY iam_audit ./iam_audit
RUN pip install --no-cache-dir --no-deps --no-build-isolation . && pip check
COPY manage.py ./
COPY templates ./templates
COPY static ./static
# collectstatic needs settings but no secrets or database
RUN SECRET_KEY=build-only-not-secret ALLOWED_HOSTS=localhost python manage.py collectstatic --no-input -v 0

USER skyledger
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
