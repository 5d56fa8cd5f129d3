"""Keep webhook secrets (URL keys, tokens, signatures, signing secrets) out of logs and output."""

from __future__ import annotations

import logging
import urllib.parse

HIDDEN = "***"
# HTTP client libraries that log every request with its full URL at INFO (httpx) or the
# connection's details at DEBUG (httpcore). A robot's URL is its password: WeCom's `?key=`,
# DingTalk's `?access_token=` and `&sign=`; an InfluxDB URL may carry `u=`/`p=` too.
HTTP_CLIENT_LOGGERS = ("httpx", "httpcore")


def quiet_http_client_logs() -> None:
    """Let the HTTP client libraries log only warnings and errors, whatever the root level.

    Deliveries are logged by the gateway itself (the delivery log names the target, never its
    URL), so nothing an operator needs is lost.
    """
    for name in HTTP_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def redact_url(url: str) -> str:
    """*url* with every query value and any user:password hidden; scheme, host, path kept."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{HIDDEN}@{netloc.rsplit('@', 1)[1]}"
    query = "&".join(
        f"{name}={HIDDEN}" if sep else name
        for name, sep, _ in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_text(text: str, urls: list[str]) -> str:
    """*text* (an error message) with each of *urls*, and its query string, hidden."""
    for url in urls:
        if url:
            text = text.replace(url, redact_url(url))
            query = urllib.parse.urlsplit(url).query
            if query:
                text = text.replace(query, urllib.parse.urlsplit(redact_url(url)).query)
    return text
