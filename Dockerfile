# One image for every socialmatch process; compose picks the process with `command`.

# The directory's front-end assets (GOV.UK Frontend, Swagger UI), built by the Makefile's own
# `assets` target from the npm registry, in a throwaway stage: the image carries no Node.js.
FROM node:20.18.0-bookworm-slim AS assets
WORKDIR /build
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
COPY Makefile ./
COPY services/directory/frontend/ services/directory/frontend/
RUN make assets

# The tag pins both the Python patch release and the Debian release, so a rebuild next month
# gets the same interpreter and system libraries (bump deliberately, with the requirements).
FROM python:3.11.13-slim-bookworm

# No .pyc files in the image layers or at run time (the source is read-only to the app user);
# unbuffered output so log lines reach `docker logs` as they are written.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# A fixed, unprivileged uid: nothing in the container runs as root, and files it writes to a
# mounted volume have a predictable owner.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

# Dependencies before the source, so editing code does not reinstall them. Every wheel the
# requirements need (numpy, scipy, scikit-learn) is published for this platform: no compiler.
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt

COPY shared/ shared/
COPY services/ services/
COPY infra/ infra/
COPY data/ data/
COPY --from=assets /build/services/directory/assets/ services/directory/assets/

# The embedded backends' default location (sqlite:///var/...) is the only place the app writes,
# so a plain `docker run` without Elasticsearch/Kafka still works.
RUN mkdir -p /app/var && chown app:app /app/var

USER app

# The container has its own network namespace, so listen on all of its interfaces; what the host
# exposes is decided where the container is run (compose publishes on 127.0.0.1 only).
ENV BIND_HOST=0.0.0.0 \
    PORT=8080
EXPOSE 8080

CMD ["gunicorn", "-c", "infra/gunicorn.conf.py", "services.directory.app:create_app()"]
