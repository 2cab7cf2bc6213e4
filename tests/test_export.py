"""Browser HTML export (code hidden, parameters as a header, escaped) and atomic writes."""

from __future__ import annotations

import os

import nbformat
import pytest

from spmlib.io.files import atomic_write_json, atomic_write_text
from spmlib.reports import browser as export
from spmlib.reports.browser import atomic_write_notebook, header_parameters, notebook_to_html
from spmlib.reports.notebook import GLUE_MIME


def _executed() -> nbformat.NotebookNode:
    """A small 'executed' notebook: parameters, injected parameters, a table, a glued value."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        "team = None  # SECRET_PARAM_CODE", metadata={"tags": ["parameters"]}
    )
    injected = nbformat.v4.new_code_cell(
        'team = "North"  # INJECTED_CODE', metadata={"tags": ["injected-parameters"]}
    )
    code = nbformat.v4.new_code_cell("visible_source_code_marker = 1")
    code.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"text/html": "<table><tr><td>42 deals</td></tr></table>"}
        ),
        nbformat.v4.new_output(
            "display_data", data={GLUE_MIME: {"name": "title", "value": "Funnel <North>"}}
        ),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Funnel report"), params, injected, code]
    nb.metadata["papermill"] = {
        "parameters": {"team": "<b>North & co</b>", "data": "/srv/runs/x/data", "rep_id": None}
    }
    return nb


def test_html_hides_code_and_shows_parameters_as_escaped_header(recwarn):
    html = notebook_to_html(_executed(), rendered="2026-11-24T09:00:00Z")
    assert "42 deals" in html and "Funnel report" in html
    for hidden in ("visible_source_code_marker", "SECRET_PARAM_CODE", "INJECTED_CODE"):
        assert hidden not in html
    # the header: escaped values, data shown as a folder name only, unset parameters left out
    assert "<span><b>team</b> = &lt;b&gt;North &amp; co&lt;/b&gt;</span>" in html
    assert "<b>data</b> = data</span>" in html and "/srv/runs" not in html
    assert "rep_id" not in html
    assert "<title>Funnel &lt;North&gt;</title>" in html  # the glued title, escaped
    assert "application/vnd.spm.glue" not in html
    # self-contained: no script loaded from a CDN
    assert '<script src="http' not in html
    assert not [w for w in recwarn if "mimetype" in str(w.message)]


def test_header_parameters():
    assert header_parameters({"data": "sqlite:///crm.db", "n": 0, "x": None}) == [
        ("data", "sqlite:///crm.db"),
        ("n", "0"),
    ]
    assert header_parameters(None) == []


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "sub" / "r.html"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    atomic_write_json(tmp_path / "m.json", {"a": 1})
    assert (tmp_path / "m.json").read_text() == '{\n "a": 1\n}\n'
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["m.json", "r.html", "sub"]


def test_failed_write_keeps_the_old_file_and_no_partial(tmp_path, monkeypatch):
    path = tmp_path / "r.ipynb"
    atomic_write_text(path, "complete old report")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(export.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_notebook(path, _executed())
    monkeypatch.undo()
    assert path.read_text() == "complete old report"
    assert os.listdir(tmp_path) == ["r.ipynb"]


def test_index_escapes_text_from_the_data_and_links_only_complete_reports():
    from spmlib.run.manifest import render_index

    evil = "<script>alert('x')</script> & Co"
    manifest = {
        "run_id": "20261124T0912Z-3f2a",
        "status": "failed",
        "started": "2026-11-24T09:12:00Z",
        "ended": "2026-11-24T09:13:10Z",
        "spec": "params/batch.yml",
        "data_fingerprint": "sha256:" + "0" * 64,
        "spmlib_version": "0.1.0",
        "reports": [
            {
                "id": "funnel__team-x",
                "kind": "funnel",
                "scope": {"team": evil},
                "status": "ok",
                "seconds": 1.25,
                "outputs": {
                    "html": "reports/funnel__team-x.html",
                    "ipynb": "reports/funnel__team-x.ipynb",
                },
                "error": None,
            },
            {
                "id": "forecast__team-x",
                "kind": "forecast",
                "scope": {"team": evil},
                "status": "failed",
                "seconds": 0.5,
                "outputs": {"partial": "failed/forecast__team-x.ipynb"},
                "error": {"cell": 4, "ename": "ValueError", "evalue": f"no data for {evil}"},
            },
        ],
    }
    html = render_index(manifest)
    assert "<script>alert" not in html
    assert "Team &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" in html
    assert "2 reports: 1 failed, 1 ok" in html
    assert '<a href="reports/funnel__team-x.html" title="funnel__team-x">Funnel</a>' in html
    assert 'href="failed/forecast__team-x.ipynb">partial notebook</a>' in html
    assert 'href="reports/forecast__team-x.html"' not in html
    assert "cell 4: ValueError: no data for &lt;script&gt;" in html
