"""Prometheus metrics of one app instance: its own registry, so tests and several apps in
one process never collide."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self, queue_stats: Callable[[], dict[str, Any]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "escalate_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "escalate_http_request_duration_seconds",
            "Time to answer HTTP requests, by method and route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.registry.register(_QueueCollector(queue_stats))
        # The labelled children, found once: labels() validates and locks on every call,
        # and this runs for every request. Bounded: routes x methods x statuses.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[key] = children
        count, latency = children
        count.inc()
        latency.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _QueueCollector(Collector):
    """Reads the job queue and the notification outbox at scrape time, so the figures are
    never stale."""

    def __init__(self, queue_stats: Callable[[], dict[str, Any]]) -> None:
        self.queue_stats = queue_stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self.queue_stats()
        depth = GaugeMetricFamily("escalate_jobs", "Jobs in the queue by state.", labels=["state"])
        for state, count in sorted(stats.get("depth", {}).items()):
            depth.add_metric([state], count)
        yield depth
        yield GaugeMetricFamily(
            "escalate_jobs_oldest_due_age_seconds",
            "Age of the oldest job that is due and not yet claimed (0 when none).",
            value=float(stats.get("oldest_due_age_seconds", 0.0)),
        )
        outbox = GaugeMetricFamily(
            "escalate_notifications",
            "Notifications in the outbox by state (due, waiting, sending, failed).",
            labels=["state"],
        )
        for state, count in sorted(stats.get("outbox", {}).items()):
            outbox.add_metric([state], count)
        yield outbox

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())
