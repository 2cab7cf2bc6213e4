"""Recipients, messages and delivery through a real SMTP server (aiosmtpd on 127.0.0.1).

Fast tests use a run folder whose notebooks are built in memory (tests/mail_support.py); the
slow end-to-end test executes the fixture notebook with papermill for each report.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mail_support import (
    REPS,
    RecordingHandler,
    SmtpServer,
    build_synthetic_run,
    synthetic_notebook,
    write_dataset,
)
from typer.testing import CliRunner

from spmlib.cli import app
from spmlib.exceptions import SpmError
from spmlib.mail.message import Ledger, SmtpConfig, message_id_for, prepare_run, send_all
from spmlib.mail.recipients import EmailSettings, load_settings, plan_deliveries, read_reps
from spmlib.reports.mail_html import MAX_HTML_BYTES

runner = CliRunner()
# every message of the fixture run with the default settings, by report: envelope recipients
EXPECTED = {
    "funnel__team-A": ["mia@example.com"],
    "rep_scorecard__rep-R1": ["r1@example.com"],
    "rep_scorecard__rep-R2": ["r2@example.com"],
    "rep_scorecard__rep-R3": ["r3@example.com"],
}


@pytest.fixture
def run(tmp_path):
    return build_synthetic_run(tmp_path / "run")


@pytest.fixture
def reps(tmp_path):
    return read_reps(write_dataset(tmp_path / "data"))


def _reports(run: Path) -> list[dict]:
    return json.loads((run / "manifest.json").read_text())["reports"]


def _settings_file(tmp_path: Path, **values) -> Path:
    path = tmp_path / "email.yml"
    path.write_text(yaml.safe_dump(values))
    return path


def _send_args(run: Path, port: int, *extra: str) -> list[str]:
    return [
        "email",
        str(run),
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(port),
        "--backoff",
        "0.01",
        *extra,
    ]


# --- recipients ----------------------------------------------------------------------------------


def test_default_rules_rep_gets_own_scorecard_manager_gets_team_report(run):
    deliveries, skipped = plan_deliveries(_reports(run), read_reps(run / "data"), EmailSettings())
    got = {d.report_id: list(d.envelope) for d in deliveries}
    assert got == EXPECTED
    assert skipped == [{"report_id": "forecast__team-B", "reason": "batch status failed"}]
    r1 = next(d for d in deliveries if d.report_id == "rep_scorecard__rep-R1")
    assert r1.to[0].name == "<script>alert(1)</script>" and r1.audience == "rep"


def test_manager_copies_and_per_kind_extras(run):
    settings = EmailSettings(
        rep_reports_to_manager=True,
        kinds={
            "rep_scorecard": {"cc": ["Sales Ops <ops@example.com>"], "bcc": ["audit@example.com"]}
        },
    )
    deliveries, _ = plan_deliveries(_reports(run), read_reps(run / "data"), settings)
    r1 = [d for d in deliveries if d.report_id == "rep_scorecard__rep-R1"]
    # one message to the rep, a separate one to the rep's manager; both with the kind's cc/bcc
    assert [(d.audience, [r.email for r in d.to]) for d in r1] == [
        ("rep", ["r1@example.com"]),
        ("manager", ["mia@example.com"]),
    ]
    assert all([r.email for r in d.cc] == ["ops@example.com"] for d in r1)
    assert all([r.email for r in d.bcc] == ["audit@example.com"] for d in r1)
    funnel = next(d for d in deliveries if d.kind == "funnel")
    assert funnel.cc == () and funnel.bcc == ()


def test_a_rep_never_receives_another_reps_report(run):
    settings = EmailSettings(kinds={"rep_scorecard": {"cc": ["r2@example.com"]}})
    with pytest.raises(SpmError, match="never receives another rep"):
        plan_deliveries(_reports(run), read_reps(run / "data"), settings)


def test_company_reports_and_kinds_turned_off(reps):
    reports = [
        {"id": "data_overview__company", "kind": "data_overview", "scope": {}, "status": "ok"},
        {"id": "funnel__company", "kind": "funnel", "scope": {}, "status": "ok"},
        {
            "id": "forecast__manager-Ben",
            "kind": "forecast",
            "scope": {"manager": "Ben Boss"},
            "status": "ok",
        },
    ]
    settings = EmailSettings(
        company_recipients=("VP Sales <vp@example.com>",), kinds={"data_overview": {"send": False}}
    )
    deliveries, skipped = plan_deliveries(reports, reps, settings)
    assert {d.report_id: list(d.envelope) for d in deliveries} == {
        "funnel__company": ["vp@example.com"],
        "forecast__manager-Ben": ["ben@example.com"],
    }
    assert skipped == [
        {"report_id": "data_overview__company", "reason": "kind data_overview is off (send: false)"}
    ]


def test_settings_file_is_checked(tmp_path):
    assert load_settings().kind("data_overview")["send"] is False  # params/email.yml
    with pytest.raises(SpmError, match="unknown setting"):
        load_settings(_settings_file(tmp_path, recipients_of_reps=True))
    with pytest.raises(SpmError, match="unknown key"):
        load_settings(_settings_file(tmp_path, kinds={"funnel": {"too": ["a@example.com"]}}))


def test_message_ids_are_stable_per_run_report_and_recipients(run):
    deliveries, _ = plan_deliveries(_reports(run), read_reps(run / "data"), EmailSettings())
    ids = [message_id_for("run-1", d) for d in deliveries]
    assert ids == [message_id_for("run-1", d) for d in deliveries]
    assert len(set(ids)) == len(ids)
    assert message_id_for("run-2", deliveries[0]) != ids[0]


# --- what a received message must look like --------------------------------------------------------


def check_message(received, report_id: str, expected=None, reps=None) -> None:
    """Structure, cid images, no data: / script, size, text part, recipients, privacy.

    ``expected``: the envelope recipients (default EXPECTED[report_id]); ``reps``: rows of
    (rep_id, rep_name, email) whose data a rep's message must not mention (default REPS).
    """
    msg = received.message
    assert msg["X-SPM-Report"] == report_id
    assert sorted(received.rcpt_tos) == sorted(expected or EXPECTED[report_id])
    assert msg.get_content_type() == "multipart/alternative"
    plain, related = msg.get_payload()
    assert plain.get_content_type() == "text/plain"
    if related.get_content_type() == "text/html":  # a short email without charts (the brief)
        html_part, images = related, []
    else:
        assert related.get_content_type() == "multipart/related"
        html_part, *images = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    html = html_part.get_content()
    text = plain.get_content()
    cids = set(re.findall(r'src="cid:([^"]+)"', html))
    attached = {p["Content-ID"].strip("<>") for p in images}
    assert cids == attached and (cids or "brief" in report_id)
    assert all(
        p.get_content_type() == "image/png" and p.get_content().startswith(b"\x89PNG")
        for p in images
    )
    assert "data:" not in html and "<script" not in html.lower()
    # under Gmail's clipping size, both as text and as encoded on the wire
    assert len(html.encode("utf-8")) < MAX_HTML_BYTES
    assert len(str(html_part.get_payload())) < MAX_HTML_BYTES
    assert text.strip() and "\n- " in text  # headline sentences
    if "rep-" in report_id:
        own = report_id.rsplit("rep-", 1)[1]
        everything = "\n".join([*(f"{k}: {v}" for k, v in msg.items()), text, html])
        rows = reps if reps is not None else [(r[0], r[1], r[3]) for r in REPS]
        for rep_id, name, email in rows:
            if rep_id == own:
                assert email in msg["To"]
                continue
            for form in {name, html_lib.escape(name), html_lib.escape(name, quote=False)}:
                assert form not in everything, f"{report_id} mentions {name} ({rep_id})"
            assert email.lower() not in everything.lower(), f"{report_id} mentions {email}"
            assert not re.search(rf"\b{re.escape(rep_id)}\b", everything), (
                f"{report_id} mentions {rep_id}"
            )


def _by_report(received) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in received:
        out.setdefault(r.message["X-SPM-Report"], []).append(r)
    return out


# --- delivery --------------------------------------------------------------------------------------


def test_send_delivers_each_message_once_and_a_rerun_sends_nothing(run):
    with SmtpServer() as server:
        result = runner.invoke(app, _send_args(run, server.port))
        assert result.exit_code == 0, result.output
        got = _by_report(server.received)
        assert sorted(got) == sorted(EXPECTED)
        for rid, messages in got.items():
            assert len(messages) == 1
            check_message(messages[0], rid)
        assert "forecast__team-B" not in got  # failed in the batch: never sent
        again = runner.invoke(app, _send_args(run, server.port))
        assert again.exit_code == 0 and "already_sent" in again.output
        assert len(server.received) == len(EXPECTED)


def test_refused_recipient_and_transient_failure(run, tmp_path):
    # r2 does not exist on the server (550 at RCPT TO); the first DATA gets a 451 (retried)
    handler = RecordingHandler(refuse={"r2@example.com"}, fail_data=1)
    with SmtpServer(handler) as server:
        result = runner.invoke(app, _send_args(run, server.port))
        # documented outcome: the others are delivered once, r2 is reported, exit code 1
        assert result.exit_code == 1
        assert "refused" in result.output and "did not get their message" in result.output
        got = _by_report(server.received)
        assert sorted(got) == sorted(set(EXPECTED) - {"rep_scorecard__rep-R2"})
        assert all(len(v) == 1 for v in got.values())
        assert handler.data_failures == 1
        events = Ledger(run / "mail" / "ledger.jsonl").events()
        refused = [e for e in events if e["status"] == "refused"]
        assert [(e["recipient"], e["code"]) for e in refused] == [("r2@example.com", 550)]
        assert any(e["status"] == "retrying" and e["code"] == 451 for e in events)
        # a rerun does not retry a permanent refusal, and still reports it
        again = runner.invoke(app, _send_args(run, server.port))
        assert again.exit_code == 1 and len(server.received) == len(EXPECTED) - 1


def test_transient_failure_outlasting_retries_is_deferred_then_sent_by_next_run(run):
    outgoing, _ = prepare_run(run, EmailSettings())
    ledger = Ledger(run / "mail" / "ledger.jsonl")
    waits: list[float] = []
    with SmtpServer(RecordingHandler(fail_data=100)) as server:
        config = SmtpConfig("127.0.0.1", server.port)
        result = send_all(outgoing[:1], config, ledger, retries=2, backoff=0.5, sleep=waits.append)
        assert result["status"].tolist() == ["deferred"] and result["code"].tolist() == [451]
        assert waits == [0.5, 1.0]  # backoff doubles
        assert server.received == []
    with SmtpServer() as healthy:
        result = send_all(
            outgoing, SmtpConfig("127.0.0.1", healthy.port), ledger, sleep=waits.append
        )
        assert set(result["status"]) == {"accepted"} and len(healthy.received) == len(EXPECTED)


def test_crash_halfway_then_rerun_delivers_each_message_exactly_once(run):
    spm = str(Path(sys.executable).with_name("spm"))
    handler = RecordingHandler()
    with SmtpServer(handler) as server:
        proc = subprocess.Popen(
            [spm, *_send_args(run, server.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # kill -9 the sender when it starts its 3rd message (2 are delivered and recorded)
        handler.on_mail = lambda n: os.kill(proc.pid, signal.SIGKILL) if n == 3 else None
        assert proc.wait(timeout=120) == -signal.SIGKILL
        assert len(server.received) == 2
        handler.on_mail = None
        result = runner.invoke(app, _send_args(run, server.port))
        assert result.exit_code == 0, result.output
        ids = [r.message["Message-ID"] for r in server.received]
        assert len(ids) == len(set(ids)) == len(EXPECTED)
        assert sorted(_by_report(server.received)) == sorted(EXPECTED)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_password_only_from_environment(run, monkeypatch):
    monkeypatch.delenv("SPM_SMTP_PASSWORD", raising=False)
    result = runner.invoke(app, _send_args(run, 2525, "--user", "bot"))
    assert result.exit_code == 1 and "SPM_SMTP_PASSWORD" in result.output
    monkeypatch.setenv("SPM_SMTP_PASSWORD", "s3cret")
    with SmtpServer(login=("bot", "s3cret")) as server:
        result = runner.invoke(app, _send_args(run, server.port, "--user", "bot"))
        assert result.exit_code == 0, result.output
        assert len(server.received) == len(EXPECTED)


def test_unreachable_server_stops_with_a_message_and_sends_nothing(run):
    from mail_support import _free_port

    result = runner.invoke(app, _send_args(run, _free_port(), "--retries", "1"))
    assert result.exit_code == 1 and "cannot connect to the SMTP server" in result.output
    events = Ledger(run / "mail" / "ledger.jsonl").events()
    assert not any(e["status"] == "accepted" for e in events)


def test_dry_run_writes_eml_files_and_a_preview_page(run, tmp_path):
    from email import message_from_bytes, policy

    settings = _settings_file(
        tmp_path,
        kinds={"funnel": {"bcc": ["audit@example.com"]}},
        subject="{{ title }} · {{ run_id }}",
    )
    result = runner.invoke(app, ["email", str(run), "--dry-run", "--settings", str(settings)])
    assert result.exit_code == 0, result.output
    emls = sorted((run / "mail" / "outbox").glob("*.eml"))
    assert [p.name for p in emls] == [
        "001-funnel__team-A-manager.eml",
        "002-rep_scorecard__rep-R1-rep.eml",
        "003-rep_scorecard__rep-R2-rep.eml",
        "004-rep_scorecard__rep-R3-rep.eml",
    ]
    funnel = message_from_bytes(emls[0].read_bytes(), policy=policy.default)
    assert funnel["Bcc"] == "audit@example.com"  # shown for review only; never sent as a header
    assert funnel["Subject"] == "Scorecard: team A · 20261124T0912Z-fast"
    preview = (run / "mail" / "preview.html").read_text()
    assert preview.count("<iframe") == 4 and "O&#39;Neil &amp; &lt;Co&gt;" in preview
    assert not (run / "mail" / "ledger.jsonl").exists()  # nothing was sent


def test_cli_needs_dry_run_or_a_host(run):
    result = runner.invoke(app, ["email", str(run)])
    assert result.exit_code == 1 and "--dry-run" in result.output


def test_running_batch_is_not_emailed(run):
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
    result = runner.invoke(app, ["email", str(run), "--dry-run"])
    assert result.exit_code == 1 and "still running" in result.output


# --- the real report notebooks, run by the real batch runner on a small sample -----------------------


SPEC = """
reports:
  - {notebook: funnel, for_each: team, where: {team: Atlas}}
  - {notebook: productivity, for_each: team, where: {team: Atlas}}
  - {notebook: forecast, for_each: team, where: {team: Atlas}}
  - {notebook: rep_scorecard, for_each: rep, where: {team: Atlas}}
  - {notebook: team_brief, for_each: team, where: {team: Atlas}}
  - {notebook: data_overview, scopes: [{}]}
"""
HOSTILE = {"R001": "<script>alert(1)</script>", "R002": "O'Neil & <Co>"}


def _sample_batch(tmp: Path) -> Path:
    """The real report notebooks run by the batch runner over a small sample (2 teams x 3 reps x
    12 months; the reports of team Atlas and its reps), two reps renamed to hostile text."""
    import pandas as pd

    from spmlib.run.batch import BatchOptions, run_batch
    from spmlib.sample.generator import write_sample

    data = write_sample(tmp / "data", teams=2, reps_per_team=3, months=12)
    reps = pd.read_csv(data / "reps.csv", dtype=str)
    reps["rep_name"] = reps["rep_id"].map(HOSTILE).fillna(reps["rep_name"])
    reps.to_csv(data / "reps.csv", index=False)
    opps = pd.read_csv(data / "opportunities.csv", dtype=str)
    evil = "<img src=x onerror=alert(2)> & Sons"
    opps.loc[opps["rep_id"] == "R001", "account"] = evil
    opps.to_csv(data / "opportunities.csv", index=False)
    # the account must exist (validation rejects unknown account ids), named hostile too
    accounts = pd.read_csv(data / "accounts.csv", dtype=str)
    row = {"account_id": evil, "account_name": evil, "rep_id": "R001", "potential": "0"}
    pd.concat([accounts, pd.DataFrame([row])]).to_csv(data / "accounts.csv", index=False)
    (tmp / "spec.yml").write_text(SPEC)
    result = run_batch(
        tmp / "spec.yml",
        data=data,
        outputs_dir=tmp / "out",
        options=BatchOptions(workers=2, html=False),
    )
    return result.run_dir


@pytest.mark.slow
def test_every_report_of_the_sample_batch_makes_a_clean_private_email(tmp_path):
    run = _sample_batch(tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    reps = read_reps(run / "data")
    rows = list(zip(reps["rep_id"], reps["rep_name"], reps["email"], strict=True))
    settings = _settings_file(
        tmp_path, company_recipients=["VP Sales <vp@example.com>"], kinds={"data_overview": {}}
    )
    outgoing, skipped = prepare_run(run, load_settings(settings))
    expected = {o.delivery.report_id: list(o.delivery.envelope) for o in outgoing}
    ok = [r["id"] for r in manifest["reports"] if r["status"] == "ok"]
    assert {"rep_scorecard__rep-R001", "rep_scorecard__rep-R002", "funnel__team-Atlas"} <= set(ok)
    # every report that ran is emailed (company reports to the VP, team reports to managers)
    assert sorted(expected) == sorted(ok), skipped
    assert all(o.rendered.html_bytes < MAX_HTML_BYTES for o in outgoing)
    with SmtpServer() as server:
        result = runner.invoke(app, [*_send_args(run, server.port), "--settings", str(settings)])
        assert result.exit_code == 0, result.output
        got = _by_report(server.received)
        assert sorted(got) == sorted(expected)
        for rid, messages in got.items():
            assert len(messages) == 1
            check_message(messages[0], rid, expected[rid], rows)
        # the hostile names show as text in their own scorecard, never as markup
        for rep_id, name in HOSTILE.items():
            msg = got[f"rep_scorecard__rep-{rep_id}"][0].message
            html = msg.get_payload()[1].get_payload()[0].get_content()
            assert html_lib.escape(name, quote=False) in html
            assert name in " ".join(msg.get_payload()[0].get_content().split())  # text part
        for messages in got.values():  # the account name never becomes an element
            html = messages[0].message.get_body(("html",)).get_content()
            assert "<img src=x" not in html and '<img src="x"' not in html


def test_a_report_too_large_for_email_is_reported_and_the_others_still_go(run):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    huge = "<p>" + "x" * 150_000 + "</p>"
    nb = new_notebook(
        cells=[new_code_cell("", outputs=[new_output("display_data", data={"text/html": huge})])]
    )
    nbformat.write(nb, run / "reports" / "funnel__team-A.ipynb")
    result = runner.invoke(app, ["email", str(run), "--dry-run"])
    assert result.exit_code == 1 and "cannot be emailed: funnel__team-A" in result.output
    assert len(list((run / "mail" / "outbox").glob("*.eml"))) == len(EXPECTED) - 1


# --- the full report: a link or the HTML attached ------------------------------------------------


def _with_brief(run: Path) -> Path:
    """Add a team brief (a synthetic notebook with a short email version glued) and the HTML of
    the full brief and of the team funnel to the run."""
    import nbformat
    from nbformat.v4 import new_output

    from spmlib.reports.notebook import GLUE_MIME

    nb = synthetic_notebook("team A")
    email = [{"markdown": "- **Short** version"}, {"html": "<table><tr><td>1</td></tr></table>"}]
    nb.cells[1].outputs.append(
        new_output("display_data", data={GLUE_MIME: {"name": "email", "value": email}})
    )
    nbformat.write(nb, run / "reports" / "team_brief__team-A.ipynb")
    (run / "reports" / "team_brief__team-A.html").write_text("<html>FULL BRIEF</html>")
    (run / "reports" / "funnel__team-A.html").write_text("<html>FULL FUNNEL</html>")
    manifest = json.loads((run / "manifest.json").read_text())
    brief = dict(manifest["reports"][0], id="team_brief__team-A", kind="team_brief")
    brief["outputs"] = {"ipynb": "reports/team_brief__team-A.ipynb",
                        "html": "reports/team_brief__team-A.html"}  # fmt: skip
    manifest["reports"][0]["outputs"]["html"] = "reports/funnel__team-A.html"
    manifest["reports"].append(brief)
    (run / "manifest.json").write_text(json.dumps(manifest))
    return run


def test_short_email_attaches_the_full_report_when_no_link_can_be_given(run):
    outgoing, _ = prepare_run(_with_brief(run), EmailSettings())
    by_id = {o.delivery.report_id: o for o in outgoing}
    brief = by_id["team_brief__team-A"]
    msg = brief.message
    assert msg.get_content_type() == "multipart/mixed"
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "team_brief__team-A.html"
    assert attachment.get_content() == "<html>FULL BRIEF</html>"
    # the short version replaces the notebook's outputs, and says the report is attached
    assert "Short" in brief.rendered.html and "Intro with" not in brief.rendered.html
    assert "The full report is attached" in brief.rendered.html
    assert "The full report is attached." in brief.rendered.text
    # a report whose email is the whole report gets no attachment
    funnel = by_id["funnel__team-A"].message
    assert funnel.get_content_type() == "multipart/alternative"
    assert "full report is in the batch run folder" in by_id["funnel__team-A"].rendered.html


def test_with_a_base_url_every_email_links_to_its_full_report(run, tmp_path):
    settings = load_settings(
        _settings_file(tmp_path, report_base_url="https://reports.example.com/spm/")
    )
    outgoing, _ = prepare_run(_with_brief(run), settings)
    by_id = {o.delivery.report_id: o for o in outgoing}
    url = "https://reports.example.com/spm/20261124T0912Z-fast/reports/team_brief__team-A.html"
    brief = by_id["team_brief__team-A"]
    assert f'href="{url}"' in brief.rendered.html and url in brief.rendered.text
    assert brief.message.get_content_type() == "multipart/alternative"  # nothing attached
    funnel_url = url.replace("team_brief", "funnel")
    assert f'href="{funnel_url}"' in by_id["funnel__team-A"].rendered.html
    # reports without HTML in the run get no link
    assert "href=" not in by_id["rep_scorecard__rep-R1"].rendered.html


def test_report_base_url_must_be_a_web_address(tmp_path):
    with pytest.raises(SpmError, match="report_base_url"):
        load_settings(_settings_file(tmp_path, report_base_url="javascript:alert(1)"))


def test_project_settings_send_the_scorecard_as_your_quarter(run):
    from spmlib.config import PARAMS_DIR

    settings = load_settings(PARAMS_DIR / "email.yml")
    assert settings.company_recipients  # leadership receives the company brief
    outgoing, _ = prepare_run(run, settings)
    subjects = {o.delivery.report_id: str(o.message["Subject"]) for o in outgoing}
    assert subjects["rep_scorecard__rep-R3"] == "Your quarter: Zoë Müller"
    assert subjects["funnel__team-A"].startswith("Scorecard: team A (")  # the common template
