"""Hostile inputs through the CLI, run side (issue #11): nothing deleted, nothing leaked, no
traceback, the file, key or value named.

Every class of #11 owned by the run side is fed through ``spm`` here; each test asserts the exit
status, that no traceback was printed, that the message names the file/key/value, that nothing
was deleted and that no secret appears. The classes about reading data files (encodings,
delimiters, Excel, ids from names, non-finite numbers, mapping rules, far-future dates, Parquet,
dataset.yml keys, SQLite read-only) are in the data side's module.

- data loss: ``spm sample OUT`` on a folder of other files, on a file, with ``--force``, into a
  sample it wrote, ``spm sample .``;
- leaks: a database password in ``spm validate`` (OK and error lines), in the data-warning line
  on stderr, in every file and message of a batch and of ``spm run``; values from the data joined
  into paths (team ids ``../../x`` and ``/abs/path``); formulas in CSV output; an SMTP login over
  an unencrypted connection;
- crashes: reps with an empty or malformed email, a line break in a name, an email shared by two
  reps; wrongly typed spec and email settings values; ``outputs/latest`` where symlinks are
  missing; reports on empty scopes through a real batch (builders: test_report_empty_scopes.py);
  the batch's process killed with ``kill -9`` (its workers and kernels end);
- messages: ``-p rep_id 007`` stays the text ``"007"``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import sqlalchemy
import yaml
from mail_support import SmtpServer, build_synthetic_run
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from typer.testing import CliRunner

from spmlib.cli import app
from spmlib.config import PROJ_ROOT
from spmlib.io.load import read_tables
from spmlib.run.manifest import resolve_run
from spmlib.sample.generator import write_sample

TEST_NB = PROJ_ROOT / "tests" / "notebooks"
MINI = PROJ_ROOT / "tests" / "data" / "mini"  # 3 reps: R1, R2 in North; R3 in South
LIGHT = "pandas,IPython.display,spmlib,spmlib.reports.notebook"
SECRET = "Pa55-w0rd-7f3e"
SPM = str(Path(sys.executable).parent / "spm")


def spm(*args: str, **env: str):
    """Run ``spm ARGS`` in this process; the result, after checking no traceback was shown."""
    result = CliRunner(env=env or None).invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its content (to prove nothing was changed)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


SMALL = ("--teams", "1", "--reps-per-team", "2", "--months", "2")


# --- data loss: spm sample -------------------------------------------------------------------------


def test_sample_refuses_a_folder_of_other_files_and_force_writes_only_its_own(tmp_path):
    out = tmp_path / "work"
    (out / "notes").mkdir(parents=True)
    (out / "thesis.docx").write_bytes(b"years of work")
    (out / "notes" / "a.txt").write_text("keep me")
    before = _snapshot(out)
    result = spm("sample", out, *SMALL)
    assert result.exit_code == 1
    assert f"{out} is not empty" in result.output and "--force" in result.output
    assert "nothing was written" in result.output
    assert _snapshot(out) == before

    result = spm("sample", out, *SMALL, "--force")
    assert result.exit_code == 0, result.output
    after = _snapshot(out)
    assert {k: after[k] for k in before} == before  # the other files are untouched
    assert {"reps.csv", "opportunities.csv", "dataset.yml", "ground_truth.yml"} <= set(after)


def test_sample_refuses_a_file_and_a_folder_named_like_a_table(tmp_path):
    target = tmp_path / "data.csv"
    target.write_text("id\n1\n")
    result = spm("sample", target, *SMALL)
    assert result.exit_code == 1 and "is a file, not a folder" in result.output
    assert target.read_text() == "id\n1\n"

    out = tmp_path / "odd"
    (out / "reps.csv").mkdir(parents=True)
    (out / "reps.csv" / "mine.txt").write_text("x")
    result = spm("sample", out, *SMALL, "--force")
    assert result.exit_code == 1 and f"{out / 'reps.csv'} is not what the sample writes" in (
        result.output.replace("\n", "")
    )
    assert (out / "reps.csv" / "mine.txt").read_text() == "x"


def test_sample_refreshes_its_own_sample_keeping_other_files(tmp_path):
    out = tmp_path / "sample"
    assert spm("sample", out, *SMALL).exit_code == 0
    (out / "my_notes.md").write_text("mine")
    result = spm("sample", out, *SMALL, "--format", "parquet", "--seed", "7")
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert "my_notes.md" in names and "reps.parquet" in names
    assert "reps.csv" not in names  # the old format cannot shadow the new one
    assert spm("validate", out).exit_code == 0


def test_sample_dot_in_an_empty_folder_and_in_a_busy_one(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    result = spm("sample", ".", *SMALL)
    assert result.exit_code == 0, result.output
    assert (empty / "dataset.yml").exists() and Path.cwd() == empty

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "report.xlsx").write_bytes(b"PK")
    monkeypatch.chdir(busy)
    result = spm("sample", ".", *SMALL)
    assert result.exit_code == 1 and "is not empty" in result.output
    assert [p.name for p in busy.iterdir()] == ["report.xlsx"]


# --- leaks: a database password ------------------------------------------------------------------


class _SQLiteWithLogin(SQLiteDialect_pysqlite):
    """SQLite behind a URL that carries a login, as a server database's does (the login is not
    used), so the commands can read a database whose URL holds a password."""

    supports_statement_cache = True

    def create_connect_args(self, url):
        return super().create_connect_args(url._replace(username=None, password=None))


def _database(folder: Path, tables: dict[str, pd.DataFrame], config: dict) -> str:
    """The tables in an SQLite file behind a URL with the password :data:`SECRET`."""
    registry.register("sqlite.withlogin", __name__, "_SQLiteWithLogin")
    url = f"sqlite+withlogin://ann:{SECRET}@/{folder / 'crm.db'}"
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        for name, frame in tables.items():
            frame.to_sql(name, conn, index=False)
        rows = [(k, json.dumps(v) if isinstance(v, list) else str(v)) for k, v in config.items()]
        pd.DataFrame(rows, columns=["key", "value"]).to_sql("dataset_config", conn, index=False)
    engine.dispose()
    return url


def _mini_with_an_idle_rep(folder: Path) -> str:
    tables, config, _files = read_tables(MINI)
    idle = tables["reps"].iloc[[0]].assign(rep_id="R9", rep_name="Idle Ida")
    tables["reps"] = pd.concat([tables["reps"], idle], ignore_index=True)  # a data warning
    return _database(folder, tables, config)


def test_validate_and_warnings_never_show_the_database_password(tmp_path):
    url = _mini_with_an_idle_rep(tmp_path)
    ok = spm("validate", url)
    assert ok.exit_code == 0 and f"OK sqlite+withlogin://ann:***@/{tmp_path}" in ok.output
    assert "1 rep with no deals" in ok.output
    missing = url.replace("crm.db", "nothing.db")
    bad = spm("validate", missing)
    assert bad.exit_code == 1 and "nothing.db' does not exist" in bad.output
    assert "(from sqlite+withlogin://ann:***@" in bad.output.replace("\n", "")
    board = spm("leaderboard", url)  # loads the data: the warning line on stderr
    assert board.exit_code == 0 and "1 data warning(s) in sqlite+withlogin://ann:***@" in (
        board.output.replace("\n", "")
    )
    for result in (ok, bad, board):
        assert SECRET not in result.output


@pytest.mark.slow
def test_no_output_or_file_of_a_run_shows_the_password_and_data_never_becomes_a_path(tmp_path):
    """One real batch on a database behind a password, whose teams are called ``../../evil``
    and an absolute path with a layer file planted where joining would find it, one team
    without deals and one whose deals are all open: the funnel report runs for every team,
    no planted layer is read, and no file or message shows the password."""
    sample = write_sample(tmp_path / "s", teams=2, reps_per_team=2, months=8, seed=3)
    tables, config, _files = read_tables(sample)
    reps, opp = tables["reps"], tables["opportunities"]
    planted = tmp_path / "planted"
    hostile = {"RX1": "../../evil", "RX2": str(planted)}
    extra = reps.iloc[[0, 0]].assign(rep_id=list(hostile), team=list(hostile.values()))
    tables["reps"] = pd.concat([reps, extra], ignore_index=True)
    open_team = reps["team"].iloc[-1]
    open_ids = set(reps.loc[reps["team"] == open_team, "rep_id"])
    gone = opp["rep_id"].isin(open_ids) & ~opp["stage"].isin(config["open_stages"])
    closed_ids = set(opp.loc[gone, "opp_id"])
    reopened = {"stage": opp["stage"].mask(gone, config["open_stages"][0])}
    if "status" in opp.columns:
        reopened["status"] = opp["status"].mask(gone, "open")
    if "close_reason" in opp.columns:
        reopened["close_reason"] = opp["close_reason"].mask(gone, None)
    tables["opportunities"] = opp.assign(**reopened)
    sh = tables["stage_history"]
    tables["stage_history"] = sh[
        ~(sh["opp_id"].isin(closed_ids) & ~sh["stage"].isin(config["open_stages"]))
    ]
    tables.pop("splits", None)  # splits of the now-open deals would be refused
    url = _database(tmp_path, tables, config)

    spec_dir = tmp_path / "p"
    (spec_dir / "teams").mkdir(parents=True)
    (spec_dir / "defaults.yml").write_text("")
    for trap in (tmp_path / "evil.yml", Path(f"{planted}.yml")):  # where joining would look
        trap.write_text("start: not-a-date\n")
    spec = spec_dir / "batch.yml"
    spec.write_text("reports:\n  - notebook: funnel\n    for_each: team\n")
    out = tmp_path / "out"
    args = ["--data", url, "--workers", "2", "--outputs", out, "--warm-imports", LIGHT]
    batch = spm("batch", spec, *args)
    assert batch.exit_code == 0, batch.output
    assert "not-a-date" not in batch.output
    run_dir = resolve_run("latest", out)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert {r["status"] for r in manifest["reports"]} == {"ok"}
    teams = {r["scope"]["team"]: r["id"] for r in manifest["reports"]}
    assert set(hostile.values()) | {open_team} <= set(teams)
    for rid in teams.values():
        assert "/" not in rid and (run_dir / "reports" / f"{rid}.html").exists()
    empty_html = (run_dir / "reports" / f"{teams['../../evil']}.html").read_text()
    assert "No group has a closed deal yet" in empty_html
    open_html = (run_dir / "reports" / f"{teams[open_team]}.html").read_text()
    assert "No group has a closed deal yet" in open_html

    single = spm(
        "run", TEST_NB / "ok.ipynb", "-p", "label", url, "--out", tmp_path / "single"
    )  # a report that prints the URL
    assert single.exit_code == 0, single.output
    gone = url.replace("crm.db", "gone.db")  # the report fails reading it: the error names it
    failing = spm("run", TEST_NB / "ok.ipynb", "-p", "data", gone, "--out", tmp_path / "single")
    assert failing.exit_code == 1
    assert "sqlite+withlogin://ann:***@" in failing.output.replace("\n", "")

    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".db"]
    assert len(written) > 20
    assert [str(p) for p in written if SECRET.encode() in p.read_bytes()] == []
    for result in (batch, single, failing):
        assert SECRET not in result.output


# --- leaks: CSV formulas -------------------------------------------------------------------------


def test_csv_output_escapes_formulas_and_keeps_numbers(tmp_path):
    data = tmp_path / "data"
    tables, config, _ = read_tables(MINI)
    names = ['=HYPERLINK("http://evil","x")', "+1-1", "@SUM(A1)"]
    tables["reps"] = tables["reps"].assign(rep_name=names, team=["-North", "-North", "+South"])
    data.mkdir()
    for name, frame in tables.items():
        frame.to_csv(data / f"{name}.csv", index=False)
    (data / "dataset.yml").write_text(yaml.safe_dump(config))
    result = spm("kpis", data, "--by", "rep", "--format", "csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(__import__("io").StringIO(result.stdout), dtype=str)
    assert sorted(table["rep_name"]) == sorted("'" + n for n in names)
    assert set(table["team"]) == {"'-North", "'+South"}
    assert pd.to_numeric(table["bookings"]).notna().all()  # numbers are not escaped
    as_json = json.loads(spm("kpis", data, "--by", "rep", "--format", "json").stdout)
    assert sorted(r["rep_name"] for r in as_json) == sorted(names)  # JSON keeps the text


# --- leaks: SMTP login in clear text -------------------------------------------------------------


def test_email_login_needs_an_encrypted_connection_unless_loopback_or_insecure(
    tmp_path, monkeypatch
):
    run = build_synthetic_run(tmp_path / "run")
    env = {"SPM_SMTP_PASSWORD": SECRET}
    far = spm("email", run, "--smtp-host", "mail.example.com", "--user", "bot", **env)
    assert far.exit_code == 1 and "in clear text to mail.example.com" in far.output
    assert "--starttls" in far.output and "--insecure" in far.output
    assert not (run / "mail").exists()  # nothing was sent or written

    import spmlib.mail.message as message

    monkeypatch.setattr(message, "is_loopback", lambda host: False)  # as if it were remote
    with SmtpServer(login=("bot", SECRET)) as server:
        send = ["email", run, "--smtp-host", "127.0.0.1", "--smtp-port", server.port]
        refused = spm(*send, "--user", "bot", **env)
        assert refused.exit_code == 1 and "clear text" in refused.output
        assert server.received == []
        sent = spm(*send, "--user", "bot", "--insecure", "--backoff", "0.01", **env)
        assert sent.exit_code == 0, sent.output
        assert len(server.received) == 4
    assert SECRET not in far.output + refused.output + sent.output


# --- crashes: unusable recipients ------------------------------------------------------------------


def _spoil_reps(run: Path) -> None:
    """R1 gets a line break in the name (a header injection attempt), R2 a malformed email;
    R3 keeps a good one."""
    reps_csv = run / "data" / "reps.csv"
    reps = pd.read_csv(reps_csv, dtype=str)
    reps.loc[reps["rep_id"] == "R1", "rep_name"] = "Ann\r\nBcc: thief@example.com"
    reps.loc[reps["rep_id"] == "R2", "email"] = "r2 at example dot com"
    reps.to_csv(reps_csv, index=False)


def test_email_skips_unusable_recipients_and_everyone_else_gets_their_mail(tmp_path):
    run = build_synthetic_run(tmp_path / "run")
    _spoil_reps(run)
    dry = spm("email", run, "--dry-run")
    assert dry.exit_code == 1
    text = dry.output.replace("\n", " ")
    assert "rep_scorecard__rep-R1 (unusable recipient (the rep): the name has a line break" in text
    assert "rep_scorecard__rep-R2 (unusable recipient (the rep): the email 'r2 at example" in text
    assert "Everyone else's messages were written or sent" in text
    written = sorted(p.name for p in (run / "mail" / "outbox").glob("*.eml"))
    assert len(written) == 2 and any("rep-R3" in n for n in written)  # R3 and the team report
    assert all(b"thief" not in p.read_bytes() for p in (run / "mail").rglob("*.eml"))

    with SmtpServer() as server:
        sent = spm("email", run, "--smtp-host", "127.0.0.1", "--smtp-port", server.port)
        assert sent.exit_code == 1 and "unusable" in sent.output
        recipients = sorted(r for m in server.received for r in m.rcpt_tos)
        assert recipients == ["mia@example.com", "r3@example.com"]


def test_two_reps_sharing_an_email_get_neither_report(tmp_path):
    run = build_synthetic_run(tmp_path / "run")
    reps_csv = run / "data" / "reps.csv"
    reps = pd.read_csv(reps_csv, dtype=str)
    reps.loc[reps["rep_id"] == "R2", "email"] = "R1@Example.com"
    reps.to_csv(reps_csv, index=False)
    dry = spm("email", run, "--dry-run")
    assert dry.exit_code == 1
    text = dry.output.replace("\n", " ")
    assert "the email r1@example.com is also the email of rep(s) R2" in text
    assert "the email r1@example.com is also the email of rep(s) R1" in text
    names = sorted(p.name for p in (run / "mail" / "outbox").glob("*.eml"))
    assert not any("rep-R1" in n or "rep-R2" in n for n in names)


# --- crashes: wrongly typed settings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('timeout: "ten minutes"', "'timeout' must be a positive number of seconds"),
        ("defaults: 5", "'defaults' must be a path or name written as text, got int 5"),
        ("teams_dir: [a, b]", "'teams_dir' must be a path or name written as text"),
        ("timeout: -1", "'timeout' must be a positive number of seconds"),
    ],
)
def test_wrongly_typed_spec_values_name_the_file_and_key(tmp_path, line, message):
    spec = tmp_path / "batch.yml"
    spec.write_text(f"{line}\nreports:\n  - notebook: funnel\n    for_each: team\n")
    out = tmp_path / "out"
    result = spm("batch", spec, "--data", MINI, "--outputs", out)
    assert result.exit_code == 1
    assert f"{spec}: {message}" in result.output.replace("\n", "")
    assert not out.exists()  # nothing ran, nothing was written


def test_wrongly_typed_entry_and_email_settings(tmp_path):
    spec = tmp_path / "batch.yml"
    spec.write_text("reports:\n  - notebook: funnel\n    timeout: soon\n")
    result = spm("batch", spec, "--data", MINI, "--outputs", tmp_path / "out")
    assert result.exit_code == 1
    assert "report entry 1 (notebook: funnel): 'timeout' must be a positive number" in (
        result.output.replace("\n", "")
    )
    run = build_synthetic_run(tmp_path / "run")
    settings = tmp_path / "email.yml"
    settings.write_text("kinds:\n  rep_scorecard: {send: 'false'}\n")
    result = spm("email", run, "--dry-run", "--settings", settings)
    assert result.exit_code == 1
    assert "'kinds.rep_scorecard.send' must be true or false, got str 'false'" in result.output


# --- crashes: outputs/latest without symlinks ----------------------------------------------------


def test_latest_is_a_pointer_file_where_symlinks_are_missing(tmp_path, monkeypatch):
    from spmlib.run.manifest import Manifest, finish_run

    outputs = tmp_path / "outputs"
    run = build_synthetic_run(outputs / "20261124T0912Z-fast")
    document = json.loads((run / "manifest.json").read_text())
    ok = [r for r in document["reports"] if r["status"] == "ok"]  # a complete run
    for report in ok:
        report["notebook_path"] = str(TEST_NB / "ok.ipynb")
    (run / "manifest.json").write_text(json.dumps({**document, "reports": ok}))
    manifest = Manifest.read(run)

    def no_symlinks(*args, **kwargs):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    finish_run(run, manifest, outputs)
    latest = outputs / "latest"
    assert latest.is_file() and not latest.is_symlink()
    assert latest.read_text().strip() == run.name
    assert resolve_run("latest", outputs) == run.resolve()
    result = spm("email", latest, "--dry-run")
    assert result.exit_code == 0, result.output
    assert len(list((run / "mail" / "outbox").glob("*.eml"))) == 4


# --- messages: ids on the command line -----------------------------------------------------------


def test_a_rep_id_given_with_p_stays_text(tmp_path, monkeypatch):
    from spmlib.run import kernels

    monkeypatch.setattr(
        kernels.WarmKernel, "start", lambda self: pytest.fail("a kernel was started")
    )
    data = tmp_path / "data"
    data.mkdir()
    tables, config, _ = read_tables(MINI)
    tables["reps"].loc[0, "rep_id"] = "007"
    for name, frame in tables.items():
        if "rep_id" in frame.columns and name != "reps":
            frame.loc[frame["rep_id"] == "R1", "rep_id"] = "007"
        frame.to_csv(data / f"{name}.csv", index=False)
    (data / "dataset.yml").write_text(yaml.safe_dump(config))
    # rep 007 is in North: asking for it in South shows the id was kept as the text "007"
    result = spm("run", "funnel", "-p", "data", data, "-p", "rep_id", "007", "-p", "team", "South")
    assert result.exit_code == 1
    assert "rep '007'" in result.output or "'007'" in result.output
    assert "rep_id must be" not in result.output and " 7 " not in result.output
    raw = spm("run", "funnel", "-p", "data", data, "-r", "rep_id", "42")
    assert raw.exit_code == 1 and "rep_id '42' is not in the data" in raw.output


# --- crashes: kill -9 of the batch ---------------------------------------------------------------


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def _child(code: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )


@pytest.mark.parametrize("pdeathsig", [True, False], ids=["pdeathsig", "watchdog only"])
def test_a_child_ends_when_its_parent_is_killed(pdeathsig):
    """A parent starts a child that calls die_with_parent, then is killed with SIGKILL: the
    child ends, through the parent-death signal and (without it) through the watchdog."""
    grandchild = (
        "import os, time, spmlib.run.lifeline as l\n"
        + ("" if pdeathsig else "l._prctl = lambda: None\n")
        + "l.die_with_parent(int(os.environ['PARENT']), poll=0.2)\n"
        "print(l.parent_death_signal(), flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = _child(
        "import os, subprocess, sys, time\n"
        "env = dict(os.environ, PARENT=str(os.getpid()))\n"
        f"p = subprocess.Popen([sys.executable, '-c', {grandchild!r}], env=env)\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    pid = int(parent.stdout.readline())
    child = psutil.Process(pid)
    time.sleep(3)  # the child has imported spmlib and set its lifeline
    assert _alive([child])
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 15
    while _alive([child]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive([child])


@pytest.mark.slow
def test_kill_9_of_the_batch_ends_its_workers_and_kernels(tmp_path):
    spec = tmp_path / "batch.yml"
    spec.write_text(
        f"notebooks_dir: {TEST_NB}\nreports:\n"
        "  - notebook: ok\n    for_each: team\n"
        "  - notebook: sleeps\n    for_each: rep\n    parameters: {seconds: 20.0}\n"
        "  - notebook: ok\n    for_each: rep\n"
    )
    out = tmp_path / "out"
    cmd = [SPM, "batch", spec, "--data", MINI, "--workers", "2", "--warm-imports", LIGHT]
    proc = subprocess.Popen(
        [str(c) for c in [*cmd, "--outputs", out]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not list(out.glob("*/reports/*.ipynb")) and time.monotonic() < deadline:
            assert proc.poll() is None
            time.sleep(0.2)
        time.sleep(2)  # the sleeping reports are running now
        family = psutil.Process(proc.pid).children(recursive=True)
        kernels = [p for p in family if "ipykernel_launcher" in " ".join(p.cmdline())]
        assert len(kernels) == 2 and len(family) >= 4  # 2 workers, 2 kernels
        written = sorted(p.name for p in out.glob("*/reports/*"))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 30
    while _alive(family) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive(family) == []
    time.sleep(2)
    assert sorted(p.name for p in out.glob("*/reports/*")) == written  # nothing more written
