"""Grades and attendance targets under a grading policy; sampled grades for data without grades.

Grades in a file may be policy codes (``1``, ``"2"``, ``"Grade 3"``, ``"G4"``) or labels: a category of the
policy (``emergency``, ``priority``, ``routine``, ``urgent``, ``scheduled``, ``appointment``,
``resolution without deployment``), a grade name (``"Emergency (rural)"``) or one of the synonyms in
:data:`LABEL_SYNONYMS`. A label that names a category with several grades (``emergency`` under
``essex-2022``: grade 1 urban, 15 min; grade 2 rural, 20 min) is resolved by the incident's urban/rural
class. An explicit code whose setting disagrees with the location's class is kept and flagged
(``grade_setting_mismatch``), never silently changed.

Sampled grades (police.uk data hold none)
-----------------------------------------
:func:`sample_grades` draws each incident's grade family (emergency / priority / routine) from the
force profile's ``[grade_mix.counts]`` for its crime type, with a seeded generator. The Essex defaults
come from Essex Police's published 2021-22 high-harm attendance counts
(:data:`PUBLISHED_HIGH_HARM_2021_22`), mapped to the broader police.uk crime types by
:data:`POLICE_UK_MIX_MAPPING`:

============================  ==============================================================
police.uk ``crime_type``      published counts used
============================  ==============================================================
Burglary                      residential burglary (police.uk also holds business burglary)
Robbery                       robbery
Violence and sexual offences  rape + sexual assault + violence with injury (summed)
Possession of weapons         robbery (weapon-enabled offences: an assumption)
anything else, incl. ASB      the profile's ``default`` mix (an assumption, not published)
============================  ==============================================================

The three families map to the policy's first three attended grade categories, in policy order
(``essex-2022``: emergency, priority, routine; ``ncmg``: emergency, urgent, priority), so the Essex
"priority" family (60 minutes) becomes NCMG "urgent" (60 minutes). Outputs must say grades were
sampled: :func:`sample_grades` sets ``grade_sampled = True`` on every row it fills.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from geo_response.config import ForceProfile, Policy
from geo_response.errors import GradingError
from geo_response.ledger import ledger_rows

#: Essex Police 2021-22 high-harm attendance counts (emergency, priority, routine), as published.
PUBLISHED_HIGH_HARM_2021_22: dict[str, tuple[int, int, int]] = {
    "residential burglary": (577, 1391, 947),
    "robbery": (395, 197, 64),
    "rape": (165, 429, 255),
    "sexual assault": (391, 759, 665),
    "violence with injury": (5844, 1473, 762),
}

#: Which published high-harm rows stand for each police.uk crime type (summed when several).
POLICE_UK_MIX_MAPPING: dict[str, tuple[str, ...]] = {
    "Burglary": ("residential burglary",),
    "Robbery": ("robbery",),
    "Violence and sexual offences": ("rape", "sexual assault", "violence with injury"),
    "Possession of weapons": ("robbery",),
}

#: Labels read as another name; each maps to the categories tried in order.
LABEL_SYNONYMS: dict[str, tuple[str, ...]] = {
    "immediate": ("emergency",),
    "urgent": ("urgent", "priority"),
    "rwd": ("resolution_without_deployment",),
    "resolution without deployment": ("resolution_without_deployment",),
    "resolved without deployment": ("resolution_without_deployment",),
    "telephone resolution": ("resolution_without_deployment",),
    "scheduled appointment": ("appointment",),
}

MIX_FAMILIES = ("emergency", "priority", "routine")
_CODE = re.compile(r"^(?:grade|g|p)?\s*(\d+)(?:\.0+)?$")


def _label(text: str) -> str:
    return " ".join(text.strip().lower().replace("_", " ").replace("-", " ").split())


def normalise_grade(value: object, policy: Policy) -> str | None:
    """Read a grade value as a policy grade code or a policy category.

    Returns
    -------
    str or None
        A grade code of the policy (``"1"``), a category of the policy (``"emergency"``), or None when
        the value is neither.

    Examples
    --------
    >>> from geo_response.config import load_profile
    >>> pol = load_profile().policy("essex-2022")
    >>> normalise_grade("Grade 2", pol), normalise_grade("Emergency", pol), normalise_grade("urgent", pol)
    ('2', 'emergency', 'priority')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = _label(str(value))
    if not text:
        return None
    codes = {g.code for g in policy.grades}
    m = _CODE.match(text)
    if m:
        code = str(int(m.group(1)))
        return code if code in codes else None
    categories = set(policy.categories)
    if text.replace(" ", "_") in categories:
        return text.replace(" ", "_")
    for g in policy.grades:
        if _label(g.name) == text or _label(g.name.replace("(", "").replace(")", "")) == text:
            return g.code
    for candidate in LABEL_SYNONYMS.get(text, ()):
        if candidate in categories:
            return candidate
    return None


def mix_categories(policy: Policy) -> tuple[str, str, str]:
    """The policy categories the mix families emergency / priority / routine map to (first 3 attended)."""
    attended = tuple(dict.fromkeys(g.category for g in policy.grades if g.attended))
    if len(attended) < 3:
        raise GradingError(
            f"policy {policy.name!r} has fewer than 3 attended grade categories ({attended}); "
            "sampled grades need emergency, priority and routine equivalents"
        )
    return attended[0], attended[1], attended[2]


def published_mix_counts() -> dict[str, tuple[int, int, int]]:
    """Counts per police.uk crime type derived from the published figures by :data:`POLICE_UK_MIX_MAPPING`."""
    out = {}
    for crime_type, rows in POLICE_UK_MIX_MAPPING.items():
        arr = np.sum([PUBLISHED_HIGH_HARM_2021_22[r] for r in rows], axis=0)
        out[crime_type] = tuple(int(x) for x in arr)
    return out


def mix_shares(profile: ForceProfile) -> pd.DataFrame:
    """The sampling mix as a table: ``crime_type, emergency, priority, routine`` (counts) and shares."""
    rows = []
    for crime_type, counts in profile.grade_mix_counts.items():
        total = float(sum(counts))
        rows.append(
            {
                "crime_type": crime_type,
                **dict(zip(MIX_FAMILIES, counts, strict=True)),
                **{f"share_{f}": c / total for f, c in zip(MIX_FAMILIES, counts, strict=True)},
            }
        )
    return pd.DataFrame(rows)


def sample_grades(
    incidents: pd.DataFrame,
    profile: ForceProfile,
    policy: Policy,
    seed: int | np.random.Generator | None = None,
    category_column: str = "category",
) -> pd.DataFrame:
    """Fill missing grades by sampling a grade family per crime type from the profile's mix (seeded).

    Parameters
    ----------
    incidents : DataFrame
        With ``category_column`` (crime type) and optionally ``grade``; rows with a grade keep it.
    profile : ForceProfile
        Supplies ``grade_mix_counts`` (emergency, priority, routine counts per crime type, plus ``default``).
    policy : Policy
        Families map to its first three attended categories (see module notes).
    seed : int or Generator, optional
        Default: the profile's ``grade_mix.seed``. One uniform draw per row, in row order.

    Returns
    -------
    DataFrame
        A copy with ``grade`` filled by category labels (resolved by :func:`assign_targets`), and
        ``grade_sampled`` (bool) True where the grade was drawn.
    """
    counts = profile.grade_mix_counts
    if not counts:
        raise GradingError(
            "the force profile has no [grade_mix.counts]; add emergency/priority/routine counts "
            "per crime type (and a 'default') to sample grades for data without grades"
        )
    families = mix_categories(policy)
    out = incidents.copy()
    if "grade" not in out.columns:
        out["grade"] = pd.NA
    need = out["grade"].isna().to_numpy()
    lookup = {_label(k): np.asarray(v, dtype=float) / float(sum(v)) for k, v in counts.items()}
    default = lookup["default"]
    cats = out[category_column] if category_column in out.columns else pd.Series(None, index=out.index)
    keys = cats.astype("string").fillna("").map(_label)
    uniq = pd.unique(keys)
    shares = np.vstack([lookup.get(k, default) for k in uniq]) if len(uniq) else np.zeros((0, 3))
    pos = pd.Index(uniq).get_indexer(keys)
    cum = np.cumsum(shares, axis=1)[pos] if len(out) else np.zeros((0, 3))
    rng = (
        seed
        if isinstance(seed, np.random.Generator)
        else np.random.default_rng(profile.grade_mix_seed if seed is None else seed)
    )
    u = rng.random(len(out))
    family = (u >= cum[:, 0]).astype(int) + (u >= cum[:, 1]).astype(int)
    labels = np.asarray(families, dtype=object)[np.minimum(family, 2)]
    grade = out["grade"].astype("object").to_numpy().copy()
    grade[need] = labels[need]
    out["grade"] = grade
    out["grade_sampled"] = need
    return out


def fill_missing_grades(
    incidents: pd.DataFrame,
    profile: ForceProfile,
    policy: Policy,
    seed: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sample grades (:func:`sample_grades`) for the incidents that have none; keep the given ones.

    Files without a grade column (police.uk) get every grade sampled; in a file with grades, rows whose grade
    cell is empty are sampled too and each gets a ledger warning, so no row is lost or silently guessed.

    Returns
    -------
    (DataFrame, DataFrame)
        The incidents with ``grade`` filled and ``grade_sampled`` (bool); ledger warnings (``grade_sampled``)
        for the sampled rows of files that otherwise had grades (empty when all or none were sampled).
    """
    given = incidents["grade"].notna() if "grade" in incidents.columns else None
    if given is not None and given.all():
        out = incidents.assign(grade_sampled=False)
    else:
        out = sample_grades(incidents, profile, policy, seed=seed)
    # warn only where a file with grades left some empty (a file without grades is said in the summary)
    partial = out[out["grade_sampled"]] if given is not None and given.any() else out.iloc[:0]
    detail = "empty grade: sampled from the crime-type mix for " + partial["category"].astype(str)
    return out, ledger_rows(partial, "grade_sampled", detail)


def _resolve(key: str, setting: object, policy: Policy) -> tuple[str, str | None, str]:
    """(grade code, flag reason or None, flag detail) for a normalised key and an urban/rural class."""
    setting = setting if setting in ("urban", "rural") else None
    codes = {g.code: g for g in policy.grades}
    if key in codes:
        g = codes[key]
        if g.setting != "any" and setting is not None and g.setting != setting:
            return (
                key,
                "grade_setting_mismatch",
                (f"grade {g.code} ({g.name}) given for a {setting} location; kept as given"),
            )
        return key, None, ""
    candidates = [g for g in policy.grades if g.category == key]
    if not candidates:
        raise GradingError(f"{key!r} is not a grade or category of policy {policy.name!r}")
    if len(candidates) == 1:
        return candidates[0].code, None, ""
    for g in candidates:
        if g.setting == setting:
            return g.code, None, ""
    anywhere = [g for g in candidates if g.setting == "any"]
    if anywhere:
        return anywhere[0].code, None, ""
    return (
        candidates[0].code,
        "no_urban_rural_class",
        (
            f"{key} has urban and rural grades but the location has no urban/rural class; used grade "
            f"{candidates[0].code}"
        ),
    )


def assign_targets(incidents: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Resolve each incident's grade under a policy and attach its target.

    Parameters
    ----------
    incidents : DataFrame
        With ``grade`` (code or label; see :func:`normalise_grade`) and, for labels whose grades depend on
        the setting, ``urban_rural`` (from :func:`geo_response.incidents.classification.classify`).
    policy : Policy

    Returns
    -------
    DataFrame
        A copy with ``grade_input`` (as given or sampled), ``grade`` (policy code), ``grade_name``,
        ``grade_category``, ``target_minutes`` (NaN for non-attended grades), ``attended`` (bool),
        ``speed_profile``, ``grade_flag`` and ``grade_flag_detail`` (warnings for the ledger).

    Raises
    ------
    GradingError
        When a row has no grade (sample them first) or a grade the policy does not know.
    """
    if "grade" not in incidents.columns or incidents["grade"].isna().any():
        n = len(incidents) if "grade" not in incidents.columns else int(incidents["grade"].isna().sum())
        raise GradingError(
            f"{n} incidents have no grade; give a grade column or call grading.sample_grades "
            "(the CLI does this automatically for files without grades)"
        )
    out = incidents.copy()
    setting = out["urban_rural"] if "urban_rural" in out.columns else pd.Series(None, index=out.index)
    raw = out["grade"].astype(str)
    keys = {v: normalise_grade(v, policy) for v in pd.unique(raw)}
    unknown = sorted(v for v, k in keys.items() if k is None)
    if unknown:
        raise GradingError(
            f"grades {unknown[:10]} are not grades of policy {policy.name!r} "
            f"(codes {[g.code for g in policy.grades]}, categories {list(policy.categories)}); "
            "load the file with this policy so such rows are rejected in the ledger"
        )
    pairs = pd.DataFrame(
        {"raw": raw.to_numpy(), "setting": setting.astype("object").where(setting.notna(), None).to_numpy()}
    )
    uniq = pairs.drop_duplicates().reset_index(drop=True)
    grades = {g.code: g for g in policy.grades}
    rows = []
    for r, s in zip(uniq["raw"], uniq["setting"], strict=True):
        code, flag, detail = _resolve(keys[r], s, policy)
        g = grades[code]
        rows.append(
            {
                "grade": code,
                "grade_name": g.name,
                "grade_category": g.category,
                "target_minutes": g.target_minutes if g.attended else np.nan,
                "attended": g.attended,
                "speed_profile": g.speed,
                "grade_flag": flag,
                "grade_flag_detail": detail,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "grade",
            "grade_name",
            "grade_category",
            "target_minutes",
            "attended",
            "speed_profile",
            "grade_flag",
            "grade_flag_detail",
        ],
    )
    pos = pd.MultiIndex.from_frame(uniq.fillna({"setting": "<none>"})).get_indexer(
        pd.MultiIndex.from_frame(pairs.fillna({"setting": "<none>"}))
    )
    picked = table.iloc[pos].reset_index(drop=True)
    out["grade_input"] = incidents["grade"].to_numpy()
    for col in table.columns:
        out[col] = picked[col].to_numpy()
    out["target_minutes"] = out["target_minutes"].astype(float)
    out["grade_flag"] = out["grade_flag"].astype(object).where(out["grade_flag"].notna(), None)
    out["attended"] = out["attended"].astype(bool)
    return out


def grade_warnings(incidents: pd.DataFrame) -> pd.DataFrame:
    """Ledger rows (status 'warning') for incidents flagged by :func:`assign_targets`."""
    flagged = incidents[incidents["grade_flag"].notna()] if "grade_flag" in incidents.columns else incidents.iloc[:0]
    return ledger_rows(flagged, flagged.get("grade_flag", ""), flagged.get("grade_flag_detail", ""))
