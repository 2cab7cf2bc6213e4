"""The tables and sentences of the quota plan report (:mod:`spmlib.reports.quota_plan`), from the
plan, its checks and the territory plans: raw values under vocabulary names
(:mod:`spmlib.reports.columns`), formatted only when shown."""

from __future__ import annotations

import pandas as pd

from spmlib.planning.allocation import QuotaPlan
from spmlib.planning.fairness import TARGET_SHARE
from spmlib.planning.territory import TerritoryPlan
from spmlib.reports.formatter import format_percent

__all__ = [
    "rep_table",
    "team_table",
    "period_table",
    "aim_sentence",
    "fairness",
    "territory_summary",
    "territory_sentence",
    "balance_table",
    "moves_table",
    "tradeoff_table",
]


def _status(row) -> str:
    if row["planned"]:
        return f"planned hire from {row['hire_date'].date()}"
    if pd.notna(row["end_date"]):
        return f"leaves {row['end_date'].date()}"
    return ""


def rep_table(reps: pd.DataFrame, simulated: pd.DataFrame) -> pd.DataFrame:
    """One row per rep of the scope: name, team, status (planned hire, leaver), last four
    quarters' bookings, territory potential, share of the year employed, quota, quota /
    potential, and the simulated chance of making quota and median attainment."""
    sim = simulated.set_index("rep_id")
    out = pd.DataFrame(
        {
            "rep_name": reps["rep_name"],
            "team": reps["team"],
            "status": reps.apply(_status, axis=1).astype("string"),
            "bookings_last_4_quarters": reps["history"],
            "potential": reps["potential"],
            "share_of_year": reps["year_share"],
            "quota": reps["quota"],
            "quota_to_potential": reps["quota"] / reps["potential"].where(reps["potential"] > 0),
            "probability_at_quota": reps["rep_id"].map(sim["p_at_quota"]).astype("float64"),
            "attainment_median": reps["rep_id"].map(sim["attainment_p50"]).astype("float64"),
        }
    )
    return out.sort_values(["team", "quota"], ascending=[True, False]).reset_index(drop=True)


def team_table(reps: pd.DataFrame) -> pd.DataFrame:
    """One row per team: reps, potential, capacity, quota, shares of the company's potential
    and quota, quota / capacity."""
    g = reps.groupby("team", observed=True)
    out = pd.DataFrame(
        {
            "reps": g.size(),
            "potential": g["potential"].sum(),
            "capacity": g["capacity"].sum(),
            "quota": g["quota"].sum(),
        }
    ).reset_index()
    out["share_of_potential"] = out["potential"] / out["potential"].sum()
    out["share_of_quota"] = out["quota"] / out["quota"].sum()
    out["quota_to_capacity"] = out["quota"] / out["capacity"]
    return out


def period_table(plan: QuotaPlan, ids: set[str]) -> pd.DataFrame:
    """The quota of ``ids`` per plan period: period start and end, quota, reps, share of the
    year."""
    rows = plan.quotas[plan.quotas["rep_id"].isin(ids)]
    out = rows.groupby(["period_start", "period_end"], as_index=False)["quota"].sum()
    out["reps"] = rows.groupby(["period_start", "period_end"])["rep_id"].nunique().to_numpy()
    out["share_of_year"] = out["quota"] / out["quota"].sum()
    return out


def aim_sentence(share: float) -> str:
    """How the expected share of reps at quota compares with the 60-70% aim."""
    lo, hi = TARGET_SHARE
    if share < lo:
        return "below the 60-70% aim: these quotas are on the hard side"
    if share > hi:
        return "above the 60-70% aim: these quotas are on the easy side"
    return "within the 60-70% aim"


def fairness(checks: dict[str, pd.DataFrame]) -> tuple[list[str], pd.DataFrame]:
    """(sentences, statistics) of the fairness checks: the Gini of quota per potential, the
    correlation of past attainment with potential (95% interval), the ratchet regression
    (p-value). ``statistics``: ``statistic``, ``estimate``, ``estimate_low``,
    ``estimate_high``, ``p_value``, ``fair_when``."""
    gini = checks["gini"].iloc[0]
    corr = checks["correlation"].iloc[0]
    rt = checks["ratchet_test"].iloc[0]
    lines, rows = [], []
    g = gini["gini_quota_per_potential"]
    if pd.notna(g):
        spread = "little" if g < 0.1 else "noticeably" if g < 0.25 else "a lot"
        lines.append(
            f"Quota per unit of territory potential varies {spread} between reps "
            f"(Gini {g:.2f} over {int(gini['reps'])} reps; 0 = every rep the same)."
        )
        rows.append(("Gini of quota / potential", g, None, None, None, "near 0"))
    if pd.notna(corr["pearson"]):
        r, lo, hi = corr["pearson"], corr["pearson_low"], corr["pearson_high"]
        ci = f"95% {lo:.2f} to {hi:.2f}" if pd.notna(lo) else "no interval under 4 reps"
        if pd.notna(lo) and lo > 0:
            reading = (
                "Reps with richer territories beat their past quotas more: past quotas did not "
                "reflect how territories differ"
            )
        elif pd.notna(hi) and hi < 0:
            reading = (
                "Reps with richer territories did worse against past quotas: those quotas "
                "over-corrected for potential"
            )
        else:
            reading = (
                "No clear link between past attainment and territory potential, as it should be"
            )
        lines.append(f"{reading} (Pearson {r:.2f}, {ci}).")
        rows.append(("Past attainment against potential (Pearson r)", r, lo, hi, None,
                     "interval holds 0"))  # fmt: skip
    if rt["transitions"]:
        verdict = "Quota ratcheting" if rt["ratchet"] else "No quota ratcheting"
        lines.append(
            f"{verdict}: past quotas rose {format_percent(rt['mean_change_after_beat'], 1)} on "
            f"average after a beat and {format_percent(rt['mean_change_after_miss'], 1)} after "
            f"a miss ({int(rt['transitions'])} year-to-year changes)."
        )
        rows.append(("Ratchet: rise after a beat minus after a miss", rt["asymmetry"], None,
                     None, rt["p_value"], "at most 0, or p at least 0.05"))  # fmt: skip
    table = pd.DataFrame(
        rows,
        columns=["statistic", "estimate", "estimate_low", "estimate_high", "p_value", "fair_when"],
    )
    for col in ("estimate", "estimate_low", "estimate_high", "p_value"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype("float64")
    return lines, table


def territory_summary(plans: dict[str, TerritoryPlan]) -> pd.DataFrame:
    """One row per team's territory plan: ``team``, ``accounts``, ``moves``, ``share_moved``,
    ``deviation_before``, ``deviation_after``, ``tightest_band``, and the solve:
    ``status``, ``solver_gap``, ``solve_seconds``."""
    rows = []
    for team, plan in plans.items():
        s = plan.summary.iloc[0]
        rows.append(
            {
                "team": team,
                "accounts": int(s["accounts"]),
                "moves": int(s["moves"]),
                "share_moved": float(s["share_moved"]),
                "deviation_before": float(s["max_deviation_before"]),
                "deviation_after": float(s["max_deviation"]),
                "tightest_band": float(s["tightest_band"]),
                "status": str(s["status"]),
                "solver_gap": float(s["gap"]),
                "solve_seconds": float(s["solve_seconds"]),
            }
        )
    return pd.DataFrame(rows)


def territory_sentence(label: str, plan: TerritoryPlan, band: float) -> str:
    """What balancing a team's territories does (``label``: the team, escaped)."""
    s = plan.summary.iloc[0]
    if s["status"] == "infeasible":
        return (
            f"Territories of {label} cannot all be brought within +-{format_percent(band)} of "
            "the mean (locked accounts); the tightest feasible band is "
            f"+-{format_percent(s['tightest_band'], 1)}."
        )
    proof = (
        "proven optimal"
        if s["status"] == "optimal"
        else f"within {format_percent(s['gap'], 2)} of the best"
    )
    return (
        f"Balancing the territories of {label} within +-{format_percent(band)} moves "
        f"{int(s['moves'])} of {int(s['accounts'])} accounts "
        f"({format_percent(s['share_moved'], 1)} of the potential, {proof}); the largest "
        f"deviation from the mean falls from {format_percent(s['max_deviation_before'])} to "
        f"{format_percent(s['max_deviation'])}."
    )


def balance_table(balance: pd.DataFrame) -> pd.DataFrame:
    """Each rep's accounts and potential before and after, as a share of the team mean, and
    the accounts moved in and out (``balance`` with a ``rep_name`` column)."""
    return balance[
        ["rep_name", "accounts_before", "accounts_after", "potential_before", "potential_after",
         "index_before", "index_after", "moved_in", "moved_out"]
    ].rename(columns={"index_before": "share_of_mean_before",
                      "index_after": "share_of_mean_after"})  # fmt: skip


def moves_table(plan: TerritoryPlan, names: pd.Series) -> pd.DataFrame:
    """The accounts that change owner, largest potential first, owners by name."""
    a = plan.assignments
    moves = a[a["moved"]].sort_values("potential", ascending=False)
    return pd.DataFrame(
        {
            "account_name": moves["account_name"],
            "potential": moves["potential"],
            "from_rep": moves["rep_id_before"].map(names),
            "to_rep": moves["rep_id_after"].map(names),
        }
    ).reset_index(drop=True)


def tradeoff_table(curve: pd.DataFrame) -> pd.DataFrame:
    """The trade-off curve for people: the limit on the potential moved, the largest deviation
    reached, the potential and accounts actually moved."""
    return curve.rename(columns={"band": "largest_deviation"})[
        ["max_share_moved", "largest_deviation", "share_moved", "moves"]
    ]
