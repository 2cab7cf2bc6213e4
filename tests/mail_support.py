"""Shared helpers of the email tests: a tiny dataset, a batch run folder, an SMTP test server.

The dataset has hostile names on purpose: rep R1 is called ``<script>alert(1)</script>`` and
rep R2 ``O'Neil & <Co>``; accounts carry the same kind of text.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import nbformat
import yaml
from aiosmtpd.controller import Controller
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from spmlib.reports.notebook import GLUE_MIME

REPS = [
    # rep_id, rep_name, team, email, manager, manager_email
    ("R1", "<script>alert(1)</script>", "A", "r1@example.com", "Mia Manager", "mia@example.com"),
    ("R2", "O'Neil & <Co>", "A", "r2@example.com", "Mia Manager", "mia@example.com"),
    ("R3", "Zoë Müller", "B", "r3@example.com", "Ben Boss", "ben@example.com"),
]


def write_dataset(folder: Path) -> Path:
    """Three reps in two teams, nine deals (CSV + dataset.yml)."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        REPS, columns=["rep_id", "rep_name", "team", "email", "manager", "manager_email"]
    ).to_csv(folder / "reps.csv", index=False)
    opps = [
        ("O1", "R1", "2026-01-05", "2026-02-10", "Won", 12000, "<script>alert('acct')</script>"),
        ("O2", "R1", "2026-01-20", "2026-03-01", "Lost", 5000, "Acme"),
        ("O3", "R1", "2026-02-02", "2026-04-15", "Propose", 8000, "Globex"),
        ("O4", "R2", "2026-01-11", "2026-02-28", "Won", 30000, "O'Neil & <Co> Ltd"),
        ("O5", "R2", "2026-02-14", "2026-03-20", "Won", 4500, "Initech"),
        ("O6", "R2", "2026-03-01", "2026-03-30", "Lost", 2000, "Umbrella"),
        ("O7", "R3", "2026-01-03", "2026-01-31", "Won", 15000, "Hooli"),
        ("O8", "R3", "2026-02-07", "2026-03-15", "Lost", 7000, "Stark"),
        ("O9", "R3", "2026-03-10", "2026-05-01", "Qualify", 9000, "Wayne"),
    ]
    pd.DataFrame(
        opps,
        columns=["opp_id", "rep_id", "created_date", "close_date", "stage", "amount", "account"],
    ).to_csv(folder / "opportunities.csv", index=False)
    (folder / "dataset.yml").write_text(
        yaml.safe_dump(
            {
                "open_stages": ["Qualify", "Propose"],
                "won_stage": "Won",
                "lost_stage": "Lost",
                "currency": "USD",
                "as_of": "2026-04-01",
            }
        )
    )
    return folder


# report id, kind, scope, parameters (besides data), status
REPORTS = [
    ("funnel__team-A", "funnel", {"team": "A"}, {"team": "A"}, "ok"),
    (
        "rep_scorecard__rep-R1",
        "rep_scorecard",
        {"rep_id": "R1", "team": "A"},
        {"rep_id": "R1"},
        "ok",
    ),
    (
        "rep_scorecard__rep-R2",
        "rep_scorecard",
        {"rep_id": "R2", "team": "A"},
        {"rep_id": "R2"},
        "ok",
    ),
    (
        "rep_scorecard__rep-R3",
        "rep_scorecard",
        {"rep_id": "R3", "team": "B"},
        {"rep_id": "R3"},
        "ok",
    ),
    ("forecast__team-B", "forecast", {"team": "B"}, {"team": "B"}, "failed"),
]


def write_manifest(run: Path, run_id: str = "20261124T0912Z-test") -> None:
    entries = []
    for rid, kind, scope, params, status in REPORTS:
        ok = status == "ok"
        entries.append(
            {
                "id": rid,
                "notebook": "mail_fixture",
                "kind": kind,
                "scope": scope,
                "parameters": {"data": str(run / "data"), **params},
                "status": status,
                "seconds": 3.0,
                "outputs": {"ipynb": f"reports/{rid}.ipynb"}
                if ok
                else {"partial": f"failed/{rid}.ipynb"},
                "error": None if ok else {"cell": 3, "ename": "ValueError", "evalue": "boom"},
            }
        )
        if not ok:
            (run / "failed").mkdir(exist_ok=True)
            # a failed report's partial notebook; it must never be emailed
            nbformat.write(synthetic_notebook("failed"), run / "failed" / f"{rid}.ipynb")
    manifest = {
        "run_id": run_id,
        "spec": "params/batch.yml",
        "data": str(run / "data"),
        "data_snapshot": "data",
        "data_fingerprint": "sha256:test",
        "spmlib_version": "0.1.0",
        "started": "2026-11-24T09:12:00Z",
        "ended": "2026-11-24T09:13:10Z",
        "status": "failed",
        "reports": entries,
    }
    (run / "manifest.json").write_text(json.dumps(manifest, indent=1))


# --- a synthetic executed notebook (no kernel; for fast tests) -----------------------------------


def png_bytes(width_in: float = 8, height_in: float = 4, dpi: int = 100) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width_in, height_in), dpi=dpi)
    ax.bar(["Jan", "Feb", "Mar"], [3, 1, 2], color="#e4572e")  # a colour the template never uses
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def synthetic_notebook(rep_name: str = "O'Neil & <Co>", rows: int = 3, images: int = 1):
    """An 'executed' notebook built in memory: markdown, glue, a pandas table, a Styler
    table, a Markdown output, figures, a stream and a javascript output."""
    import pandas as pd

    df = pd.DataFrame(
        {
            "rep": [rep_name] * rows,
            "account": ["<script>alert('acct')</script>"] * rows,
            "amount": [1234567.891 + i for i in range(rows)],
            "rate": [0.3125] * rows,
            "year": [2026] * rows,
        }
    )
    png = base64.b64encode(png_bytes()).decode()
    outputs = [
        new_output(
            "display_data", data={GLUE_MIME: {"name": "title", "value": f"Scorecard: {rep_name}"}}
        ),
        new_output(
            "display_data",
            data={GLUE_MIME: {"name": "headline", "value": ["**3 deals** won", "Win rate 31.2%"]}},
        ),
        new_output(
            "execute_result",
            data={"text/html": df.to_html(), "text/plain": "df"},
            execution_count=1,
        ),
        new_output(
            "display_data",
            data={
                "text/html": df.head(2)
                .style.format(escape="html")
                .background_gradient(subset=["rate"])
                .to_html()
            },
        ),
        new_output(
            "display_data",
            data={
                "text/markdown": f"Rep **{rep_name}** did <script>alert('md')</script>",
                "text/plain": "md",
            },
        ),
        new_output(
            "display_data",
            data={
                "text/html": '<p onclick="x()">raw <script>alert(2)</script><img src="data:image/png;base64,AAAA"><a href="javascript:alert(3)">link</a></p>'
            },
        ),
        new_output("display_data", data={"application/javascript": "alert(4)"}),
        new_output("stream", name="stdout", text="print output"),
    ]
    outputs += [
        new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})
        for _ in range(images)
    ]
    return new_notebook(
        cells=[
            new_markdown_cell("# Scorecard\nIntro with **bold** text."),
            new_code_cell("x = 1", outputs=outputs),
            new_markdown_cell("## Chart of deals"),
            new_code_cell(
                "plot()",
                outputs=[
                    new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})
                ],
            ),
            new_code_cell(
                "secret()",
                metadata={"tags": ["no-email"]},
                outputs=[new_output("display_data", data={"text/html": "<p>hidden cell</p>"})],
            ),
        ]
    )


def build_synthetic_run(run: Path, run_id: str = "20261124T0912Z-fast") -> Path:
    """A batch run folder whose reports are synthetic executed notebooks (no kernel, fast)."""
    write_dataset(run / "data")
    (run / "reports").mkdir(parents=True, exist_ok=True)
    names = {r[0]: r[1] for r in REPS}
    for rid, _, scope, _, status in REPORTS:
        if status == "ok":
            name = names.get(scope.get("rep_id"), f"team {scope.get('team')}")
            nbformat.write(synthetic_notebook(name), run / "reports" / f"{rid}.ipynb")
    write_manifest(run, run_id)
    return run


# --- an SMTP server on loopback --------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self):
        return message_from_bytes(self.data, policy=policy.default)


@dataclass
class RecordingHandler:
    """Accepts everything, except: RCPT TO in ``refuse`` gets 550; the first ``fail_data``
    DATA commands get 451; ``on_mail`` is called at each MAIL FROM (with its count)."""

    refuse: set[str] = field(default_factory=set)
    fail_data: int = 0
    on_mail: object = None
    received: list[Received] = field(default_factory=list)
    mails: int = 0
    data_failures: int = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mails += 1
        if self.on_mail is not None:
            self.on_mail(self.mails)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_failures < self.fail_data:
            self.data_failures += 1
            return "451 4.3.0 Temporary failure, try again"
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
            )
        )
        return "250 Message accepted for delivery"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """Context manager: an aiosmtpd Controller on 127.0.0.1 with a RecordingHandler."""

    def __init__(
        self,
        handler: RecordingHandler | None = None,
        login: tuple[str, str] | None = None,
        **controller_kwargs,
    ):
        """``controller_kwargs`` go to the Controller (e.g. ``tls_context``, ``ssl_context``)."""
        self.handler = handler or RecordingHandler()
        kwargs: dict = {}
        if login is not None:
            from aiosmtpd.smtp import AuthResult

            def authenticator(server, session, envelope, mechanism, auth_data):
                ok = (auth_data.login.decode(), auth_data.password.decode()) == login
                # handled=False: aiosmtpd answers 535 itself (with the default handled=True
                # it sends nothing on a failed login and the client waits until its timeout)
                return AuthResult(success=ok, handled=False)

            kwargs = {
                "authenticator": authenticator,
                "auth_require_tls": False,
                "auth_required": True,
            }
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=_free_port(), **{**kwargs, **controller_kwargs}
        )

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def received(self) -> list[Received]:
        return self.handler.received
