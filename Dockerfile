# One image for the clinic's web, worker and beat processes (see docker-compose.yml).

# The planner's compiled core (clinic/native.py) is built where a C compiler is; the image itself stays slim.
# Same Python release in both stages, so the extensions load in the second.
FROM python:3.11 AS native
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY clinic ./clinic
COPY careplans ./careplans
COPY scheduling ./scheduling
RUN python -m clinic.native build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system clinic \
    && useradd --system --gid clinic --home-dir /app --no-create-home --shell /usr/sbin/nologin clinic

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. Every package is pinned with its hash.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# Only what the clinic runs: copying the whole folder would bring in .venv/ and var/ (the local database).
# Add each new Django app (and templates/ once it has files) here; tests/clinic/test_compose.py checks it.
COPY manage.py ./
COPY clinic ./clinic
COPY careplans ./careplans
COPY scheduling ./scheduling
COPY templates ./templates
# The extensions and the stamp of the sources they were built from (checked before every plan).
COPY --from=native /app/careplans/ ./careplans/
COPY --from=native /app/scheduling/ ./scheduling/

# Static files are collected into var/static/ (STATIC_ROOT); a reverse proxy in front of gunicorn serves
# /static/ from there. The secret key below exists only for this build step and is never used at run time.
# var/ must be writable by the app user: settings create var/mail/ and var/celery/ on start-up.
RUN DEBUG=false \
    SECRET_KEY=build-time-only-collectstatic-key-not-for-runtime-use \
    python manage.py collectstatic --noinput \
    && chown -R clinic:clinic /app/var

USER clinic

EXPOSE 8000

CMD ["gunicorn", "clinic.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
