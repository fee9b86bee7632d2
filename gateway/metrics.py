"""Prometheus metrics of one application (own registry, so tests and apps do not collide)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """The gateway's counters, histograms and gauges."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._webhook_children: dict[tuple[str, str], tuple[Any, Any]] = {}
        self.webhooks = Counter(
            "hotline_webhooks_total",
            "Twilio webhooks by endpoint and outcome",
            ["endpoint", "outcome"],
            registry=self.registry,
        )
        self.webhook_seconds = Histogram(
            "hotline_webhook_seconds",
            "Time to answer a Twilio webhook",
            ["endpoint"],
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.fallback_answers = Counter(
            "hotline_fallback_answers_total",
            "Incoming calls answered with the fallback TwiML after a failure",
            registry=self.registry,
        )
        self.outbox_relayed = Counter(
            "hotline_outbox_relayed_total", "Jobs relayed from the outbox to the queue", registry=self.registry
        )
        self.outbox_pending = Gauge(
            "hotline_outbox_pending", "Jobs promised but not yet on a queue", registry=self.registry
        )
        self.queue_length = Gauge("hotline_queue_length", "Jobs waiting per queue", ["queue"], registry=self.registry)
        self.failed_jobs = Gauge(
            "hotline_failed_jobs", "Jobs in the failed registry per queue", ["queue"], registry=self.registry
        )
        # The call desk: calls put in its queues (green channel or not), how their waits ended, call-back tasks.
        self.desk_enqueued = Counter(
            "hotline_desk_enqueued_total", "Calls put in a desk queue", ["queue", "channel"], registry=self.registry
        )
        self.desk_wait_seconds = Histogram(
            "hotline_desk_wait_seconds",
            "Time callers waited in a desk queue, by how the wait ended (connected, abandoned, left)",
            ["queue", "outcome"],
            buckets=(5, 10, 20, 30, 60, 120, 300, 600, 1200),
            registry=self.registry,
        )
        self.desk_callbacks = Counter(
            "hotline_desk_callbacks_total",
            "Call-back tasks left for a desk queue's agents, by reason",
            ["queue", "reason"],
            registry=self.registry,
        )
        # The call distributor: offers made, and how each ended (accepted, declined, timed_out, abandoned, ...).
        self.desk_offers = Counter(
            "hotline_desk_offers_total",
            "Offers of waiting calls to agents, by queue and what became of them (made, accepted, declined, "
            "timed_out, abandoned, silenced, failed)",
            ["queue", "outcome"],
            registry=self.registry,
        )

        # The wallboard's figures per queue (gateway.wallboard): the database's truth, the same in every process.
        self.wallboard_waiting = Gauge(
            "hotline_desk_waiting_calls", "Calls waiting now per desk queue", ["queue"], registry=self.registry
        )
        self.wallboard_longest_wait = Gauge(
            "hotline_desk_longest_wait_seconds",
            "Seconds the longest-waiting call of a desk queue has waited now (0: none waiting)",
            ["queue"],
            registry=self.registry,
        )
        self.wallboard_agents = Gauge(
            "hotline_desk_agents",
            "Agents serving a desk queue by state (available, offered, on_call, wrap_up, break, offline)",
            ["queue", "state"],
            registry=self.registry,
        )
        self.wallboard_service_level = Gauge(
            "hotline_desk_service_level",
            "Share of today's answered calls (Korea time) answered within 20 s per desk queue (NaN: none answered)",
            ["queue"],
            registry=self.registry,
        )
        self.wallboard_abandonment = Gauge(
            "hotline_desk_abandonment_rate",
            "Share of today's ended waits (Korea time) that the caller abandoned per desk queue (NaN: none ended)",
            ["queue"],
            registry=self.registry,
        )
        self.wallboard_handling = Gauge(
            "hotline_desk_average_handling_seconds",
            "Average seconds from answer to the end of today's calls (Korea time) per desk queue (NaN: none ended)",
            ["queue"],
            registry=self.registry,
        )

    def webhook_answered(self, endpoint: str, outcome: str, seconds: float) -> None:
        """Count a webhook and time it. The labelled children are looked up once: `labels()` takes a lock and
        builds its key on every call, and this runs for every webhook on the event loop."""
        key = (endpoint, outcome)
        children = self._webhook_children.get(key)
        if children is None:
            children = self._webhook_children[key] = (
                self.webhooks.labels(endpoint, outcome),
                self.webhook_seconds.labels(endpoint),
            )
        children[0].inc()
        children[1].observe(seconds)
