"""Sending over TLS (STARTTLS and implicit TLS) with a login, against aiosmtpd on 127.0.0.1.

The server certificate is self-signed, made by the ``openssl`` command line for each test
session; the client trusts it through ``--cafile`` / ``SPM_SMTP_CAFILE`` (verification stays on).
aiosmtpd notes: an authenticator must return ``AuthResult(success=False, handled=False)`` for a
failed login to get a 535 answer (mail_support does); with implicit TLS (``ssl_context``) aiosmtpd
does not know the connection is encrypted, so AUTH needs ``auth_require_tls=False`` there
(aiosmtpd issue #281).
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mail_support import SmtpServer, build_synthetic_run
from test_mail import EXPECTED, _by_report, _send_args, check_message
from typer.testing import CliRunner

from spmlib.cli import app
from spmlib.mail.message import Ledger

runner = CliRunner()
LOGIN = ("bot", "s3cret")


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost: (cert.pem, key.pem)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed (needed to make a test certificate)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture
def run(tmp_path):
    return build_synthetic_run(tmp_path / "run")


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("SPM_SMTP_PASSWORD", LOGIN[1])
    monkeypatch.delenv("SPM_SMTP_CAFILE", raising=False)


def _context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


def starttls_server(cert) -> SmtpServer:
    return SmtpServer(
        login=LOGIN,
        tls_context=_context(cert),
        require_starttls=True,
        auth_require_tls=True,
    )


def ssl_server(cert) -> SmtpServer:
    return SmtpServer(login=LOGIN, ssl_context=_context(cert), auth_require_tls=False)


def _clean_failure(result, *phrases: str) -> None:
    """Exit code 1, the phrases in the output, and no traceback."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for phrase in phrases:
        assert phrase in result.output, result.output


def _check_all_delivered(server) -> None:
    got = _by_report(server.received)
    assert sorted(got) == sorted(EXPECTED)
    for rid, messages in got.items():
        assert len(messages) == 1
        check_message(messages[0], rid)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_starttls_with_login_delivers_every_message(run, cert):
    with starttls_server(cert) as server:
        args = _send_args(run, server.port, "--starttls", "--user", LOGIN[0])
        result = runner.invoke(app, [*args, "--cafile", str(cert[0])])
        assert result.exit_code == 0, result.output
        _check_all_delivered(server)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_without_starttls_the_server_refuses_and_the_ledger_is_not_poisoned(run, cert):
    with starttls_server(cert) as server:
        # with a login: the server offers no AUTH before STARTTLS
        result = runner.invoke(app, _send_args(run, server.port, "--user", LOGIN[0]))
        _clean_failure(result, "does not offer a login", "--starttls")
        # without a login: every MAIL FROM gets "530 Must issue a STARTTLS command first"
        result = runner.invoke(app, _send_args(run, server.port))
        _clean_failure(result, "530", "--starttls")
        assert server.received == []
        events = Ledger(run / "mail" / "ledger.jsonl").events()
        assert not any(e["status"] in ("refused", "accepted") for e in events)
        # a 530 is not a recipient's refusal: the right command then sends everything
        args = _send_args(run, server.port, "--starttls", "--user", LOGIN[0])
        result = runner.invoke(app, [*args, "--cafile", str(cert[0])])
        assert result.exit_code == 0, result.output
        _check_all_delivered(server)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_untrusted_certificate_is_a_clear_error_not_a_retry_loop(run, cert):
    with starttls_server(cert) as server:
        args = _send_args(run, server.port, "--starttls", "--user", LOGIN[0], "--retries", "3")
        start = time.monotonic()
        result = runner.invoke(app, args)  # no --cafile: the system CAs do not know this cert
        _clean_failure(result, "not trusted", "--cafile")
        assert time.monotonic() - start < 10
        assert server.received == []
        result = runner.invoke(app, [*args, "--cafile", str(cert[0].with_name("nope.pem"))])
        _clean_failure(result, "no such file")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_with_login_delivers_every_message(run, cert, monkeypatch):
    monkeypatch.setenv("SPM_SMTP_CAFILE", str(cert[0]))  # the environment variable route
    with ssl_server(cert) as server:
        result = runner.invoke(app, _send_args(run, server.port, "--ssl", "--user", LOGIN[0]))
        assert result.exit_code == 0, result.output
        _check_all_delivered(server)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("mode", ["--starttls", "--ssl"])
def test_wrong_password_is_a_clear_error_without_hanging(run, cert, mode):
    spm = str(Path(sys.executable).with_name("spm"))
    env = {**os.environ, "SPM_SMTP_PASSWORD": "Wr0ng-pa55", "SPM_SMTP_CAFILE": str(cert[0])}
    with (starttls_server if mode == "--starttls" else ssl_server)(cert) as server:
        start = time.monotonic()
        proc = subprocess.run(
            [spm, *_send_args(run, server.port, mode, "--user", LOGIN[0])],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert time.monotonic() - start < 20
        output = proc.stdout + proc.stderr
        assert proc.returncode == 1, output
        assert "Traceback" not in output
        assert "refused the login of bot (535)" in output and "SPM_SMTP_PASSWORD" in output
        assert "Wr0ng-pa55" not in output  # the password is never echoed
        assert server.received == []
