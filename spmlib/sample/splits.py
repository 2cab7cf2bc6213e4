"""Credit splits of the sample: some deals shared with a teammate, a few with an overlay.

The model: :data:`REVENUE_SPLIT_SHARE` of the deals (any status) are co-sold with a teammate of
the owner, the owner keeping 50%, 60% or 70% of the revenue credit (revenue shares sum to 1);
:data:`OVERLAY_SHARE` of the deals of the ``Enterprise Suite`` product also give a rep of
another team an overlay credit of 50% on top (a product specialist's credit). Drawn from their
own random generator, so adding splits left every other table of the sample unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["REVENUE_SPLIT_SHARE", "OVERLAY_SHARE", "OVERLAY_PRODUCT", "generate_splits"]

#: Share of deals whose revenue credit is split with a teammate.
REVENUE_SPLIT_SHARE = 0.06
#: Share of the ``OVERLAY_PRODUCT`` deals that carry an overlay credit.
OVERLAY_SHARE = 0.10
OVERLAY_PRODUCT = "Enterprise Suite"
_OWNER_SHARES = np.array([0.5, 0.6, 0.7])


def generate_splits(seed: int, opportunities: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """The ``splits`` table: ``opp_id``, ``rep_id``, ``share``, ``type`` (see the module notes).

    Examples
    --------
    >>> reps = pd.DataFrame({"rep_id": ["a", "b", "c"], "team": ["T", "T", "U"]})
    >>> opps = pd.DataFrame({"opp_id": [f"O{i}" for i in range(200)], "rep_id": "a",
    ...     "product": "Enterprise Suite"})
    >>> s = generate_splits(1, opps, reps)
    >>> bool(s[s["type"] == "revenue"].groupby("opp_id")["share"].sum().round(9).eq(1).all())
    True
    >>> sorted(s.loc[s["type"] == "overlay", "rep_id"].unique())
    ['c']
    """
    rng = np.random.default_rng([seed, 14])
    ordered = reps.sort_values(["team", "rep_id"], kind="stable").reset_index(drop=True)
    team_code, team_names = pd.factorize(ordered["team"], sort=True)
    size = np.bincount(team_code, minlength=len(team_names))
    first = np.concatenate([[0], np.cumsum(size)[:-1]])  # first position of each team
    pos = pd.Series(np.arange(len(ordered)), index=ordered["rep_id"].to_numpy())
    owner = pos.reindex(opportunities["rep_id"].to_numpy()).to_numpy()
    known = ~np.isnan(owner)
    owner = np.nan_to_num(owner).astype(int)
    team = team_code[owner]
    n = len(opportunities)
    split = known & (rng.random(n) < REVENUE_SPLIT_SHARE) & (size[team] > 1)
    overlay = (
        known
        & (opportunities["product"].to_numpy() == OVERLAY_PRODUCT)
        & (rng.random(n) < OVERLAY_SHARE)
        & (size[team] < len(ordered))
    )
    # a teammate: a random other member of the owner's team
    k = (rng.random(n) * np.maximum(size[team] - 1, 1)).astype(int)
    mate = first[team] + k
    mate = np.where(mate >= owner, mate + 1, mate)
    # an overlay rep: a random rep outside the owner's team
    k = (rng.random(n) * np.maximum(len(ordered) - size[team], 1)).astype(int)
    other = np.where(k >= first[team], k + size[team], k)
    keep = rng.choice(_OWNER_SHARES, n)
    ids, rep_ids = opportunities["opp_id"].to_numpy(), ordered["rep_id"].to_numpy()
    parts = [
        pd.DataFrame(
            {
                "opp_id": ids[split],
                "rep_id": rep_ids[owner[split]],
                "share": keep[split],
                "type": "revenue",
            }
        ),
        pd.DataFrame(
            {
                "opp_id": ids[split],
                "rep_id": rep_ids[mate[split]],
                "share": np.round(1 - keep[split], 2),
                "type": "revenue",
            }
        ),
        pd.DataFrame(
            {
                "opp_id": ids[overlay],
                "rep_id": rep_ids[other[overlay]],
                "share": 0.5,
                "type": "overlay",
            }
        ),
    ]
    out = pd.concat(parts, ignore_index=True).sort_values(["opp_id", "type"], kind="stable")
    return out.reset_index(drop=True).astype(
        {"opp_id": "string", "rep_id": "string", "share": "float64", "type": "string"}
    )
