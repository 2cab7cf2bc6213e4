"""Property test (hypothesis): ``spm validate`` on random CSV tables, with random bytes in cells,
random encodings and delimiters, missing and extra columns, either accepts the data or lists its
problems, and never raises (no traceback, exit status 0 or 1)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from spmlib.cli import app
from spmlib.io.schema import TABLES

runner = CliRunner()
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "cp1251"]
DELIMITERS = [",", ";", "\t", "|"]
STAGES = ["Lead", "Won", "Lost"]
#: Plausible values per column kind, so that some tables are valid and others nearly so.
PLAUSIBLE = {
    "id": st.sampled_from(["R1", "R2", "O1", "O2", "7", "007", ""]),
    "str": st.sampled_from(["North", "Ada Lovelace", "Zoë Ünal", "Иван", "Lead", "Won", ""]),
    "date": st.sampled_from(["2024-01-05", "2024-02-30", "9999-12-31", "05/01/2024", ""]),
    "float": st.sampled_from(["100", "2,5", "1.234,5", "-3", "inf", "NaN", "1e309", "", "x"]),
    "int": st.sampled_from(["1", "2", ""]),
    "bool": st.sampled_from(["true", "no", "maybe", ""]),
}
#: Anything at all: text with quotes, delimiters and line breaks, or raw bytes.
ANY_CELL = st.one_of(
    st.text(max_size=12),
    st.binary(max_size=12),
    st.sampled_from(['"', '""', "a,b", "a;b", "\n", "\r\n", "\x00", "=1+1", " "]),
)


@st.composite
def tables(draw):
    """A dict file name -> bytes: reps and opportunities (sometimes more), each with some
    required columns dropped, extra columns added, and cells plausible or random."""
    encoding = draw(st.sampled_from(ENCODINGS))
    delimiter = draw(st.sampled_from(DELIMITERS))
    files = {}
    names = ["reps", "opportunities", *draw(st.lists(st.sampled_from(["quotas", "leads"])))]
    for name in dict.fromkeys(names):
        spec = TABLES[name].columns
        cols = [c for c in spec if draw(st.integers(0, 9)) > 0]  # some dropped
        cols += draw(st.lists(st.sampled_from(["extra", "Notes", "rep_id", ""]), max_size=2))
        rows = []
        for _ in range(draw(st.integers(0, 4))):
            row = []
            for c in cols:
                kind = spec.get(c, "str")
                row.append(draw(st.one_of(PLAUSIBLE[kind], ANY_CELL)))
            rows.append(row)
        files[f"{name}.csv"] = _csv(cols, rows, encoding, delimiter)
    return files


def _csv(header, rows, encoding, delimiter) -> bytes:
    """A CSV file in bytes: text cells encoded (unencodable characters replaced), byte cells
    written as they are; cells holding the delimiter, quotes or line breaks quoted."""
    sep = delimiter.encode(encoding)
    if encoding.startswith("utf-16"):
        sep = delimiter.encode("utf-16-le")

    def cell(value) -> bytes:
        raw = value if isinstance(value, bytes) else value.encode(encoding, errors="replace")
        if encoding.startswith("utf-16") and not isinstance(value, bytes):
            raw = value.encode("utf-16-le", errors="replace")
        if any(ch in raw for ch in (sep, b'"', b"\n", b"\r")):
            raw = b'"' + raw.replace(b'"', b'""') + b'"'
        return raw

    newline = "\n".encode("utf-16-le") if encoding.startswith("utf-16") else b"\n"
    lines = [sep.join(cell(c) for c in header)]
    lines += [sep.join(cell(c) for c in row) for row in rows]
    body = newline.join(lines) + newline
    if encoding == "utf-16":
        return b"\xff\xfe" + body
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + body
    return body


@settings(
    max_examples=int(os.environ.get("SPM_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files=tables())
def test_spm_validate_accepts_or_lists_problems_and_never_raises(files):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        (folder / "dataset.yml").write_text(
            yaml.safe_dump({"open_stages": ["Lead"], "won_stage": "Won", "lost_stage": "Lost"})
        )
        result = runner.invoke(app, ["validate", str(folder)])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            repr(result.exception),
            result.output,
        )
        assert "Traceback" not in result.output
        assert result.exit_code in (0, 1), result.output
        if result.exit_code == 0:
            assert f"OK {folder}" in result.output
        else:
            assert "error(s) in" in result.output or "error:" in result.output
