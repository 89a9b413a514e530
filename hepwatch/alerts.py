"""Alerts: a safety signal or a failed ERROR check, told once to the people configured to hear of it.

Two channels, each off until configured (hepwatch.settings.AlertSettings): e-mail over SMTP (STARTTLS and
login when configured) and an HTTP webhook taking JSON. The webhook body carries `text` (what Slack's and
Teams' incoming webhooks show) and `hepwatch` (the same facts as fields, for any other receiver).

An alert says what kind of signal, on which check and days, how many patients, and links to the report and
to the check in the Dagster UI. It never carries an identifier, nor a pseudonymous key: the report and the
restricted worklist are where a clinician goes from the alert to the patient.

Each alert has a fingerprint (the check, its asset and what it found). The ledger, a JSON file beside the
warehouse, records per fingerprint and channel whether it was delivered: an alert already delivered on a
channel is never sent there again, whichever run or sensor tick meets it; one that failed is retried, a few
times at once and then again at every later delivery attempt until it gets through.
"""

from __future__ import annotations

import hashlib
import json
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from hepwatch.settings import AlertSettings

LEDGER_FILE = "alerts.json"
ATTEMPTS = 3  # tries per channel in one delivery, before leaving the alert for the next one
BACKOFF_SECONDS = 1.0  # wait before the second try; doubled before each later one


@dataclass(frozen=True)
class Alert:
    """One check result worth telling people about. `items` are what the check found (keys, dates, values):
    they make the fingerprint and are never sent."""

    check: str
    asset: str
    severity: str  # "WARN" (a safety signal) or "ERROR" (a failed data check)
    kind: str  # what a reader calls it: "new potential Hy's law", "failed data check", ...
    patients: int
    days: tuple[str, ...]
    summary: str  # one line, no identifier
    items: tuple[str, ...] = ()
    report_url: str | None = None
    check_url: str | None = None

    @property
    def fingerprint(self) -> str:
        found = "\n".join(sorted(self.items)) if self.items else self.summary
        text = "\x1f".join((self.check, self.asset, self.severity, found))
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def subject(self) -> str:
        people = f"{self.patients} patient{'s' if self.patients != 1 else ''}"
        return f"[hepwatch {self.severity}] {self.kind}: {people} ({_span(self.days)})"

    def text(self) -> str:
        lines = [
            self.subject(),
            "",
            self.summary,
            f"Check: {self.check} on {self.asset}",
        ]
        if self.check_url:
            lines.append(f"In Dagster: {self.check_url}")
        if self.report_url:
            lines.append(f"Report: {self.report_url}")
        lines += ["", "Patients are named only in the clinic's worklist: hepwatch worklist --date DAY."]
        return "\n".join(lines)

    def webhook_body(self) -> dict[str, Any]:
        return {
            "text": self.text(),
            "hepwatch": {
                "severity": self.severity,
                "kind": self.kind,
                "check": self.check,
                "asset": self.asset,
                "patients": self.patients,
                "days": list(self.days),
                "summary": self.summary,
                "report_url": self.report_url,
                "check_url": self.check_url,
                "fingerprint": self.fingerprint,
            },
        }


def _span(days: tuple[str, ...]) -> str:
    if not days:
        return "no day"
    ordered = sorted(days)
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]} to {ordered[-1]}"


@dataclass
class Delivery:
    """What one delivery did: fingerprints sent, skipped as already sent, and failed, per channel."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    already_sent: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)


def _send_email(alert: Alert, settings: AlertSettings) -> None:
    message = EmailMessage()
    message["Subject"] = alert.subject()
    message["From"] = settings.email_from
    message["To"] = ", ".join(settings.email_to)
    message.set_content(alert.text())
    assert settings.smtp_host is not None
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout_seconds) as smtp:
        if settings.smtp_starttls:
            context = ssl.create_default_context(cafile=settings.smtp_cafile)
            smtp.starttls(context=context)
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


def _send_webhook(alert: Alert, settings: AlertSettings) -> None:
    assert settings.webhook_url is not None
    request = urllib.request.Request(
        settings.webhook_url,
        data=json.dumps(alert.webhook_body()).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=settings.timeout_seconds) as response:
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(
                settings.webhook_url, response.status, "not 2xx", response.headers, None
            )


CHANNELS: dict[str, Callable[[Alert, AlertSettings], None]] = {"email": _send_email, "webhook": _send_webhook}


def read_ledger(path: Path) -> dict[str, dict[str, Any]]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}


def _write_ledger(path: Path, ledger: dict[str, dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    # the owner's alone from its first byte, as every file in the warehouse directory
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(ledger, indent=1, sort_keys=True) + "\n")
    os.replace(partial, path)


def deliver(
    alerts: Iterable[Alert],
    settings: AlertSettings,
    ledger_path: Path,
    log: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send each alert on every configured channel it has not yet reached; never raises for a channel that
    fails (the failure is logged, kept in the ledger and tried again next time)."""
    delivery = Delivery()
    channels = settings.channels
    if not channels:
        return delivery
    ledger = read_ledger(ledger_path)
    for alert in alerts:
        entry = ledger.setdefault(
            alert.fingerprint,
            {"check": alert.check, "asset": alert.asset, "kind": alert.kind, "days": list(alert.days)},
        )
        for channel in channels:
            state = entry.setdefault(channel, {"sent_at": None, "attempts": 0, "last_error": None})
            if state["sent_at"]:
                delivery.already_sent.append((alert.fingerprint, channel))
                continue
            error = _try(CHANNELS[channel], alert, settings, state, sleep)
            if error is None:
                delivery.sent.append((alert.fingerprint, channel))
                log(f"alert sent by {channel}: {alert.subject()}")
            else:
                delivery.failed.append((alert.fingerprint, channel, error))
                log(f"alert not sent by {channel} (tried {state['attempts']} times, will retry): {error}")
            _write_ledger(ledger_path, ledger)
    return delivery


def _try(
    send: Callable[[Alert, AlertSettings], None],
    alert: Alert,
    settings: AlertSettings,
    state: dict[str, Any],
    sleep: Callable[[float], None],
) -> str | None:
    wait = BACKOFF_SECONDS
    error = "not tried"
    for attempt in range(ATTEMPTS):
        if attempt:
            sleep(wait)
            wait *= 2
        state["attempts"] += 1
        try:
            send(alert, settings)
        except (OSError, smtplib.SMTPException, ValueError) as failure:
            error = f"{type(failure).__name__}: {failure}"
            state["last_error"] = error
            continue
        state["sent_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        state["last_error"] = None
        return None
    return error
