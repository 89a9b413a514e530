"""Alert delivery against a real SMTP server (aiosmtpd) and a real HTTP receiver, both on loopback.

An alert reaches each channel exactly once across two deliveries; a receiver that fails first gets it on a
retry; STARTTLS and login are used when configured; nothing is sent when no channel is configured.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hepwatch.alerts import Alert, AlertSettings, deliver, read_ledger

ALERT = Alert(
    check="new_potential_hys_law",
    asset="marts/abnormal_enzyme_cases_daily",
    severity="WARN",
    kind="new potential Hy's law",
    patients=2,
    days=("2026-06-03", "2026-06-05"),
    summary="2 patients met potential Hy's law (FDA 2009) for the first time.",
    items=("pk_aaaaaaaaaaaaaaaaaaaa 2026-06-03", "pk_bbbbbbbbbbbbbbbbbbbb 2026-06-05"),
    report_url="https://reports.example/latest.html",
    check_url="http://dagster.example/assets/marts/abnormal_enzyme_cases_daily?view=checks",
)


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()


def _certificate(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


class Receiver:
    """An HTTP receiver that answers 500 to the first `failures` posts, then 200; keeps what it got."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.bodies: list[dict] = []
        self.posts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts += 1
                if receiver.posts <= receiver.failures:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(failures: int = 0) -> Receiver:
        made.append(Receiver(failures))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_an_alert_reaches_smtp_and_the_webhook_exactly_once_across_two_deliveries(
    smtp_server, receiver, tmp_path
):
    mailbox, port = smtp_server
    hook = receiver()
    settings = AlertSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        email_from="hepwatch@clinic.example",
        email_to=("monitor@clinic.example", "lead@clinic.example"),
        webhook_url=hook.url,
    )
    ledger = tmp_path / "alerts.json"
    first = deliver([ALERT], settings, ledger)
    second = deliver([ALERT], settings, ledger)

    assert sorted(c for _, c in first.sent) == ["email", "webhook"]
    assert second.sent == [] and sorted(c for _, c in second.already_sent) == ["email", "webhook"]
    assert len(mailbox.messages) == 1 and len(hook.bodies) == 1
    sender, recipients, content = mailbox.messages[0]
    assert sender == "hepwatch@clinic.example"
    assert recipients == ["monitor@clinic.example", "lead@clinic.example"]
    mail = email.message_from_string(content, policy=email.policy.default)
    assert (
        mail["Subject"].strip()
        == "[hepwatch WARN] new potential Hy's law: 2 patients (2026-06-03 to 2026-06-05)"
    )
    text = mail.get_content()
    assert (
        ALERT.report_url in text and ALERT.check_url in text and "2 patients met potential Hy's law" in text
    )
    body = hook.bodies[0]
    assert body["text"].startswith("[hepwatch WARN] new potential Hy's law: 2 patients")
    assert body["hepwatch"]["patients"] == 2 and body["hepwatch"]["check"] == "new_potential_hys_law"
    # what the check found (pseudonymous keys) makes the fingerprint but is never sent
    for sent in (content, json.dumps(body)):
        assert "pk_" not in sent


def test_a_failing_receiver_gets_the_alert_on_a_retry(receiver, tmp_path):
    hook = receiver(failures=1)
    settings = AlertSettings(webhook_url=hook.url)
    waits: list[float] = []
    delivery = deliver([ALERT], settings, tmp_path / "alerts.json", sleep=waits.append)
    assert [c for _, c in delivery.sent] == ["webhook"]
    assert hook.posts == 2 and len(hook.bodies) == 1 and waits == [1.0]
    state = read_ledger(tmp_path / "alerts.json")[ALERT.fingerprint]["webhook"]
    assert state["attempts"] == 2 and state["sent_at"] and state["last_error"] is None
    assert (tmp_path / "alerts.json").stat().st_mode & 0o777 == 0o600  # beside the restricted store


def test_a_receiver_down_for_a_whole_delivery_gets_it_at_the_next_one(receiver, tmp_path):
    hook = receiver(failures=3)
    settings = AlertSettings(webhook_url=hook.url)
    ledger = tmp_path / "alerts.json"
    first = deliver([ALERT], settings, ledger, sleep=lambda _: None)
    assert first.sent == [] and len(first.failed) == 1 and "HTTP Error 500" in first.failed[0][2]
    assert read_ledger(ledger)[ALERT.fingerprint]["webhook"]["sent_at"] is None
    second = deliver([ALERT], settings, ledger, sleep=lambda _: None)
    assert [c for _, c in second.sent] == ["webhook"] and len(hook.bodies) == 1
    third = deliver([ALERT], settings, ledger, sleep=lambda _: None)
    assert third.sent == [] and hook.posts == 4


def test_starttls_and_login_when_configured(tmp_path):
    cert_file, key_file = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )
    controller.start()
    try:
        settings = AlertSettings(
            smtp_host="127.0.0.1",
            smtp_port=controller.port,
            smtp_starttls=True,
            smtp_cafile=str(cert_file),
            smtp_user="hepwatch",
            smtp_password="s3cret",
            email_to=("monitor@clinic.example",),
        )
        delivery = deliver([ALERT], settings, tmp_path / "alerts.json")
    finally:
        controller.stop()
    assert [c for _, c in delivery.sent] == ["email"], delivery.failed
    assert logins == [(b"hepwatch", b"s3cret")] and len(mailbox.messages) == 1


def test_nothing_is_sent_or_written_when_no_channel_is_configured(tmp_path):
    assert not AlertSettings.from_env({}).enabled
    delivery = deliver([ALERT], AlertSettings.from_env({}), tmp_path / "alerts.json")
    assert delivery.sent == delivery.failed == [] and not (tmp_path / "alerts.json").exists()


def test_settings_come_from_the_environment():
    settings = AlertSettings.from_env(
        {
            "HEPWATCH_ALERT_SMTP_HOST": "mail.clinic.example",
            "HEPWATCH_ALERT_SMTP_PORT": "2525",
            "HEPWATCH_ALERT_SMTP_STARTTLS": "true",
            "HEPWATCH_ALERT_EMAIL_TO": "a@clinic.example, b@clinic.example",
            "HEPWATCH_ALERT_WEBHOOK_URL": "https://hooks.example/T0/B0",
        }
    )
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == (
        "mail.clinic.example",
        2525,
        True,
    )
    assert settings.email_to == ("a@clinic.example", "b@clinic.example")
    assert settings.enabled


def test_hepwatch_run_alerts_once_across_two_runs_and_retries_a_failed_receiver(
    smtp_server, receiver, tmp_path, monkeypatch
):
    """`hepwatch run` over the hand-written feed plus a patient with potential Hy's law (ALT 4 x ULN and TBIL
    3 x ULN the same day: domain.md section 5): the first run's alerts reach the mailbox and (after one
    failed post) the webhook; a second run over a new day of unrelated results sends nothing again."""
    from pipelines.runner import run
    from tests.hl7_samples import obx, oru
    from tests.support.hand_feed import ALT, TBIL, write_feeds

    mailbox, port = smtp_server
    hook = receiver(failures=1)
    feeds = write_feeds(tmp_path / "feeds")
    signal = oru(
        "S-1",
        [
            obx(1, ALT, "160", reference_range="0-40"),
            obx(2, TBIL, "3.6", unit="mg/dL", reference_range="0.1-1.2"),
        ],
        mrn="MRN777",
        collected="20260604090000",
        placer="SO1",
        filler="SF1",
    )
    (feeds / "labs" / "northlab" / "2026-06-04.hl7").write_text(signal)
    for name, value in {
        "HEPWATCH_ALERT_SMTP_HOST": "127.0.0.1",
        "HEPWATCH_ALERT_SMTP_PORT": str(port),
        "HEPWATCH_ALERT_EMAIL_TO": "monitor@clinic.example",
        "HEPWATCH_ALERT_WEBHOOK_URL": hook.url,
        "HEPWATCH_ALERT_REPORT_URL": "https://reports.clinic.example",
    }.items():
        monkeypatch.setenv(name, value)
    warehouse = tmp_path / "warehouse"
    run(str(feeds), str(warehouse))
    # MRN777: ALT 160 / 40 = 4 x ULN, TBIL 3.6 / 1.2 = 3 x ULN: potential Hy's law and the stopping signal
    # ALT > 3 x ULN with TBIL > 2 x ULN; both grade 2, and no result of the hand-written feed is grade 3+
    kinds = {body["hepwatch"]["check"] for body in hook.bodies}
    assert kinds == {"new_potential_hys_law", "new_fda_stopping_signals"}
    assert len(mailbox.messages) == len(hook.bodies) == 2
    assert hook.posts == 3  # the first post failed and was retried
    hys_law = next(b for b in hook.bodies if b["hepwatch"]["check"] == "new_potential_hys_law")
    assert hys_law["hepwatch"]["patients"] == 1 and hys_law["hepwatch"]["days"] == ["2026-06-04"]
    assert hys_law["hepwatch"]["report_url"] == "https://reports.clinic.example/2026-06-04.html"
    sent = len(mailbox.messages)
    later = oru(
        "N-30", [obx(1, ALT, "20")], mrn="MRN003", collected="20260606080000", placer="O30", filler="F30"
    )
    (feeds / "labs" / "northlab" / "2026-06-08.hl7").write_text(later)
    run(str(feeds), str(warehouse))
    assert len(mailbox.messages) == sent and len(hook.bodies) == sent
    everything = "".join(m[2] for m in mailbox.messages) + json.dumps(hook.bodies)
    for identifier in ("MRN777", "MRN001", "MRN002", "MRN003", "pk_"):
        assert identifier not in everything
