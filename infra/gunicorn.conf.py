"""gunicorn settings shared by the three Flask services.

    gunicorn -c infra/gunicorn.conf.py "services.<name>.app:create_app()"

Everything a deployment tunes comes from the environment, so one file serves every service and
every environment; the defaults are safe for a laptop.
"""

from __future__ import annotations

import os
from typing import Any

from werkzeug.test import Client

from shared.limits import MAX_REQUEST_LINE

# Loopback unless told otherwise, so `gunicorn` run by hand never listens on the network. The
# container image sets BIND_HOST=0.0.0.0 (its own network namespace); compose then publishes the
# port on the host's 127.0.0.1 only.
bind = [f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"]

# Processes give CPU parallelism (scoring is CPU-bound Python); threads in each let a worker keep
# serving while a request waits on Elasticsearch or on the matcher. WEB_CONCURRENCY is the name
# most platforms already set for this. Each process loads its own models, so memory, not cores,
# is usually the limit: raise threads before workers. On two cores the directory's search mix
# (`bench.search`, 131,000 listings) served the same with 1, 2 or 4 threads per worker, within
# the noise of a shared machine (428-605 requests/s, three alternating runs each): threads cost
# CPU-bound searches nothing measurable.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# gthread, but a slow or half-open client waits in the event loop, not in one of those threads
# (GUNICORN_CLIENT_TIMEOUT seconds to send its request), gunicorn's own errors are JSON problems,
# and a second quit signal cannot deadlock a worker: see shared/gunicorn_worker.py.
worker_class = "shared.gunicorn_worker.ProblemThreadWorker"

# The longest request line gunicorn accepts (its own maximum, 8190 bytes): an 8 KB query string
# reaches the app, which answers in the problem shape; beyond, so does gunicorn (worker class).
limit_request_line = MAX_REQUEST_LINE

# No preload: `create_app()` runs in each worker after the fork, so no client, socket or thread
# is created in the master and then shared by forked children (the style guide's "nothing connects
# at import time" depends on this).
preload_app = False

# A request that takes longer than this has a bug or a stuck backend; killing the worker frees it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM, in-flight requests get this long to finish. Keep it below the orchestrator's stop
# grace period (compose: stop_grace_period 30s) so workers exit before they are SIGKILLed.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
# Close each connection after its response (no keep-alive) unless told otherwise. A kept-alive
# connection stays with the worker that accepted it, and a few busy long-lived connections (a
# proxy's upstream pool, a load generator) can all land on one worker while the other idles: with
# wrk's 8 connections the directory served 209 requests/s in some runs and 430 in others, and a
# steady 383-409 with keep-alive off. A new connection costs a fraction of a millisecond on
# loopback or a container network; nginx, the usual proxy in front of gunicorn, opens one per
# request to its upstream by default anyway.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "0"))

# Recycle workers now and then so a slow leak (fragmentation) cannot grow without bound; the
# jitter stops all workers restarting at once. Rarely, though: a new worker starts with cold caches
# (the embedded index's snapshot and postings take seconds to warm), and at the directory's target
# of 400 requests/s a limit of 2,000 restarted each worker every few seconds. The caches are
# bounded, so 100,000 (minutes at full load, days at a quiet one) only guards against the unknown.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = 10000


def post_worker_init(worker: Any) -> None:
    """Ask the app's `/readyz` once before the worker takes its first request, in process.

    Clients open lazily on first use; this makes that use happen now, so the first real request
    does not pay for it, and it starts the embedded search index warming its caches in the
    background. A failure is only logged: readiness is the load balancer's call, not this hook's.
    """
    try:
        status = Client(worker.wsgi).get("/readyz").status
    except Exception:  # the app's own error handling failed; the worker can still serve
        worker.log.exception("warm-up request to /readyz failed")
        return
    worker.log.info("warm-up: /readyz answered %s", status)


# The worker heartbeat file: on a container's overlay filesystem writes can stall and get healthy
# workers killed; /dev/shm is memory-backed. Fall back to the default where it does not exist.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Logs go to stdout/stderr for the container runtime to collect. The access line carries what an
# operator needs per request: client, request line, status, size, duration in ms, request id and
# user agent. Application logs (JSON when LOG_FORMAT=json) come from shared.logging_setup.
accesslog = "-"
errorlog = "-"
# Request values escaped, keys in query strings redacted: see shared/gunicorn_logging.py.
logger_class = "shared.gunicorn_logging.SafeAccessLogger"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}i)s "%(a)s"'

# With LOG_FORMAT=json every line on the container's output must be one JSON object, gunicorn's
# own lines included, so route its two loggers through the same formatter as the application.
if os.environ.get("LOG_FORMAT") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "shared.logging_setup.JsonFormatter"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
        },
        # Not propagated: the root logger has its own handler (gunicorn's, then the app's), and
        # propagating would print every gunicorn line twice.
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }
