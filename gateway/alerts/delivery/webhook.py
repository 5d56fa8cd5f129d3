"""Webhooks: generic JSON, WeCom and DingTalk group-robot formats, with retries and backoff."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx

from gateway.alerts.config import AlertConfigs, RetryConfig, WebhookFormat, WebhookTarget
from gateway.alerts.delivery.log import DeliveryLog
from gateway.alerts.delivery.outbox import Pending, WebhookOutbox
from gateway.alerts.delivery.redact import quiet_http_client_logs, redact_text
from gateway.alerts.notification import (
    Notification,
    headline,
    markdown,
    notification_payload,
)
from gateway.alerts.wording import Wording
from gateway.i18n import Catalogs

log = logging.getLogger(__name__)


# A WeCom group robot takes markdown content of at most 4096 bytes of UTF-8.
WECOM_MAX_BYTES = 4096


def cut_to_bytes(text: str, limit: int) -> str:
    """*text* shortened to at most *limit* bytes of UTF-8, never inside a character."""
    return text.encode()[:limit].decode(errors="ignore")


def body_for(target: WebhookTarget, n: Notification, w: Wording) -> dict[str, Any]:
    """The request body in the target's format, its text in *w*'s language; no student names
    in any of them."""
    if target.format is WebhookFormat.WECOM:
        # The limit is in bytes: a Chinese character takes three, "°C" and "…" more than one.
        return {
            "msgtype": "markdown",
            "markdown": {"content": cut_to_bytes(markdown(n, w), WECOM_MAX_BYTES)},
        }
    if target.format is WebhookFormat.DINGTALK:
        return {
            "msgtype": "markdown",
            "markdown": {"title": headline(n, w)[:64], "text": markdown(n, w)[:4000]},
        }
    # The machine fields as the MQTT alert topic has them, and the text people read.
    return {**notification_payload(n), "title": headline(n, w), "text": markdown(n, w)}


def dingtalk_signed_url(url: str, secret: str, now_ms: int | None = None) -> str:
    """DingTalk 加签: sign = base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))."""
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp}&sign={sign}"


def accepted(target: WebhookTarget, n: Notification) -> bool:
    if target.escalation_only and not n.escalated:
        return False
    if target.rules is not None and n.rule not in target.rules:
        return False
    return n.severity.rank >= target.min_severity.rank or n.escalated


def backoff(attempt: int, retry: RetryConfig) -> float:
    """Delay before attempt number *attempt* + 1 (1-based): doubling, capped."""
    return float(min(retry.max_delay_s, retry.first_delay_s * 2 ** (attempt - 1)))


# Deliveries waiting per target before new ones are given up (a receiver down for days).
OUTBOX_LIMIT = 10_000


def target_key(target: WebhookTarget) -> str:
    """What identifies a target across restarts: a renamed or moved target is a new one."""
    return f"{target.name}|{target.format.value}|{target.url}"


class WebhookSender:
    """One worker thread per target delivers that target's outbox rows in order.

    A notification is written to the outbox (the state database) before `send` returns and
    removed only when delivered or given up, so a restart resumes where the last run stopped;
    the attempt count carries over, and so does the order.
    """

    # `send` only writes the outbox, in the state database: inside a consumer's transaction
    # it commits or rolls back with the alert it tells of.
    transactional = True

    def __init__(
        self,
        target: WebhookTarget,
        retry: RetryConfig,
        delivery_log: DeliveryLog,
        outbox: WebhookOutbox,
        sleep: Callable[[float], bool] | None = None,
    ) -> None:
        self.target = target
        self.key = target_key(target)
        self.retry = retry
        self.log = delivery_log
        self.outbox = outbox
        self._stop = threading.Event()
        self._wake = threading.Event()
        # Waiting on the stop event lets close() cut a long backoff short.
        self._sleep = sleep or self._stop.wait
        self._client = httpx.Client(timeout=retry.timeout_s)
        self._thread = threading.Thread(
            target=self._run, name=f"webhook-{target.name}", daemon=True
        )
        self._thread.start()

    def send(self, n: Notification, w: Wording) -> None:
        if not accepted(self.target, n):
            return
        ids = [a.id for a in n.alerts]
        if self.outbox.add(self.key, n.id, ids, body_for(self.target, n, w), OUTBOX_LIMIT):
            self._wake.set()
        else:
            self.log.record(
                n.id,
                "webhook",
                self.target.name,
                0,
                "gave_up",
                ids,
                error=f"{OUTBOX_LIMIT} deliveries already waiting for this target",
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                # Claimed, so that another gateway worker sharing the state does not send it too.
                row = self.outbox.claim(self.key)
                if row is None:
                    self._wake.wait(1.0)
                    continue
                self._deliver(row)
            except Exception:  # a full disk or a bug: this target's worker must live on
                log.exception(
                    "webhook %s: delivery worker failed; trying again in 5 s", self.target.name
                )
                self._stop.wait(5.0)

    def _deliver(self, row: Pending) -> None:
        for attempt in range(row.attempts + 1, self.retry.max_attempts + 1):
            url = self.target.url
            if self.target.format is WebhookFormat.DINGTALK and self.target.secret:
                url = dingtalk_signed_url(url, self.target.secret)
            status, error = None, None
            try:
                response = self._client.post(
                    url, json=row.body, headers={"X-Campusedge-Notification": row.notification_id}
                )
                status = response.status_code
                if 200 <= status < 300 and self._robot_ok(response):
                    self.outbox.done(row.id)
                    self.log.record(
                        row.notification_id,
                        "webhook",
                        self.target.name,
                        attempt,
                        "delivered",
                        row.alert_ids,
                        http_status=status,
                    )
                    return
                error = response.text[:300]
            except httpx.HTTPError as exc:
                # Some httpx errors quote the request URL: the robot's key must not reach the
                # delivery log (shown to campus IT) or the gateway log.
                error = redact_text(f"{type(exc).__name__}: {exc}", [url, self.target.url])
            last = attempt >= self.retry.max_attempts
            self.log.record(
                row.notification_id,
                "webhook",
                self.target.name,
                attempt,
                "gave_up" if last else "failed",
                row.alert_ids,
                http_status=status,
                error=error,
            )
            if last:
                log.error(
                    "webhook %s: gave up on notification %s after %d attempts (%s)",
                    self.target.name,
                    row.notification_id,
                    attempt,
                    error,
                )
                break
            self.outbox.attempted(row.id, attempt)
            if self._sleep(backoff(attempt, self.retry)):
                return  # closing: the row stays for the next start
        else:
            # max_attempts was lowered below the attempts an earlier run had made.
            self.log.record(
                row.notification_id,
                "webhook",
                self.target.name,
                row.attempts,
                "gave_up",
                row.alert_ids,
                error="no attempts left",
            )
        self.outbox.done(row.id)

    def _robot_ok(self, response: httpx.Response) -> bool:
        """WeCom and DingTalk answer HTTP 200 with errcode != 0 when they reject a message."""
        if self.target.format is WebhookFormat.GENERIC:
            return True
        try:
            data = response.json()
        except ValueError:
            return True
        return not isinstance(data, dict) or data.get("errcode", 0) == 0

    def close(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=timeout_s)
        self._client.close()


class WebhookChannel:
    """Routes each notification to the webhook targets of its school's config.

    On start it resumes the deliveries an earlier run left in the outbox; rows for a target
    no longer in any config are given up (and logged as such). The messages are written in
    the deployment's language (*catalogs*' default) on the school's clock, linking to the
    dashboard at *dashboard_url* when one is given.
    """

    def __init__(
        self,
        configs: AlertConfigs,
        delivery_log: DeliveryLog,
        catalogs: Catalogs | None = None,
        dashboard_url: str | None = None,
    ) -> None:
        self.configs = configs
        self.log = delivery_log
        self.catalogs = catalogs or Catalogs()
        self.dashboard_url = dashboard_url
        self.outbox = WebhookOutbox(delivery_log.db)
        # httpx would log every request's URL, keys and signatures included, at INFO.
        quiet_http_client_logs()
        self._senders: dict[str, WebhookSender] = {}
        self._lock = threading.Lock()
        self._resume()

    def _resume(self) -> None:
        waiting = self.outbox.targets()
        if not waiting:
            return
        configured = {
            target_key(t): (t, cfg.delivery.retry)
            for cfg in self.configs.all()
            for t in cfg.delivery.webhooks
        }
        for key in waiting:
            if key in configured:
                self._sender(*configured[key])
                continue
            for row in self.outbox.pending(key):
                self.log.record(
                    row.notification_id,
                    "webhook",
                    key.split("|", 1)[0],
                    row.attempts,
                    "gave_up",
                    row.alert_ids,
                    error="target no longer configured",
                )
                self.outbox.done(row.id)

    def _sender(self, target: WebhookTarget, retry: RetryConfig) -> WebhookSender:
        key = target_key(target)
        with self._lock:
            sender = self._senders.get(key)
            if sender is None:
                sender = self._senders[key] = WebhookSender(target, retry, self.log, self.outbox)
            return sender

    def send(self, n: Notification) -> None:
        cfg = self.configs.for_school(n.school)
        delivery = cfg.delivery
        w = Wording(self.catalogs.translator(), cfg.zone, self.dashboard_url)
        for target in delivery.webhooks:
            self._sender(target, delivery.retry).send(n, w)

    def close(self) -> None:
        with self._lock:
            senders = list(self._senders.values())
            self._senders.clear()
        for sender in senders:
            sender.close()
