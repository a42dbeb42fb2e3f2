"""Prometheus metrics: HTTP requests (this process), jobs and queues (read at scrape time).

Job outcomes and durations are read from the jobs table and queue depth from Redis when scraped,
so figures are right whichever worker process did the work.
"""

from __future__ import annotations

import time

from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from celery_config import QUEUES
from infra.redis_client import get_redis
from models import Job
from models.db import get_sessionmaker

REGISTRY = CollectorRegistry()

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "endpoint", "status"],
                   registry=REGISTRY)
LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["method", "endpoint"],
                    registry=REGISTRY)


class JobsCollector:
    def collect(self):
        jobs = GaugeMetricFamily("jobs", "Jobs by kind and status", labels=["kind", "status"])
        durations = GaugeMetricFamily("job_duration_seconds_avg",
                                      "Mean duration of finished jobs", labels=["kind", "status"])
        queue_depth = GaugeMetricFamily("queue_depth", "Messages waiting per queue",
                                        labels=["queue"])
        try:
            session = get_sessionmaker()()
            try:
                rows = session.execute(
                    select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
                ).all()
                for kind, status, count in rows:
                    jobs.add_metric([kind, status], count)
                finished = session.execute(
                    select(Job.kind, Job.status, Job.started_at, Job.finished_at)
                    .where(Job.finished_at.is_not(None), Job.started_at.is_not(None))
                    .order_by(Job.finished_at.desc()).limit(1000)
                ).all()
            finally:
                session.close()
            sums: dict[tuple[str, str], list[float]] = {}
            for kind, status, started, ended in finished:
                sums.setdefault((kind, status), []).append((ended - started).total_seconds())
            for (kind, status), values in sums.items():
                durations.add_metric([kind, status], sum(values) / len(values))
        except Exception:
            pass
        try:
            client = get_redis()
            for queue in QUEUES:
                # kombu keeps one Redis list per priority step: "video", "video:1", ...
                names = [queue] + [f"{queue}:{step}" for step in range(1, 10)]
                depth = sum(client.llen(name) for name in names)
                queue_depth.add_metric([queue], depth)
        except Exception:
            pass
        yield jobs
        yield durations
        yield queue_depth


REGISTRY.register(JobsCollector())


def init_app(app: Flask) -> None:
    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _record(response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        started = g.get("request_started")
        if started is not None:
            LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)
        return response
