"""Who receives which report: rules from the data (reps, managers) and ``params/email.yml``.

The rules, per report of a batch run (its ``scope`` in ``manifest.json``):

- a rep report (``{"rep_id": ..}``) goes to that rep (``reps.email``) when
  ``rep_reports_to_rep``; with ``rep_reports_to_manager`` the rep's manager
  (``reps.manager_email``) receives a separate copy;
- a team report (``{"team": ..}``) goes to the manager(s) of the team's reps when
  ``team_reports_to_manager``; a manager report (``{"manager": ..}``) to that manager;
- a company report (``{}``) goes to ``company_recipients``;
- ``kinds.<kind>.to / cc / bcc`` add fixed addresses to every message of a report kind,
  ``kinds.<kind>.send: false`` turns a kind off, and ``kinds.<kind>.subject`` replaces the
  common subject template for that kind.

A rep never receives another rep's report: planning fails if any address of a rep-scoped message
(to, cc or bcc) is the email of another rep who is not the report's rep's manager.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import yaml

from spmlib.exceptions import SpmError

__all__ = [
    "EmailSettings",
    "Recipient",
    "Delivery",
    "load_settings",
    "read_reps",
    "parse_email",
    "plan_deliveries",
    "UNUSABLE",
    "deliveries_table",
]

log = logging.getLogger(__name__)

#: Start of the reason of a recipient left out because of their data (a malformed email, a
#: line break in a name, an email shared by two reps); ``spm email`` then exits 1.
UNUSABLE = "unusable recipient"
_KIND_KEYS = {"to", "cc", "bcc", "send", "subject"}
_SETTING_KEYS = {
    "sender",
    "reply_to",
    "subject",
    "rep_reports_to_rep",
    "rep_reports_to_manager",
    "team_reports_to_manager",
    "company_recipients",
    "report_base_url",
    "kinds",
}


@dataclass(frozen=True)
class EmailSettings:
    """The contents of ``params/email.yml`` (see that file for each key's meaning)."""

    sender: str = "SPM reports <spm-reports@example.com>"
    reply_to: str | None = None
    subject: str = "{{ title }}"
    rep_reports_to_rep: bool = True
    rep_reports_to_manager: bool = False
    team_reports_to_manager: bool = True
    company_recipients: tuple[str, ...] = ()
    report_base_url: str | None = None
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)

    def report_url(self, run_id: str, path: str) -> str | None:
        """The link to a report of a run: ``<report_base_url>/<run_id>/<path>`` (``path``
        relative to the run folder, e.g. ``reports/team_brief__team-Atlas.html``); None when
        no base URL is set.

        Examples
        --------
        >>> s = EmailSettings(report_base_url="https://reports.example.com/spm/")
        >>> s.report_url("20261124T0912Z-3f2a", "reports/team_brief__company.html")
        'https://reports.example.com/spm/20261124T0912Z-3f2a/reports/team_brief__company.html'
        """
        if not self.report_base_url:
            return None
        parts = [quote(p) for p in f"{run_id}/{path}".split("/")]
        return f"{self.report_base_url.rstrip('/')}/{'/'.join(parts)}"

    def kind(self, kind: str) -> dict[str, Any]:
        """The settings of one report kind, with defaults (no extra recipients, sent, the
        common subject)."""
        raw = self.kinds.get(kind) or {}
        return {
            "to": tuple(raw.get("to") or ()),
            "cc": tuple(raw.get("cc") or ()),
            "bcc": tuple(raw.get("bcc") or ()),
            "send": bool(raw.get("send", True)),
            "subject": str(raw.get("subject") or self.subject),
        }


def load_settings(path: str | Path | None = None) -> EmailSettings:
    """Read the email settings (default ``params/email.yml``; built-in defaults if absent).

    Raises
    ------
    SpmError
        On an unknown key (a typo would otherwise silently change who gets what).
    """
    from spmlib.config import PARAMS_DIR

    p = Path(path) if path is not None else PARAMS_DIR / "email.yml"
    if not p.exists():
        if path is not None:
            raise SpmError(f"email settings {p} not found; pass an existing YAML file.")
        log.info("no %s; using the default email settings", p)
        return EmailSettings()
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SpmError(f"{p}: not valid YAML ({' '.join(str(exc).split())}).") from None
    if not isinstance(raw, dict):
        raise SpmError(f"{p}: must be a mapping of settings (sender: ..., kinds: ...).")
    unknown = set(raw) - _SETTING_KEYS
    if unknown:
        raise SpmError(
            f"{p}: unknown setting(s) {', '.join(sorted(unknown))}; "
            f"valid: {', '.join(sorted(_SETTING_KEYS))}."
        )
    for key in ("sender", "reply_to", "subject"):
        _typed(raw.get(key), str, p, key, "text")
    for key in ("rep_reports_to_rep", "rep_reports_to_manager", "team_reports_to_manager"):
        _typed(raw.get(key), bool, p, key, "true or false")
    _addresses(raw.get("company_recipients"), p, "company_recipients")
    kinds = raw.get("kinds") or {}
    if not isinstance(kinds, dict):
        raise SpmError(f"{p}: 'kinds' must map report kinds to their settings.")
    for kind, conf in kinds.items():
        if not isinstance(conf or {}, dict):
            raise SpmError(f"{p}: 'kinds.{kind}' must be a mapping (to, cc, bcc, send).")
        bad = set(conf or {}) - _KIND_KEYS
        if bad:
            raise SpmError(
                f"{p}: kinds.{kind} has unknown key(s) {', '.join(sorted(bad))}; "
                f"valid: {', '.join(sorted(_KIND_KEYS))}."
            )
        for key in ("to", "cc", "bcc"):
            _addresses((conf or {}).get(key), p, f"kinds.{kind}.{key}")
        _typed((conf or {}).get("send"), bool, p, f"kinds.{kind}.send", "true or false")
        _typed((conf or {}).get("subject"), str, p, f"kinds.{kind}.subject", "a text")
    base = raw.get("report_base_url")
    if base is not None and not re.match(r"^https?://[^\s/]+", str(base)):
        raise SpmError(
            f"{p}: report_base_url must be an http(s) address such as "
            f"https://reports.example.com/spm, got {base!r}."
        )
    values = {k: v for k, v in raw.items() if v is not None and k != "kinds"}
    if "company_recipients" in values:
        values["company_recipients"] = tuple(values["company_recipients"])
    return EmailSettings(**values, kinds={str(k): dict(v or {}) for k, v in kinds.items()})


def _typed(value: Any, kind: type, path: Path, key: str, what: str) -> None:
    """Refuse a setting of the wrong type (``send: "false"`` would otherwise mean true)."""
    if value is not None and not isinstance(value, kind):
        raise SpmError(f"{path}: '{key}' must be {what}, got {type(value).__name__} {value!r}.")


def _addresses(value: Any, path: Path, key: str) -> None:
    """Refuse an address list that is not a list of text."""
    if value is not None and (
        not isinstance(value, list) or not all(isinstance(v, str) for v in value)
    ):
        raise SpmError(
            f"{path}: '{key}' must be a list of addresses (e.g. [\"Ann <ann@example.com>\"]), "
            f"got {value!r}."
        )


@dataclass(frozen=True)
class Recipient:
    """One address: the mailbox, the display name, and the role it was chosen for."""

    email: str
    name: str = ""
    role: str = "extra"  # rep | manager | company | extra

    @property
    def header(self) -> str:
        """``Name <addr>`` safely quoted for a header.

        Examples
        --------
        >>> print(Recipient("ann@example.com", "O'Neil & <Co>").header)
        "O'Neil & <Co>" <ann@example.com>
        """
        user, _, domain = self.email.partition("@")
        return str(Address(display_name=self.name, username=user, domain=domain))


@dataclass(frozen=True)
class Delivery:
    """One message to send: a report and its recipients.

    ``context`` holds the values the subject and sender templates may use (``team``,
    ``rep_id``, ``rep_name``, ``manager``, ``kind``, ``report_id``, ``audience``).
    """

    report_id: str
    kind: str
    audience: str  # rep | manager | company
    to: tuple[Recipient, ...]
    cc: tuple[Recipient, ...] = ()
    bcc: tuple[Recipient, ...] = ()
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Identifies this message within a run: the report and the sorted envelope addresses.

        Examples
        --------
        >>> to, cc = (Recipient("b@example.com"),), (Recipient("a@example.com"),)
        >>> Delivery("funnel__team-A", "funnel", "manager", to, cc).key
        'funnel__team-A|a@example.com,b@example.com'
        """
        rcpts = ",".join(sorted(r.email for r in (*self.to, *self.cc, *self.bcc)))
        return f"{self.report_id}|{rcpts}"

    @property
    def envelope(self) -> tuple[str, ...]:
        """Every address the server must deliver to (to, cc and bcc), without duplicates."""
        seen: dict[str, None] = {}
        for r in (*self.to, *self.cc, *self.bcc):
            seen.setdefault(r.email, None)
        return tuple(seen)


#: One mailbox as servers without SMTPUTF8 accept it: a dot-atom local part (ASCII), ``@``, and
#: a domain of at least two labels (an internationalised domain is first encoded with IDNA).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value))


def parse_email(value: Any) -> tuple[str | None, str]:
    """One email address from the data or the settings, checked: ``(address, "")``, or
    ``(None, why)`` when it is missing or not one usable address.

    Accepted: ``ann@example.com`` or ``Ann <ann@example.com>``; the address is lower-cased and
    an internationalised domain is IDNA-encoded. Refused (with the reason): empty; a line break
    or other control character (header injection); more than one address; non-ASCII characters
    before the ``@`` (most servers refuse them); anything else that is not ``local@domain.tld``.

    Examples
    --------
    >>> parse_email(" Ann <Ann@Example.com> ")
    ('ann@example.com', '')
    >>> parse_email("zoe@exämple.com")
    ('zoe@xn--exmple-cua.com', '')
    >>> parse_email("")
    (None, 'no email')
    >>> parse_email("a@b.com\\r\\nBcc: x@y.com")[1]
    'the email has a line break or control character'
    >>> parse_email("a@b.com, c@d.com")[1]
    "the email 'a@b.com, c@d.com' is not one address like name@example.com"
    """
    if _missing(value) or not str(value).strip():
        return None, "no email"
    text = str(value).strip()
    if _CONTROL.search(text):
        return None, "the email has a line break or control character"
    if "<" in text or ">" in text:
        _, addr = parseaddr(text)
        if not addr or text.count("<") != 1 or not text.endswith(">"):
            return None, f"the email {text!r} is not one address like name@example.com"
    else:
        addr = text
    local, at, domain = addr.rpartition("@")
    if at and not local.isascii():
        return None, f"the email {text!r} has non-ASCII characters before the @"
    if at and not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None, f"the email {text!r} has a domain that is not valid"
    addr = f"{local}@{domain}".lower() if at else addr
    if not _EMAIL.match(addr):
        return None, f"the email {text!r} is not one address like name@example.com"
    return addr, ""


def _clean_email(value: Any) -> str | None:
    return parse_email(value)[0]


def _name_problem(value: Any) -> str:
    """Why a display name cannot go into a header ("" when it can: missing is fine)."""
    if _missing(value):
        return ""
    return "the name has a line break or control character" if _CONTROL.search(str(value)) else ""


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value)


def _extra(values: tuple[str, ...], role: str = "extra") -> list[Recipient]:
    out = []
    for value in values:
        email, why = parse_email(value)
        if email is None or _name_problem(value):
            raise SpmError(
                f"{value!r} in the email settings is not an email address "
                f"({why or _name_problem(value)}); fix it."
            )
        out.append(Recipient(email, parseaddr(str(value))[0], role))
    return out


def read_reps(data_dir: str | Path) -> pd.DataFrame:
    """The reps table of a run's data snapshot (Parquet or CSV), typed like the data model."""
    from spmlib.io.coerce import coerce_table
    from spmlib.io.schema import empty_table

    folder = Path(data_dir)
    for ext in ("parquet", "csv"):
        f = folder / f"reps.{ext}"
        if f.exists():
            raw = pd.read_parquet(f) if ext == "parquet" else pd.read_csv(f, dtype=str)
            reps = coerce_table("reps", raw)
            for col in empty_table("reps").columns:
                if col not in reps.columns:
                    reps[col] = pd.Series(pd.NA, index=reps.index, dtype="string")
            return reps
    raise SpmError(
        f"no reps.parquet or reps.csv in {folder}; the run folder's data snapshot is missing."
    )


def _managers(reps: pd.DataFrame, skipped: list[dict[str, str]], rid: str) -> list[Recipient]:
    """The managers of ``reps`` as recipients; a manager whose email is malformed or whose name
    has a line break is left out, with the reason added to ``skipped`` for report ``rid``."""
    out: dict[str, Recipient] = {}
    for row in reps.itertuples(index=False):
        if _missing(row.manager_email) or not str(row.manager_email).strip():
            continue
        email, why = parse_email(row.manager_email)
        why = why or _name_problem(row.manager)
        if why:
            reason = f"{UNUSABLE} (manager {_one_line(row.manager) or '(no name)'}): {why}"
            if not any(s["report_id"] == rid and s["reason"] == reason for s in skipped):
                skipped.append({"report_id": rid, "reason": reason})
            continue
        if email not in out:
            out[email] = Recipient(email, _text(row.manager), "manager")
    return list(out.values())


def _one_line(value: Any) -> str:
    return " ".join(_CONTROL.sub(" ", _text(value)).split())


def _dedupe(
    to: list[Recipient], cc: list[Recipient], bcc: list[Recipient]
) -> tuple[tuple[Recipient, ...], ...]:
    seen: set[str] = set()
    lists = []
    for group in (to, cc, bcc):
        kept = []
        for r in group:
            if r.email not in seen:
                seen.add(r.email)
                kept.append(r)
        lists.append(tuple(kept))
    return tuple(lists)


def plan_deliveries(
    reports: list[dict[str, Any]], reps: pd.DataFrame, settings: EmailSettings
) -> tuple[list[Delivery], list[dict[str, str]]]:
    """The messages to send for the reports of a run, and the reports not sent (with why).

    Parameters
    ----------
    reports : the ``reports`` entries of ``manifest.json``; only ``status == "ok"`` ones are sent.
    reps : the reps table (``rep_id``, ``rep_name``, ``team``, ``email``, ``manager``,
        ``manager_email``).
    settings : the email settings.

    Returns
    -------
    (deliveries, skipped)
        ``skipped`` rows have ``report_id`` and ``reason``.

    Raises
    ------
    SpmError
        If a rep-scoped message would reach another rep (see the module docstring).
    """
    deliveries: list[Delivery] = []
    skipped: list[dict[str, str]] = []
    reps = reps.copy()
    parsed = [parse_email(v) for v in reps["email"]]
    reps["_email"] = pd.Series([e for e, _ in parsed], index=reps.index, dtype=object)
    reps["_why"] = pd.Series(
        [why or _name_problem(n) for (_, why), n in zip(parsed, reps["rep_name"], strict=True)],
        index=reps.index,
        dtype=object,
    )
    for report in reports:
        rid, kind = str(report["id"]), str(report.get("kind") or report.get("notebook", ""))
        scope = report.get("scope") or {}
        if report.get("status") != "ok":
            skipped.append({"report_id": rid, "reason": f"batch status {report.get('status')}"})
            continue
        conf = settings.kind(kind)
        if not conf["send"]:
            skipped.append({"report_id": rid, "reason": f"kind {kind} is off (send: false)"})
            continue
        extra_to, cc, bcc = _extra(conf["to"]), _extra(conf["cc"]), _extra(conf["bcc"])
        context = {"kind": kind, "report_id": rid, **{k: str(v) for k, v in scope.items()}}
        planned: list[Delivery] = []
        if "rep_id" in scope:
            row = reps[reps["rep_id"] == str(scope["rep_id"])]
            if row.empty:
                skipped.append({"report_id": rid, "reason": f"rep {scope['rep_id']} not in data"})
                continue
            rep = row.iloc[0]
            context.update(rep_name=_one_line(rep["rep_name"]), team=_text(rep["team"]))
            if not _missing(rep["manager"]):
                context["manager"] = _one_line(rep["manager"])
            if settings.rep_reports_to_rep:
                shared = _shared_email(rep, reps)
                why = rep["_why"] or shared
                if why == "no email":
                    skipped.append({"report_id": rid, "reason": "the rep has no email"})
                elif why:
                    skipped.append({"report_id": rid, "reason": f"{UNUSABLE} (the rep): {why}"})
                else:
                    own = Recipient(rep["_email"], _text(rep["rep_name"]), "rep")
                    planned.append(Delivery(rid, kind, "rep", *_dedupe([own, *extra_to], cc, bcc)))
            if settings.rep_reports_to_manager:
                managers = _managers(row, skipped, rid)
                if managers:
                    planned.append(
                        Delivery(rid, kind, "manager", *_dedupe([*managers, *extra_to], cc, bcc))
                    )
            planned = [_checked_rep_message(d, rep, reps) for d in planned]
        elif "team" in scope or "manager" in scope:
            if "team" in scope:
                members = reps[reps["team"] == str(scope["team"])]
            else:
                members = reps[reps["manager"] == str(scope["manager"])]
            managers = _managers(members, skipped, rid) if settings.team_reports_to_manager else []
            if managers or extra_to:
                planned.append(
                    Delivery(rid, kind, "manager", *_dedupe([*managers, *extra_to], cc, bcc))
                )
        else:
            company = _extra(settings.company_recipients, "company")
            if company or extra_to:
                planned.append(
                    Delivery(rid, kind, "company", *_dedupe([*company, *extra_to], cc, bcc))
                )
        if not planned:
            if not any(s["report_id"] == rid for s in skipped):
                skipped.append({"report_id": rid, "reason": "no recipient"})
            continue
        deliveries += [
            Delivery(d.report_id, d.kind, d.audience, d.to, d.cc, d.bcc, dict(context))
            for d in planned
        ]
    return deliveries, skipped


def _shared_email(rep: pd.Series, reps: pd.DataFrame) -> str:
    """Why a rep's own email cannot receive their report: it is also another rep's ("" when
    it is theirs alone). Sending would show one rep's report to another."""
    others = reps.loc[(reps["rep_id"] != rep["rep_id"]) & (reps["_email"] == rep["_email"])]
    if rep["_email"] is None or others.empty:
        return ""
    ids = ", ".join(sorted(others["rep_id"].astype(str)))
    return f"the email {rep['_email']} is also the email of rep(s) {ids}; fix reps.email"


def _checked_rep_message(delivery: Delivery, rep: pd.Series, reps: pd.DataFrame) -> Delivery:
    """Refuse a rep report whose recipients include another rep (other than the rep's manager)."""
    others = reps.loc[(reps["rep_id"] != rep["rep_id"]) & reps["_email"].notna()]
    other_emails = dict(zip(others["_email"], others["rep_id"], strict=True))
    allowed = {_clean_email(rep["manager_email"])}
    for address in delivery.envelope:
        if address in other_emails and address not in allowed:
            raise SpmError(
                f"the {delivery.kind} report of rep {rep['rep_id']} would be sent to {address}, "
                f"the email of rep {other_emails[address]}; a rep never receives another rep's "
                "report. Remove that address from params/email.yml."
            )
    return delivery


def deliveries_table(deliveries: list[Delivery]) -> pd.DataFrame:
    """One row per message.

    Columns: ``report_id``, ``kind``, ``audience``, ``to``, ``cc``, ``bcc`` (comma-separated
    addresses), ``recipients`` (number of envelope addresses).
    """
    return pd.DataFrame(
        {
            "report_id": [d.report_id for d in deliveries],
            "kind": [d.kind for d in deliveries],
            "audience": [d.audience for d in deliveries],
            "to": [", ".join(r.email for r in d.to) for d in deliveries],
            "cc": [", ".join(r.email for r in d.cc) for d in deliveries],
            "bcc": [", ".join(r.email for r in d.bcc) for d in deliveries],
            "recipients": pd.Series([len(d.envelope) for d in deliveries], dtype="int64"),
        },
        columns=["report_id", "kind", "audience", "to", "cc", "bcc", "recipients"],
    )
