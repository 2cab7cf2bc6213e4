"""``spm email``: email the reports of a run (or write them as .eml files)."""

from __future__ import annotations

from typing import Annotated

import typer

from spmlib.cli.common import (
    OutputFormat,
    app,
    console,
    emit,
    err_console,
    fail,
)
from spmlib.exceptions import SpmError
from spmlib.reports.formatter import format_count


@app.command("email")
def email_command(
    run_dir: Annotated[str, typer.Argument(help="Batch run folder, e.g. outputs/latest.")],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Write one .eml per message and preview.html under RUN-DIR/mail."
        ),
    ] = False,
    smtp_host: Annotated[
        str | None, typer.Option("--smtp-host", help="SMTP server to send through.")
    ] = None,
    smtp_port: Annotated[
        int | None,
        typer.Option("--smtp-port", help="SMTP port (default 25, or 465 with --ssl)."),
    ] = None,
    starttls: Annotated[
        bool, typer.Option("--starttls", help="Upgrade the connection with STARTTLS.")
    ] = False,
    use_ssl: Annotated[bool, typer.Option("--ssl", help="Connect with implicit TLS.")] = False,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="SMTP login; the password is read from SPM_SMTP_PASSWORD. Needs --starttls or "
            "--ssl unless the server is on this machine or --insecure is given.",
        ),
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            help="Allow a --user login over an unencrypted connection (the password travels "
            "in clear text).",
        ),
    ] = False,
    cafile: Annotated[
        str | None,
        typer.Option(
            "--cafile",
            envvar="SPM_SMTP_CAFILE",
            help="PEM file of the CA certificates to trust for --starttls/--ssl instead of the "
            "system's (a private CA or a self-signed server).",
        ),
    ] = None,
    settings_file: Annotated[
        str | None,
        typer.Option("--settings", help="Email settings YAML (default params/email.yml)."),
    ] = None,
    retries: Annotated[
        int, typer.Option("--retries", help="Retries of a transient SMTP failure.")
    ] = 4,
    backoff: Annotated[
        float, typer.Option("--backoff", help="First retry delay in seconds (doubles each time).")
    ] = 2.0,
) -> None:
    """Email the reports of a batch run: each rep their own scorecard, managers their team's.

    Recipients come from the run's data (reps.email, reps.manager_email) and params/email.yml.
    A send ledger (RUN-DIR/mail/ledger.jsonl) makes reruns send only what the server has not
    accepted yet. Exit code 1 if a recipient was refused or a message could not be delivered.
    """
    from spmlib.io.files import follow_pointer
    from spmlib.mail.message import (
        CANNOT_EMAIL,
        Ledger,
        SmtpConfig,
        prepare_run,
        send_all,
        write_outbox,
    )
    from spmlib.mail.recipients import UNUSABLE, deliveries_table, load_settings

    if dry_run == (smtp_host is not None):
        fail("say either --dry-run (write .eml files) or --smtp-host HOST (send), not both.")
    if starttls and use_ssl:
        fail("--starttls and --ssl exclude each other; pick one.")
    run = follow_pointer(run_dir).resolve()  # outputs/latest: a symlink or a pointer file
    try:
        config = (
            SmtpConfig.from_env(
                smtp_host,
                smtp_port,
                "ssl" if use_ssl else "starttls" if starttls else "none",
                user,
                cafile,
                insecure=insecure,
            )
            if smtp_host
            else None
        )
        outgoing, skipped = prepare_run(run, load_settings(settings_file))
    except SpmError as exc:
        fail(str(exc))
    for s in skipped:
        err_console.print(
            f"not sent: {s['report_id']} ({s['reason']})",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    unrenderable = [s["report_id"] for s in skipped if s["reason"].startswith(CANNOT_EMAIL)]
    unusable = sorted({s["report_id"] for s in skipped if s["reason"].startswith(UNUSABLE)})
    if config is None:
        paths = write_outbox(outgoing, run / "mail")
        emit(deliveries_table([o.delivery for o in outgoing]), OutputFormat.table, "Messages")
        console.print(
            f"Wrote {format_count(len(paths), '.eml file')} to {run / 'mail' / 'outbox'} and "
            "the preview page "
            f"{run / 'mail' / 'preview.html'}",
            highlight=False,
        )
        _fail_if_left_out(unrenderable, unusable)
        return
    try:
        results = send_all(
            outgoing,
            config,
            Ledger(run / "mail" / "ledger.jsonl"),
            retries=retries,
            backoff=backoff,
        )
    except SpmError as exc:
        fail(str(exc))
    emit(results.drop(columns=["message_id"]), OutputFormat.table, "Delivery")
    bad = results[results["status"].isin(["refused", "deferred"])]
    counts = results["status"].value_counts().to_dict()
    console.print(", ".join(f"{v} {k}" for k, v in counts.items()) or "nothing to send")
    if len(bad):
        fail(
            f"{format_count(len(bad), 'recipient')} did not get their message (refused: "
            "permanent, deferred: "
            "retried by the next run); see the table above and RUN-DIR/mail/ledger.jsonl."
        )
    _fail_if_left_out(unrenderable, unusable)


def _fail_if_left_out(unrenderable: list[str], unusable: list[str]) -> None:
    """Exit 1 (after everyone else's mail) when a report or a recipient was left out."""
    problems = []
    if unrenderable:
        problems.append(
            f"{format_count(len(unrenderable), 'report')} cannot be emailed: "
            f"{', '.join(unrenderable)}"
        )
    if unusable:
        problems.append(
            f"{format_count(len(unusable), 'report')} left out a recipient whose email or name "
            "is unusable "
            f"({', '.join(unusable)}); fix reps.email, reps.manager_email or the names"
        )
    if problems:
        fail("; ".join(problems) + ". Everyone else's messages were written or sent.")
