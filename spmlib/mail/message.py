"""Emailing a batch run's reports: message building, dry-run outbox, SMTP delivery, send ledger.

One message per (report, recipient group) planned by :mod:`spmlib.mail.recipients`. Each message is

    multipart/alternative
      text/plain            the title and the headline sentences
      multipart/related
        text/html           the compact report (spmlib.reports.mail_html), images as cid: references
        image/png ...       one per figure, Content-ID = the cid

Delivery is idempotent through a **send ledger**, ``<run>/mail/ledger.jsonl``: one JSON line
per event, appended and fsync'ed as soon as the server answers. Per (message, recipient) the
last event wins: ``accepted`` (the server took it: never sent again), ``refused`` (a permanent
5xx answer: not retried, reported), ``deferred`` (a transient 4xx answer or a lost connection
that outlasted the retries: retried by the next run), ``sending`` (the transaction was under way
when the process stopped: resent by the next run with the same Message-ID, so mail clients
that see both keep one). Message-IDs are derived from the run id, the report id and the
recipients, so a rerun builds the same ones.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

from spmlib.exceptions import SpmError
from spmlib.io.files import follow_pointer
from spmlib.mail.recipients import Delivery, EmailSettings, plan_deliveries, read_reps
from spmlib.reports.jinja import environment, render_line
from spmlib.reports.mail_html import FullReport, RenderedEmail, html_with_files, render_email
from spmlib.reports.notebook import read_glued

__all__ = [
    "PASSWORD_ENV",
    "CANNOT_EMAIL",
    "Outgoing",
    "SmtpConfig",
    "is_loopback",
    "read_manifest",
    "build_message",
    "message_id_for",
    "prepare_run",
    "write_outbox",
    "Ledger",
    "send_all",
]

log = logging.getLogger(__name__)

#: The only place the SMTP password is read from.
PASSWORD_ENV = "SPM_SMTP_PASSWORD"
#: Start of the skip reason of a report that could not be rendered as an email.
CANNOT_EMAIL = "cannot be emailed"

_KIND_LABELS = {
    "rep_scorecard": "Rep scorecard",
    "funnel": "Funnel",
    "productivity": "Productivity",
    "forecast": "Forecast",
    "data_overview": "Data overview",
    "quota_plan": "Quota plan",
    "comp_statement": "Pay statement",
    "comp_plan": "Compensation plans",
}


@dataclass
class Outgoing:
    """A message ready to send: the delivery it is for, the message, and its envelope."""

    delivery: Delivery
    message: EmailMessage
    message_id: str
    sender: str
    rendered: RenderedEmail

    @property
    def envelope_from(self) -> str:
        return parseaddr(self.sender)[1]


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    """The ``manifest.json`` of a batch run folder.

    Raises
    ------
    SpmError
        If the folder or its manifest is missing, or the batch is still running.
    """
    run = follow_pointer(run_dir)
    path = run / "manifest.json"
    if not path.exists():
        raise SpmError(
            f"{run} has no manifest.json; pass a batch run folder (e.g. outputs/latest, "
            "written by `make reports` or `spm batch`)."
        )
    manifest = json.loads(path.read_text())
    if manifest.get("status") == "running":
        raise SpmError(
            f"the batch run {manifest.get('run_id')} is still running (or crashed while running); "
            "wait for it to finish, or run the batch again."
        )
    return manifest


def message_id_for(run_id: str, delivery: Delivery, domain: str = "spm.local") -> str:
    """A Message-ID that is the same for the same run, report and recipients.

    Examples
    --------
    >>> from spmlib.mail.recipients import Delivery, Recipient
    >>> ann = (Recipient("ann@example.com"),)
    >>> d = Delivery("rep_scorecard__rep-R1", "rep_scorecard", "rep", ann)
    >>> message_id_for("20261124T0912Z-3f2a", d)
    '<15ffb887c1e430976b1cc863.20261124T0912Z-3f2a@spm.local>'
    """
    digest = hashlib.sha256(f"{run_id}|{delivery.key}".encode()).hexdigest()[:24]
    safe_run = re.sub(r"[^A-Za-z0-9.-]", "-", run_id)
    return f"<{digest}.{safe_run}@{domain}>"


def build_message(
    rendered: RenderedEmail,
    delivery: Delivery,
    *,
    sender: str,
    subject: str,
    message_id: str,
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: tuple[tuple[str, bytes], ...] = (),
) -> EmailMessage:
    """The MIME message of one delivery (see the module docstring for its structure).

    Bcc recipients are not written into the headers; they only go into the SMTP envelope.
    ``attachments`` are ``(file name, HTML bytes)`` pairs (the full report when no link to it
    can be given); with them the message becomes ``multipart/mixed``.
    """
    msg = EmailMessage()
    msg["Subject"] = _one_line(subject)
    msg["From"] = _one_line(sender)
    msg["To"] = ", ".join(r.header for r in delivery.to)
    if delivery.cc:
        msg["Cc"] = ", ".join(r.header for r in delivery.cc)
    if reply_to:
        msg["Reply-To"] = _one_line(reply_to)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        msg[name] = _one_line(value)
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    html_part = msg.get_payload()[1]
    for image in rendered.images:
        html_part.add_related(
            image.data,
            maintype="image",
            subtype="png",
            cid=f"<{image.cid}>",
            filename=image.filename,
            disposition="inline",
        )
    for filename, data in attachments:
        msg.add_attachment(data, maintype="text", subtype="html", filename=filename)
    return msg


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def _scope_label(delivery: Delivery) -> str:
    c = delivery.context
    if "rep_id" in c:
        return f"{c.get('rep_name', c['rep_id'])} · team {c.get('team', '')}".strip(" ·")
    if "team" in c:
        return f"team {c['team']}"
    if "manager" in c:
        return f"manager {c['manager']}"
    return "company"


def prepare_run(
    run_dir: str | Path, settings: EmailSettings
) -> tuple[list[Outgoing], list[dict[str, str]]]:
    """Plan and build every message of a batch run.

    Reports whose batch status is not ``ok`` are never sent (they appear in ``skipped`` with
    the reason), nor reports whose executed notebook is missing.

    Returns
    -------
    (outgoing, skipped)
    """
    run = follow_pointer(run_dir).resolve()
    manifest = read_manifest(run)
    run_id = str(manifest.get("run_id") or run.name)
    stamp = manifest.get("ended") or manifest.get("started") or ""
    run_date = str(stamp)[:10] or datetime.now(UTC).date().isoformat()
    reps = read_reps(run / str(manifest.get("data_snapshot") or "data"))
    reports = manifest.get("reports", [])
    deliveries, skipped = plan_deliveries(reports, reps, settings)
    by_id = {str(r["id"]): r for r in reports}
    domain = parseaddr(settings.sender)[1].partition("@")[2] or "spm.local"
    rendered: dict[str, RenderedEmail | None] = {}
    outgoing: list[Outgoing] = []
    for delivery in deliveries:
        report = by_id[delivery.report_id]
        nb_rel = (report.get("outputs") or {}).get("ipynb")
        nb_path = run / nb_rel if nb_rel else None
        if nb_path is None or not nb_path.exists():
            skipped.append({"report_id": delivery.report_id, "reason": "executed notebook missing"})
            continue
        html_rel = (report.get("outputs") or {}).get("html")
        full = _full_report(settings, run_id, run, html_rel)
        if delivery.report_id not in rendered:
            kind_label = _KIND_LABELS.get(delivery.kind, delivery.kind.replace("_", " ").title())
            try:
                nb = nbformat.read(str(nb_path), as_version=4)
                short = "email" in read_glued(nb)  # a short email version: always reach the full
                rendered[delivery.report_id] = render_email(
                    nb,
                    kicker=f"{kind_label} · {_scope_label(delivery)}",
                    footer=f"Batch run {run_id}, {run_date}.",
                    link=full if (short or (full and full.url)) else None,
                    full=full,
                )
            except SpmError as exc:  # e.g. too large for Gmail: the other reports still go
                rendered[delivery.report_id] = None
                skipped.append(
                    {"report_id": delivery.report_id, "reason": f"{CANNOT_EMAIL}: {exc}"}
                )
        r = rendered[delivery.report_id]
        if r is None:
            continue
        values = {
            **delivery.context,
            "title": r.title,
            "audience": delivery.audience,
            "run_id": run_id,
            "run_date": run_date,
        }
        sender = render_line(settings.sender, values)
        mid = message_id_for(run_id, delivery, domain)
        try:
            message = build_message(
                r,
                delivery,
                sender=sender,
                subject=render_line(settings.kind(delivery.kind)["subject"], values),
                message_id=mid,
                reply_to=render_line(settings.reply_to, values) if settings.reply_to else None,
                headers={"X-SPM-Run": run_id, "X-SPM-Report": delivery.report_id},
                attachments=_attachments(r, full, run, html_rel, delivery.report_id),
            )
        except (ValueError, TypeError) as exc:  # a header the email package refuses
            skipped.append({"report_id": delivery.report_id, "reason": f"message not built: {exc}"})
            continue
        outgoing.append(Outgoing(delivery, message, mid, sender, r))
    return outgoing, skipped


def _full_report(
    settings: EmailSettings, run_id: str, run: Path, html_rel: str | None
) -> FullReport | None:
    """How an email reaches its full report: a link (``report_base_url`` set), the HTML
    attached (none set), or nothing when the run wrote no HTML for it."""
    if not html_rel or not (run / html_rel).exists():
        return None
    return FullReport(settings.report_url(run_id, html_rel))


def _attachments(
    rendered: RenderedEmail, full: FullReport | None, run: Path, html_rel: str | None, rid: str
) -> tuple[tuple[str, bytes], ...]:
    """The full report's HTML, when the email is a short version and no link can be given."""
    if full is None or not full.attached or "email" not in rendered.glued or html_rel is None:
        return ()
    return ((f"{rid}.html", (run / html_rel).read_bytes()),)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80]


def write_outbox(outgoing: list[Outgoing], folder: str | Path) -> list[Path]:
    """Write one ``.eml`` per message (Bcc shown as a header, for review) and ``preview.html``.

    ``folder/outbox/NNN-<report>-<audience>.eml``; ``folder/preview.html`` lists every message
    (from, to, cc, bcc, subject, HTML size) and shows each email with its images resolved
    (files under ``folder/preview/``). Earlier ``.eml`` files in the outbox are removed first.
    """
    folder = Path(folder)
    outbox = folder / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    for old in outbox.glob("*.eml"):
        old.unlink()
    paths, rows = [], []
    for n, item in enumerate(outgoing, start=1):
        msg = item.message
        copy = _with_bcc(msg, item.delivery)
        name = f"{n:03d}-{_slug(item.delivery.report_id)}-{item.delivery.audience}"
        path = outbox / f"{name}.eml"
        path.write_bytes(copy.as_bytes(policy=SMTP_POLICY))
        paths.append(path)
        page = html_with_files(item.rendered, folder / "preview" / name)
        rows.append((name, msg, item.delivery, item.rendered, page.relative_to(folder)))
    (folder / "preview.html").write_text(_preview_page(rows), encoding="utf-8")
    return paths


def _with_bcc(msg: EmailMessage, delivery: Delivery) -> EmailMessage:
    if not delivery.bcc:
        return msg
    import copy

    out = copy.deepcopy(msg)
    out["Bcc"] = ", ".join(r.header for r in delivery.bcc)
    return out


def _preview_page(rows) -> str:
    env = environment()
    items = [
        {
            "name": name,
            "subject": str(msg["Subject"]),
            "sender": str(msg["From"]),
            "to": str(msg["To"] or ""),
            "cc": str(msg["Cc"] or ""),
            "bcc": ", ".join(r.header for r in d.bcc),
            "kb": f"{r.html_bytes / 1024:.1f}",
            "images": len(r.images),
            "href": str(page),
        }
        for name, msg, d, r, page in rows
    ]
    return env.get_template("mail_preview.html.j2").render(items=items)


# --- the ledger ----------------------------------------------------------------------------------


class Ledger:
    """The append-only send ledger of a run (JSON lines, fsync'ed after every event)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def events(self) -> list[dict[str, Any]]:
        """Every event recorded, oldest first (a torn last line from a crash is skipped)."""
        if not self.path.exists():
            return []
        out = []
        for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                log.warning("%s line %d is not JSON (torn write?); ignored", self.path, n)
        return out

    def state(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The last event per (message_id, recipient)."""
        return {(e["message_id"], e["recipient"]): e for e in self.events()}

    def record(self, events: list[dict[str, Any]]) -> None:
        """Append events durably (one write + fsync for the batch)."""
        if not events:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        data = "".join(json.dumps({"time": now, **e}, ensure_ascii=False) + "\n" for e in events)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive lock so two senders never work on the same run at once."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SpmError(
                    f"another `spm email` is sending this run ({self.path.parent}); "
                    "wait for it to finish."
                ) from None
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


# --- SMTP ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to connect. ``security`` is ``none``, ``starttls`` or ``ssl``.

    The password is never a parameter of the CLI or params: :meth:`from_env` reads it from
    ``SPM_SMTP_PASSWORD``.
    """

    host: str
    port: int | None = None
    security: str = "none"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    cafile: str | None = None

    @classmethod
    def from_env(
        cls,
        host: str,
        port: int | None,
        security: str,
        user: str | None,
        cafile: str | None = None,
        insecure: bool = False,
    ) -> SmtpConfig:
        """Take the password from ``SPM_SMTP_PASSWORD``; a user without it is an error.

        ``cafile``: a PEM file of the certificates to trust instead of the system's CA store
        (a company CA or a self-signed server); certificates are always verified.

        A login (``user``) over an unencrypted connection (``security="none"``) would send the
        password in clear text: it is refused unless the server is on this machine (a loopback
        address, :func:`is_loopback`) or ``insecure`` is True.
        """
        if cafile and not Path(cafile).is_file():
            raise SpmError(f"--cafile {cafile}: no such file (a PEM file of CA certificates).")
        password = os.environ.get(PASSWORD_ENV) or None
        if user and password is None:
            raise SpmError(
                f"--user {user} needs a password: set the {PASSWORD_ENV} environment variable "
                "(it is never read from the command line or params)."
            )
        if security not in ("none", "starttls", "ssl"):
            raise SpmError(f"unknown SMTP security {security!r}; valid: none, ssl, starttls.")
        if user and security == "none" and not insecure and not is_loopback(host):
            raise SpmError(
                f"--user {user} would send the SMTP password in clear text to {host}: add "
                "--starttls (port 587) or --ssl (port 465) to encrypt the connection, or "
                "--insecure if the network to the server is trusted. Nothing was sent."
            )
        return cls(host, port, security, user, password, cafile=cafile or None)

    def connect(self) -> smtplib.SMTP:
        """An open, authenticated connection."""
        context = ssl.create_default_context(cafile=self.cafile)
        if self.security == "ssl":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port or 465, timeout=self.timeout, context=context
            )
        else:
            conn = smtplib.SMTP(self.host, self.port or 25, timeout=self.timeout)
            if self.security == "starttls":
                conn.starttls(context=context)
        if self.user:
            try:
                conn.login(self.user, self.password or "")
            except smtplib.SMTPAuthenticationError as exc:
                conn.close()
                raise SpmError(
                    f"the SMTP server refused the login of {self.user} ({exc.smtp_code}); "
                    f"check --user and {PASSWORD_ENV}."
                ) from None
            except smtplib.SMTPNotSupportedError:
                conn.close()
                hint = "; it may require --starttls or --ssl" if self.security == "none" else ""
                raise SpmError(
                    f"the SMTP server {self.host}:{self.port or ''} does not offer a login (AUTH) "
                    f"on this connection{hint}."
                ) from None
        return conn


def is_loopback(host: str) -> bool:
    """True when ``host`` is this machine: ``localhost`` or an address (given, or every address
    the name resolves to) in 127.0.0.0/8 or ``::1``.

    Examples
    --------
    >>> [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "10.0.0.5")]
    [True, True, True, False]
    """
    import ipaddress

    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses
    )


_TRANSIENT_ERRORS = (smtplib.SMTPServerDisconnected, ConnectionError, socket.timeout, OSError)


class _Connection:
    """A lazily (re)opened SMTP connection."""

    def __init__(self, config: SmtpConfig):
        self.config, self.conn = config, None

    def get(self) -> smtplib.SMTP:
        if self.conn is None:
            self.conn = self.config.connect()
        return self.conn

    def drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    def quit(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except smtplib.SMTPException:
                pass
            self.drop()


def send_all(
    outgoing: list[Outgoing],
    config: SmtpConfig,
    ledger: Ledger,
    *,
    retries: int = 4,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.DataFrame:
    """Send every message not yet accepted, recording each server answer in the ledger.

    Transient failures (4xx answers, lost connections) are retried ``retries`` times, waiting
    ``backoff * 2**k`` seconds; permanent ones (5xx) are recorded per recipient and not retried.

    Returns
    -------
    pandas.DataFrame
        One row per (message, recipient): ``report_id``, ``recipient``, ``message_id``,
        ``status`` (``accepted``, ``already_sent``, ``refused``, ``deferred``), ``code``
        (SMTP reply code, 0 when none), ``reply`` (the server's text).

    Raises
    ------
    SpmError
        If the server cannot be reached or refuses the login; nothing is lost, a rerun continues.
    """
    rows: list[dict[str, Any]] = []
    conn = _Connection(config)
    with ledger.locked():
        state = ledger.state()
        try:
            for item in outgoing:
                rows += _send_one(item, conn, ledger, state, retries, backoff, sleep)
        finally:
            conn.quit()
    columns = ["report_id", "recipient", "message_id", "status", "code", "reply"]
    out = pd.DataFrame(rows, columns=columns)
    out["code"] = out["code"].astype("int64")
    return out


def _send_one(item, conn, ledger, state, retries, backoff, sleep) -> list[dict[str, Any]]:
    mid, rid = item.message_id, item.delivery.report_id
    rows, pending = [], []
    for rcpt in item.delivery.envelope:
        last = state.get((mid, rcpt))
        if last and last["status"] == "accepted":
            rows.append(_row(rid, rcpt, mid, "already_sent", last.get("code", 250), ""))
        elif last and last["status"] == "refused":
            rows.append(_row(rid, rcpt, mid, "refused", last["code"], last.get("reply", "")))
        else:
            if last and last["status"] == "sending":
                log.warning(
                    "%s to %s was being sent when an earlier run stopped; sending it again "
                    "with the same Message-ID",
                    rid,
                    rcpt,
                )
            pending.append(rcpt)
    if not pending:
        return rows
    data = item.message.as_bytes(policy=SMTP_POLICY)
    attempt, last_error = 0, (0, "")
    while pending:
        smtp = _open(conn, retries, backoff, sleep)
        ledger.record([_event(item, r, "sending", 0, "") for r in pending])
        outcome: dict[str, tuple[int, str]] = {}
        try:
            refused = smtp.sendmail(item.envelope_from, pending, data)
            outcome = {r: refused.get(r, (250, b"OK")) for r in pending}
        except smtplib.SMTPRecipientsRefused as exc:
            outcome = {r: exc.recipients.get(r, (451, b"not accepted")) for r in pending}
        except smtplib.SMTPResponseException as exc:
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                raise
            if exc.smtp_code == 530:  # the session needs TLS or a login: no recipient's fault
                reply = exc.smtp_error
                text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
                ledger.record([_event(item, r, "deferred", 530, text) for r in pending])
                raise SpmError(
                    f"the SMTP server refused to send ({exc.smtp_code} {text}): it needs "
                    "--starttls, --ssl or --user; nothing more was sent, rerun with them."
                ) from None
            outcome = {r: (exc.smtp_code, exc.smtp_error) for r in pending}
            if exc.smtp_code == 421:  # the server is closing the connection
                conn.drop()
        except _TRANSIENT_ERRORS as exc:
            conn.drop()
            outcome = {r: (0, str(exc) or type(exc).__name__) for r in pending}
        events, still = [], []
        for rcpt, (code, reply) in outcome.items():
            text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
            if 200 <= code < 300:
                events.append(_event(item, rcpt, "accepted", code, text))
                rows.append(_row(rid, rcpt, mid, "accepted", code, text))
            elif code >= 500:
                events.append(_event(item, rcpt, "refused", code, text))
                rows.append(_row(rid, rcpt, mid, "refused", code, text))
            else:
                still.append(rcpt)
                last_error = (code, text)
        pending = still
        if pending and attempt < retries:
            wait = backoff * 2**attempt
            log.info(
                "%s: %s for %d recipient(s); retry in %.1fs", rid, last_error, len(pending), wait
            )
            events += [_event(item, r, "retrying", *last_error) for r in pending]
            ledger.record(events)
            sleep(wait)
            attempt += 1
            continue
        events += [_event(item, r, "deferred", *last_error) for r in pending]
        rows += [_row(rid, r, mid, "deferred", *last_error) for r in pending]
        ledger.record(events)
        break
    return rows


def _open(conn: _Connection, retries: int, backoff: float, sleep) -> smtplib.SMTP:
    """The open connection, (re)connecting with backoff; SpmError when the server stays away."""
    for attempt in range(retries + 1):
        try:
            return conn.get()
        except SpmError:
            raise
        except ssl.SSLCertVerificationError as exc:  # not transient: do not retry
            conn.drop()
            raise SpmError(
                f"the certificate of the SMTP server {conn.config.host} is not trusted "
                f"({exc.verify_message}); if it is signed by a private CA or self-signed, "
                "pass that certificate with --cafile FILE (or SPM_SMTP_CAFILE)."
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            conn.drop()
            if attempt == retries:
                where = f"{conn.config.host}:{conn.config.port or ''}"
                raise SpmError(
                    f"cannot connect to the SMTP server {where} ({exc or type(exc).__name__}); "
                    "nothing more was sent: rerun `spm email` when it is reachable."
                ) from None
            log.info("cannot connect (%s); retry in %.1fs", exc, backoff * 2**attempt)
            sleep(backoff * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _event(item: Outgoing, rcpt: str, status: str, code: int, reply: str) -> dict[str, Any]:
    return {
        "message_id": item.message_id,
        "report_id": item.delivery.report_id,
        "recipient": rcpt,
        "status": status,
        "code": int(code),
        "reply": reply,
    }


def _row(rid, rcpt, mid, status, code, reply) -> dict[str, Any]:
    return {
        "report_id": rid,
        "recipient": rcpt,
        "message_id": mid,
        "status": status,
        "code": int(code),
        "reply": str(reply),
    }
