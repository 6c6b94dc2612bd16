"""A synthetic B2B SaaS company in tenure's canonical file formats.

Every account carries a hidden latent health (a monthly random walk in [0, 1] with a
segment-dependent drift and shocks such as a champion leaving). The latent health drives what
a real company would observe — usage depth and breadth, ticket volume and tone, CSAT, NPS and
its comments, sponsor departures, late payments, onboarding progress — and, with a lag of one to
three months, churn, contraction and expansion at renewal. Health and risk models therefore
have real signal to find; the truth is written apart (`_truth/`) for validation only.

Mutable facts have a history: each row carries `updated_at`, the main files hold every row as
first recorded, and `changes/<YYYY>-H<n>/` holds what was recorded later
(a cancellation sets an auto-renewing or add-on line's end date, often weeks after the fact; a
champion's departure is recorded days to weeks late; some users' roles are edited; a ticket is
solved), one folder per half-year. Loading the main files, then the change folders in order,
builds real versions.

The shipped at-risk save playbook has a real, known effect (`save_effect`, off by default): month
by month the simulator applies a proxy of the playbook's trigger (latent health falling below
`SAVE_RED`, the band turning red) with its audience, cooldown and exit (latent health back to
`SAVE_GREEN`), and the playbook's own stable assignment (tenure.playbooks.engine.holdout_arm, read
from the shipped file); while an account is enrolled in the treatment arm its churn probability at
each renewal decision is multiplied by 1 - save_effect. `_truth/save_play.parquet` holds, per
account and month, the renewal schedule, the untreated churn probability and the one applied, so a
test can compute the effect an experiment should find (docs/playbooks.md, Experiments).

Everything is vectorized with NumPy/Arrow (loops run over months, never over events), usage
events stream to Parquet part files month by month, and the same seed gives the same bytes.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SEGMENTS = np.array(["Enterprise", "Mid-Market", "SMB"])
SEGMENT_SHARE = [0.10, 0.30, 0.60]
ACV_MEDIAN = np.array([120_000.0, 25_000.0, 4_000.0])
SEATS_MEDIAN = np.array([150.0, 35.0, 8.0])
REGIONS = np.array(["NA", "EMEA", "APAC", "LATAM"])
# Where contacts of each region live: (IANA time zone, BCP 47 locale, share), per REGIONS entry.
SITES = (
    (("America/New_York", "en-US", .34), ("America/Chicago", "en-US", .24), ("America/Denver", "en-US", .08),
     ("America/Los_Angeles", "en-US", .22), ("America/Toronto", "en-CA", .08), ("America/Toronto", "fr-CA", .04)),
    (("Europe/London", "en-GB", .25), ("Europe/Berlin", "de-DE", .20), ("Europe/Paris", "fr-FR", .15),
     ("Europe/Amsterdam", "nl-NL", .08), ("Europe/Madrid", "es-ES", .07), ("Europe/Stockholm", "sv-SE", .05),
     ("Europe/Zurich", "de-CH", .05), ("Europe/Dublin", "en-IE", .05), ("Africa/Johannesburg", "en-ZA", .06),
     ("Asia/Dubai", "ar-AE", .04)),
    (("Asia/Tokyo", "ja-JP", .20), ("Australia/Sydney", "en-AU", .20), ("Asia/Singapore", "en-SG", .15),
     ("Asia/Kolkata", "en-IN", .20), ("Asia/Shanghai", "zh-CN", .10), ("Asia/Seoul", "ko-KR", .08),
     ("Pacific/Auckland", "en-NZ", .07)),
    (("America/Sao_Paulo", "pt-BR", .45), ("America/Mexico_City", "es-MX", .30),
     ("America/Argentina/Buenos_Aires", "es-AR", .15), ("America/Bogota", "es-CO", .10)),
)
INDUSTRIES = np.array(["Software", "Financial Services", "Healthcare", "Retail", "Manufacturing", "Media",
                       "Education", "Logistics"])
FEATURES = np.array(["login", "dashboard_view", "report_run", "report_export", "alert_create", "integration_sync",
                     "api_call", "workflow_run", "search", "comment", "share", "admin_settings", "sso_login",
                     "data_import", "forecast_view", "playbook_run"])
WORDS_A = np.array(["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Soylent",
                    "Hooli", "Vandelay", "Massive", "Aperture", "Gringotts", "Wonka", "Oceanic", "Nakatomi",
                    "Pied", "Duff", "Monarch"])
WORDS_B = np.array(["Labs", "Systems", "Dynamics", "Works", "Logistics", "Health", "Retail", "Capital", "Media",
                    "Robotics", "Foods", "Energy", "Analytics", "Networks", "Studios"])

NEG_TICKET = ["Dashboard keeps crashing", "Export is broken again", "Very frustrated with sync failures",
              "Data is wrong in reports", "Urgent: integration down", "Still waiting on a fix"]
NEG_BODY = ["This is unacceptable, we have lost hours because of this bug.",
            "The product is too slow and the team is frustrated.",
            "Nothing works after the last update, this is terrible.",
            "We are disappointed with how long this is taking."]
POS_TICKET = ["Question about report settings", "How do I add a user", "Feature request: more filters",
              "Help configuring SSO", "Quick question on exports"]
POS_BODY = ["Thanks for the great help last time, just a quick question.",
            "Loving the new dashboards, could you help us set up one more?",
            "Everything works well, we would like to learn an advanced feature.",
            "Great product, small question about permissions."]
NPS_DETRACTOR = ["Too many bugs and support is slow.", "Hard to use, adoption is poor.",
                 "Not worth the price for us.", "Missing features we need, considering alternatives."]
NPS_PASSIVE = ["Decent tool, some rough edges.", "Does the job.", "Okay, reporting could be better."]
NPS_PROMOTER = ["Love it, the team uses it every day.", "Excellent support and a great product.",
                "Indispensable for our customer team.", "Great value, highly recommend."]
# CSM names (fictional), picked by the CSM's number so a CSM keeps its name across seeds and sizes
CSM_FIRST = np.array(["Dana", "Luis", "Priya", "Tom", "Aiko", "Marta", "Kwame", "Sofia", "Ben", "Ines", "Ravi",
                      "Chloe", "Omar", "Hanna", "Jonas", "Maya", "Felix", "Zara", "Noah", "Elena", "Sam", "Lea"])
CSM_LAST = np.array(["Whitfield", "Moreno", "Raman", "Becker", "Tanaka", "Kowalski", "Mensah", "Rossi", "Carter",
                     "Silva", "Iyer", "Martin", "Haddad", "Berg", "Vogel", "Cohen", "Novak", "Ali", "Park",
                     "Petrova", "Okafor", "Dubois", "Lund"])
# The at-risk save play's proxy in latent health: red below SAVE_RED (half the accounts scored
# at latent 0.25 are in the default scorecard's red band, half at 0.6 in its green one), green again
# at SAVE_GREEN; restarts at least SAVE_COOLDOWN
# months apart (the playbook's 60-day cooldown); audience ARR >= SAVE_MIN_ARR.
SAVE_RED, SAVE_GREEN, SAVE_COOLDOWN, SAVE_MIN_ARR = 0.25, 0.6, 2, 1000.0
SAVE_PLAYBOOK = "at_risk_save.yaml"
CHURN_CATEGORIES = np.array(["poor_adoption", "product_gap", "champion_left", "price", "budget", "competitor"])


@dataclass
class SimulationSummary:
    out_dir: Path
    accounts: int
    months: int
    seed: int
    start: date
    end: date
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


Progress = Callable[[int, int, str], None]


def _month_start(base: np.datetime64, m: np.ndarray | int) -> np.ndarray:
    return (base + np.asarray(m, dtype="timedelta64[M]")).astype("datetime64[D]")


def _ids(prefix: str, idx: np.ndarray, width: int = 6) -> pa.Array:
    """prefix + zero-padded numbers, vectorized."""
    nums = pc.utf8_lpad(pa.array(idx.astype(np.int64)).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), nums, "")


def _write_csv(path: Path, table: pa.Table) -> int:
    import pyarrow.csv as pacsv

    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="needed"))
    return table.num_rows


def _date_str(d: np.ndarray) -> pa.Array:
    arr = pa.array(d.astype("datetime64[D]"))
    return arr.cast(pa.string())


def _ts_str(ts: np.ndarray) -> pa.Array:
    arr = pa.array(ts.astype("datetime64[s]"))
    return pc.binary_join_element_wise(pc.replace_substring(arr.cast(pa.string()), " ", "T"), pa.scalar("Z"), "")


DAY = np.timedelta64(86400, "s")
HOUR = np.timedelta64(3600, "s")


def _half_years(ts: np.ndarray) -> np.ndarray:
    """'YYYY-H1' or 'YYYY-H2' of each instant."""
    months = ts.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return np.char.add(np.char.add((1970 + months // 12).astype(str), "-H"), (months % 12 // 6 + 1).astype(str))


def _write_changes(out: Path, name: str, rows: pa.Table, when: np.ndarray) -> int:
    """Rows recorded later, one file per half-year of their `updated_at` (changes/<YYYY-Hn>/<name>.csv),
    each sorted by updated_at."""
    if not rows.num_rows:
        return 0
    period = _half_years(when)
    order = np.argsort(when, kind="stable")
    for q in np.unique(period):
        pick = order[period[order] == q]
        folder = out / "changes" / str(q)
        folder.mkdir(parents=True, exist_ok=True)
        _write_csv(folder / f"{name}.csv", rows.take(pa.array(pick)))
    return rows.num_rows


def change_folders(company: str | Path) -> list[Path]:
    """The change folders of a simulated company, oldest first (the order to load them in)."""
    root = Path(company) / "changes"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []


def _contact_sites(rng: np.random.Generator, region: np.ndarray, ci: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Each contact's time zone and locale: most work at their account's site (drawn from its
    region's SITES), one in five elsewhere in the region, and 4% have none recorded. Its own
    random stream (`rng`), so the rest of the company is the same as without these columns."""
    zones = np.array([z for sites in SITES for z, _, _ in sites])
    locales = np.array([loc for sites in SITES for _, loc, _ in sites])
    first = np.cumsum([0, *(len(s) for s in SITES)])[:-1]
    cum = [np.cumsum([w for _, _, w in sites]) / sum(w for _, _, w in sites) for sites in SITES]

    def draw(reg: np.ndarray) -> np.ndarray:  # a site index of each row's region, by share
        u = rng.random(reg.size)
        out = np.empty(reg.size, np.int64)
        for r, c in enumerate(cum):
            m = reg == r
            out[m] = first[r] + np.minimum(np.searchsorted(c, u[m], side="right"), len(c) - 1)
        return out

    home = draw(region)[ci]
    away = draw(region[ci])
    site = np.where(rng.random(ci.size) < 0.8, home, away)
    missing = rng.random(ci.size) < 0.04
    return (pa.array(np.where(missing, None, zones[site]), pa.string()),
            pa.array(np.where(missing, None, locales[site]), pa.string()))


def _save_playbook():
    """The shipped at-risk save playbook (its name, holdout and salt decide the arms)."""
    from tenure.playbooks.spec import load_file

    return load_file(Path(__file__).parents[1] / "playbooks" / "library" / SAVE_PLAYBOOK)


def _arms(pb, account_ids: list[str]) -> np.ndarray:
    """1 treatment / 2 holdout by the engine's own stable hash (once per account, when it first fires)."""
    from tenure.playbooks.engine import holdout_arm

    return np.array([1 if holdout_arm(pb, a) == "treatment" else 2 for a in account_ids], np.int8)


def simulate_company(out_dir: str | Path, accounts: int = 2000, months: int = 36, seed: int = 7,
                     end: date = date(2026, 10, 31), progress: Progress | None = None,
                     save_effect: float = 0.0) -> SimulationSummary:
    """Write a synthetic company into out_dir; see the module docstring and docs/simulator.md.
    `save_effect` (0 to 1): the relative cut in the churn probability of accounts the at-risk save
    playbook treats, while they are enrolled (0: no effect; the company is the same either way
    until a treated account is saved)."""
    if not 0.0 <= save_effect <= 1.0:
        from tenure.errors import InputError

        raise InputError(f"save_effect {save_effect!r} must be between 0 and 1 (a share of the churn probability)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n, M = int(accounts), int(months)
    end_month = np.datetime64(end, "M")
    base = end_month - np.timedelta64(M - 1, "M")  # first month of the window
    window_start = base.astype("datetime64[D]")
    window_end = np.datetime64(end, "D")
    last_instant = window_end.astype("datetime64[s]") + 23 * HOUR
    # when changes were recorded: a stream of its own, so the company itself is as before
    rec = np.random.default_rng([seed, 1])
    if (out / "changes").exists():
        shutil.rmtree(out / "changes")
    changed_rows = 0
    summary = SimulationSummary(out, n, M, seed, window_start.astype(date), end)
    step = progress or (lambda advance, total, description: None)
    total_steps = M + 8
    idx = np.arange(n)
    acct_ids = _ids("ACC", idx)

    # --- accounts ------------------------------------------------------------------------
    seg = rng.choice(3, size=n, p=SEGMENT_SHARE)
    pre_window = rng.random(n) < 0.35
    acq = np.where(pre_window, -rng.integers(1, 37, n), rng.integers(0, M, n))
    region = rng.choice(len(REGIONS), n, p=[0.5, 0.3, 0.15, 0.05])
    industry = rng.integers(0, len(INDUSTRIES), n)
    n_csm = max(3, n // 60)
    owner = rng.integers(1, n_csm + 1, n)
    currency = rng.choice(np.array(["USD", "EUR", "GBP"]), n, p=[0.9, 0.06, 0.04])
    currency = np.where(region == 1, currency, "USD")
    seats = np.maximum(1, np.round(SEATS_MEDIAN[seg] * rng.lognormal(0, 0.5, n))).astype(np.int64)
    acv = np.round(ACV_MEDIAN[seg] * rng.lognormal(0, 0.45, n), -1)
    term = np.where(seg == 2, np.where(rng.random(n) < 0.7, 1, 12),
                    np.where(seg == 1, np.where(rng.random(n) < 0.1, 24, 12),
                             rng.choice(np.array([12, 24, 36]), n, p=[0.6, 0.25, 0.15])))
    tier = np.array(["high", "mid", "tech"])[seg]
    employees = np.round(np.array([5000, 600, 60])[seg] * rng.lognormal(0, 0.6, n)).astype(np.int64)
    plan = np.array(["Enterprise", "Growth", "Starter"])[seg]
    name_a = WORDS_A[rng.integers(0, len(WORDS_A), n)]
    name_b = WORDS_B[rng.integers(0, len(WORDS_B), n)]
    names = pc.binary_join_element_wise(pa.array(name_a), pa.array(name_b), pc.cast(pa.array(idx), pa.string()), " ")
    slug = pc.utf8_lower(pc.binary_join_element_wise(pa.array(name_a), pa.array(name_b),
                                                      pc.cast(pa.array(idx), pa.string()), ""))
    domains = pc.binary_join_element_wise(slug, pa.scalar(".com"), "")
    if n >= 10:  # two master accounts share a domain (a subsidiary): identity resolution must not guess
        dl = domains.to_pylist()
        dl[1] = dl[0]
        domains = pa.array(dl)
    created = _month_start(base, acq) + rng.integers(0, 20, n).astype("timedelta64[D]")

    # --- latent health and the contract process, month by month -----------------------------
    drift = np.array([0.004, 0.0, -0.006])[seg]
    h = np.clip(rng.beta(np.array([6.0, 5.0, 4.0])[seg], 2.6), 0.03, 0.97)
    latent = np.zeros((n, M))
    champion_left = np.full(n, -1)  # month index of the last champion departure
    active = pre_window.copy()
    ever = pre_window.copy()
    arr = np.where(active, acv, 0.0)
    # pre-window accounts: current line started at the latest renewal on or before month 0
    line_start = np.where(pre_window, acq + ((0 - acq) // term) * term, 0)
    line_start = np.where(pre_window & (term == 1), acq, line_start)
    line_no = np.zeros(n, dtype=np.int64)
    churn_month = np.full(n, -1)
    react_month = np.full(n, -1)
    addon_on = np.zeros(n, bool)
    addon_start = np.zeros(n, dtype=np.int64)
    addon_arr = np.zeros(n)
    lines: list[dict[str, np.ndarray]] = []
    opps: list[dict[str, np.ndarray]] = []
    churn_rows: list[dict[str, np.ndarray]] = []
    cause = np.full(n, "", dtype=object)
    # the at-risk save play (see the module docstring): enrolment state and the truth it leaves
    saving = np.zeros(n, bool)        # enrolled by the proxy trigger, until green again
    save_last = np.full(n, -10_000)   # month of the last start (cooldown)
    save_arm = np.zeros(n, np.int8)   # 0 unknown, 1 treatment, 2 holdout (hashed when first fired)
    save_pb = _save_playbook() if save_effect > 0 else None
    due_kept = np.zeros((n, M), bool)  # a renewal decision this month if the account were still a customer
    p_base = np.zeros((n, M), np.float32)
    p_used = np.zeros((n, M), np.float32)

    def emit(mask: np.ndarray, start_m, end_m, amount, product: str, open_end: bool = False) -> None:
        if not mask.any():
            return
        i = idx[mask]
        s = np.broadcast_to(start_m, (n,))[mask]
        e = np.broadcast_to(end_m, (n,))[mask]
        lines.append({"i": i, "no": line_no[mask].copy(), "start": s, "end": e, "arr": np.broadcast_to(amount, (n,))[mask],
                      "product": np.full(i.size, product), "open": np.full(i.size, open_end)})
        line_no[mask] += 1

    usage_dir = out / "usage_events"
    usage_dir.mkdir(exist_ok=True)
    for old in usage_dir.glob("part-*.parquet"):
        old.unlink()
    usage_schema = pa.schema([("account_id", pa.string()), ("user_id", pa.string()), ("ts", pa.timestamp("us")),
                              ("feature", pa.string()), ("quantity", pa.float64())])
    writer = None
    part = -1
    event_rows = 0
    ticket_parts, survey_parts, activity_parts = [], [], []
    invite_parts = []  # every active account is invited to each NPS wave; those asked above answer

    for m in range(M):
        # latent health walk with shocks
        shock = (rng.random(n) < 0.015) & (acq < m)
        champion_left = np.where(shock, m, champion_left)
        h = np.clip(h + drift + rng.normal(0, 0.05, n) - np.where(shock, 0.22, 0.0)
                    + np.where(rng.random(n) < 0.01, 0.15, 0.0), 0.02, 0.98)
        latent[:, m] = h
        lag = np.clip(m - rng.integers(1, 4, n), 0, M - 1)
        h_lag = latent[idx, np.minimum(lag, m)]
        month_start = _month_start(base, m)

        # new accounts and reactivations
        new = (acq == m) & ~active
        react = (react_month == m) & ~active
        start_now = new | react
        arr = np.where(new, acv, arr)
        arr = np.where(react, np.round(acv * rng.uniform(0.6, 1.0, n), -1), arr)
        active |= start_now
        ever |= start_now
        line_start = np.where(start_now, m, line_start)
        opps.append({"i": idx[new], "kind": np.full(new.sum(), "new"), "amount": arr[new],
                     "close": np.full(new.sum(), m), "status": np.full(new.sum(), "won")})

        # renewal decisions at term boundaries (monthly terms decide every month)
        due = active & ~start_now & ((m - line_start) % term == 0) & (m > line_start)
        base_p = np.where(term == 1, 0.012, 0.09)
        logit = np.log(base_p / (1 - base_p)) + 7.0 * (0.55 - h_lag) + np.where(champion_left >= m - 3, 0.8, 0)
        p_churn = 1 / (1 + np.exp(-logit))
        p_base[:, m] = p_churn
        due_kept[:, m] = ((m - line_start) % term == 0) & (m > line_start)
        p_churn = np.where(saving & (save_arm == 1), p_churn * (1.0 - save_effect), p_churn)
        p_used[:, m] = p_churn
        churn = due & (rng.random(n) < p_churn)
        up = due & ~churn & (h_lag > 0.65) & (rng.random(n) < np.where(term == 1, 0.02, 0.45))
        down = due & ~churn & (h_lag < 0.45) & (rng.random(n) < np.where(term == 1, 0.02, 0.35))
        change = np.where(up, rng.uniform(0.08, 0.4, n), np.where(down, -rng.uniform(0.1, 0.4, n), 0.0))
        # close the current line of churned, changed and (for terms > 1) every renewed account
        closing = churn | up | down | (due & (term > 1))
        emit(closing, line_start, m, arr, "platform")
        renew_opp = due & (term > 1)
        new_arr = np.round(arr * (1 + change), -1)
        opps.append({"i": idx[renew_opp], "kind": np.full(renew_opp.sum(), "renewal"),
                     "amount": np.where(churn, arr, new_arr)[renew_opp], "close": np.full(renew_opp.sum(), m),
                     "status": np.where(churn, "lost", "won")[renew_opp]})
        emit(churn & addon_on, addon_start, m, addon_arr, "addon")
        addon_on &= ~churn
        arr = np.where(churn, 0.0, np.where(closing, new_arr, arr))
        line_start = np.where(closing & ~churn, m, line_start)
        active &= ~churn
        churn_month = np.where(churn, m, churn_month)
        cause = np.where(churn, np.where(champion_left >= m - 4, "champion_left",
                                         np.where(h_lag < 0.3, "poor_adoption", "other")), cause)
        react_month = np.where(churn & (rng.random(n) < 0.08), m + rng.integers(3, 13, n), react_month)
        # mid-term expansion: an add-on line for healthy larger accounts
        add = active & ~addon_on & (seg < 2) & (h > 0.6) & (rng.random(n) < 0.01)
        addon_on |= add
        addon_start = np.where(add, m, addon_start)
        addon_arr = np.where(add, np.round(arr * rng.uniform(0.1, 0.3, n), -1), addon_arr)
        opps.append({"i": idx[add], "kind": np.full(add.sum(), "expansion"), "amount": addon_arr[add],
                     "close": np.full(add.sum(), m), "status": np.full(add.sum(), "won")})

        # the save play's proxy trigger on this month's health; it acts from next month's decisions
        prev = latent[:, m - 1] if m else h
        saving &= h < SAVE_GREEN
        start_save = (active & (arr >= SAVE_MIN_ARR) & (h < SAVE_RED) & ((prev >= SAVE_RED) | (m == 0))
                      & ~saving & (m - save_last >= SAVE_COOLDOWN))
        saving |= start_save
        save_last = np.where(start_save, m, save_last)
        if save_pb is not None:
            new_arm = start_save & (save_arm == 0)
            save_arm[new_arm] = _arms(save_pb, acct_ids.filter(pa.array(new_arm)).to_pylist())

        # --- usage events of the month (streamed) --------------------------------------------
        season = 0.75 if month_start.astype(object).month == 12 else 1.0
        adoption = 0.15 + 0.75 * h
        users = np.where(active, np.maximum(1, rng.binomial(np.minimum(seats, 40), adoption)), 0)
        lam = (1.0 + 5.0 * h) * season
        n_ev = np.where(active, rng.poisson(users * lam), 0)
        tot = int(n_ev.sum())
        if tot:
            ai = np.repeat(idx, n_ev)
            uk = (rng.random(tot) * np.repeat(users, n_ev)).astype(np.int64)
            breadth = np.repeat(np.clip(np.round(2 + 14 * h), 2, len(FEATURES)).astype(np.int64), n_ev)
            fk = np.minimum((breadth * rng.random(tot) ** 1.6).astype(np.int64), len(FEATURES) - 1)
            days_in = (_month_start(base, m + 1) - month_start).astype(np.int64)
            secs = (rng.random(tot) * days_in * 86400).astype("timedelta64[s]")
            ts = month_start.astype("datetime64[s]") + secs
            order = np.lexsort((ts, ai))
            aid = acct_ids.take(pa.array(ai[order]))
            uid = pc.binary_join_element_wise(aid, pc.cast(pa.array(uk[order]), pa.string()), "-u")
            feat = pa.DictionaryArray.from_arrays(pa.array(fk[order].astype(np.int32)), pa.array(FEATURES))
            batch = pa.table({"account_id": aid, "user_id": uid, "ts": pa.array(ts[order].astype("datetime64[us]")),
                              "feature": feat.cast(pa.string()), "quantity": pa.array(np.ones(tot))},
                             schema=usage_schema)
            if m // 12 != part:
                if writer is not None:
                    writer.close()
                part = m // 12
                writer = pq.ParquetWriter(usage_dir / f"part-{part:05d}.parquet", usage_schema, compression="zstd")
            writer.write_table(batch, row_group_size=1_000_000)
            event_rows += tot

        # --- tickets of the month ---------------------------------------------------------------
        t_lam = np.array([1.6, 0.7, 0.25])[seg] * (1.6 - h)
        n_t = np.where(active, rng.poisson(t_lam), 0)
        tt = int(n_t.sum())
        if tt:
            ti = np.repeat(idx, n_t)
            th = np.repeat(h, n_t)
            neg = rng.random(tt) < (0.85 - th)
            opened = month_start.astype("datetime64[s]") + (rng.random(tt) * 27 * 86400).astype("timedelta64[s]")
            pr = np.where(neg & (rng.random(tt) < 0.5), np.where(rng.random(tt) < 0.4, 3, 2),
                          np.where(rng.random(tt) < 0.7, 1, 0))
            csat = np.clip(np.round(1 + 4 * th + rng.normal(0, 0.8, tt) - neg * 0.8), 1, 5)
            ticket_parts.append({"i": ti, "opened": opened, "neg": neg, "prio": pr, "csat": csat,
                                 "resp": rng.exponential(4 + 10 * neg, tt), "res": rng.exponential(30 + 60 * neg, tt),
                                 "esc": neg & (pr >= 2) & (rng.random(tt) < 0.4),
                                 "subj": rng.integers(0, 1000, tt), "body": rng.integers(0, 1000, tt),
                                 "has_csat": rng.random(tt) < 0.45})
        # --- NPS (quarterly sample) and activities ----------------------------------------------
        if m % 3 == 1:
            ask = active & (rng.random(n) < 0.45)
            k = int(ask.sum())
            score = np.clip(np.round(11 * latent[ask, max(0, m - 1)] - 0.5 + rng.normal(0, 1.6, k)), 0, 10)
            survey_parts.append({"i": idx[ask], "score": score, "m": np.full(k, m),
                                 "day": rng.integers(0, 27, k), "c": rng.integers(0, 1000, k)})
            invite_parts.append({"i": idx[active], "m": np.full(int(active.sum()), m)})  # no draws: same data
        a_lam = np.array([2.0, 0.8, 0.2])[seg] * (0.5 + h)
        n_a = np.where(active, rng.poisson(a_lam), 0)
        ta = int(n_a.sum())
        if ta:
            ai2 = np.repeat(idx, n_a)
            kinds = np.array(["call", "email", "meeting", "qbr", "ebr", "training"])
            kk = rng.choice(len(kinds), ta, p=[0.3, 0.3, 0.2, 0.1, 0.05, 0.05])
            with_exec = (kk >= 3) & (rng.random(ta) < np.repeat(h, n_a))
            activity_parts.append({"i": ai2, "kind": kinds[kk], "with_exec": with_exec,
                                   "at": month_start.astype("datetime64[s]") + (rng.random(ta) * 27 * 86400)
                                   .astype("timedelta64[s]")})
        step(1, total_steps, f"simulating month {m + 1}/{M}")
    if writer is not None:
        writer.close()
    summary.rows["usage_events"] = event_rows
    summary.files["usage_events"] = str(usage_dir)

    # open lines at the end of the window
    emit(active, line_start, np.where(term == 1, -10_000, line_start + term), arr, "platform", open_end=True)
    lines[-1]["open"] = term[active] == 1
    emit(addon_on, addon_start, -10_000, addon_arr, "addon", open_end=True)

    # --- contract_lines.csv ----------------------------------------------------------------------
    L = {k: np.concatenate([x[k] for x in lines]) for k in lines[0]}
    li = L["i"]
    start_d = _month_start(base, L["start"])
    end_d = _month_start(base, L["end"]) - np.timedelta64(1, "D")
    end_s = _date_str(end_d)
    end_s = pc.if_else(pa.array(L["open"]), pa.scalar(None, pa.string()), end_s)
    line_tbl = pa.table({
        "line_id": pc.binary_join_element_wise(acct_ids.take(pa.array(li)), pc.cast(pa.array(L["no"]), pa.string()), "-L"),
        "account_id": acct_ids.take(pa.array(li)),
        "product": pa.array(L["product"]),
        "plan": pa.array(plan[li]),
        "start_date": _date_str(start_d),
        "end_date": end_s,
        "arr": pa.array(L["arr"]),
        "currency": pa.array(currency[li]),
        "quantity": pa.array(np.where(L["product"] == "platform", seats[li], 0)),
        "billing_period": pa.array(np.where(term[li] == 1, "monthly", np.where(term[li] == 12, "annual", "multi_year"))),
        "auto_renew": pa.array(term[li] == 1),
    })
    # an auto-renewing or add-on line has no end date when signed; its end is written when it is
    # cancelled, recorded from ~3 weeks before to ~3 weeks after the last day of service
    cancelled = ~L["open"] & ((term[li] == 1) | (L["product"] == "addon"))
    signed = start_d.astype("datetime64[s]") - rec.integers(1, 21, li.size) * DAY + 10 * HOUR
    recorded = (end_d.astype("datetime64[s]") + rec.integers(-20, 22, li.size) * DAY + 14 * HOUR)
    recorded = np.minimum(np.maximum(recorded, signed + DAY), last_instant)
    first = line_tbl.set_column(line_tbl.column_names.index("end_date"), "end_date",
                                pc.if_else(pa.array(cancelled), pa.scalar(None, pa.string()), line_tbl["end_date"]))
    summary.rows["contract_lines"] = _write_csv(out / "contract_lines.csv",
                                                first.append_column("updated_at", _ts_str(signed)))
    final = line_tbl.append_column("updated_at", _ts_str(recorded)).filter(pa.array(cancelled))
    changed_rows += _write_changes(out, "contract_lines", final, recorded[cancelled])
    step(1, total_steps, "contracts")

    # --- accounts.csv (+ custom attributes) ----------------------------------------------------
    zendesk_org = rng.random(n) < 0.15
    acc_tbl = pa.table({
        "account_id": acct_ids, "name": names, "domain": domains, "segment": pa.array(SEGMENTS[seg]),
        "region": pa.array(REGIONS[region]), "industry": pa.array(INDUSTRIES[industry]),
        "owner": pc.utf8_lpad(pc.cast(pa.array(owner), pa.string()), 2, "0"),
        "created_at": _date_str(created), "tier": pa.array(tier),
        "employees": pa.array(employees), "plan": pa.array(plan),
    })
    acc_tbl = acc_tbl.set_column(6, "owner", pc.binary_join_element_wise(pa.scalar("csm"), acc_tbl["owner"], ""))
    k = owner - 1  # the CSM's number from 0: distinct first names, then distinct pairs
    owner_name = np.char.add(np.char.add(CSM_FIRST[k % len(CSM_FIRST)], " "), CSM_LAST[(k * 7) % len(CSM_LAST)])
    acc_tbl = acc_tbl.add_column(7, "owner_name", pa.array(owner_name.astype(str)))
    # accounts only appear once they exist within or before the window; recorded before they sign
    acc_known = (np.minimum(created, _month_start(base, acq)).astype("datetime64[s]")
                 - rec.integers(3, 15, n) * DAY + 9 * HOUR)
    acc_tbl = acc_tbl.append_column("updated_at", _ts_str(acc_known))
    summary.rows["accounts"] = _write_csv(out / "accounts.csv", acc_tbl)

    # --- contacts.csv: sponsor, champion (with departures), users, billing -----------------------
    roles, ci, a_from, a_to = [], [], [], []
    for role, count in (("exec_sponsor", 1), ("champion", 1), ("billing", 1), ("user", 2)):
        ci.append(np.repeat(idx, count))
        roles.append(np.full(n * count, role))
        a_from.append(np.repeat(created, count))
        a_to.append(np.full(n * count, np.datetime64("NaT"), dtype="datetime64[D]"))
    left = champion_left >= 0
    gone = _month_start(base, np.maximum(champion_left, 0)) + np.timedelta64(5, "D")
    a_to[1] = np.where(left, gone, a_to[1])
    ci.append(idx[left])
    roles.append(np.full(left.sum(), "champion"))
    a_from.append((gone + np.timedelta64(30, "D"))[left])
    a_to.append(np.full(left.sum(), np.datetime64("NaT"), dtype="datetime64[D]"))
    ci_all = np.concatenate(ci)
    cid = _ids("CON", np.arange(ci_all.size), 7)
    to_all = np.concatenate(a_to)
    cdom = domains.take(pa.array(ci_all))
    contacts = pa.table({
        "contact_id": cid, "account_id": acct_ids.take(pa.array(ci_all)),
        "email": pc.binary_join_element_wise(pc.utf8_lower(cid), cdom, "@"),
        "name": pc.binary_join_element_wise(pa.scalar("Contact"), pc.cast(pa.array(np.arange(ci_all.size)), pa.string()), " "),
        "title": pa.array(np.concatenate(roles)), "role": pa.array(np.concatenate(roles)),
        "active_from": _date_str(np.concatenate(a_from)),
        "active_to": pa.array(to_all.astype("datetime64[D]"), pa.date32()).cast(pa.string()),
    })
    contacts = contacts.set_column(4, "title", pc.replace_substring(contacts["title"], "_", " "))
    tz, loc = _contact_sites(np.random.default_rng([seed, 2]), region, ci_all)
    contacts = contacts.append_column("timezone", tz).append_column("locale", loc)
    # recorded when they start; a departure is recorded 1-45 days late; some users' roles are edited
    from_all = np.concatenate(a_from)
    c_known = from_all.astype("datetime64[s]") + 9 * HOUR
    left_c = ~np.isnat(to_all)
    c_left_at = np.minimum(np.maximum(to_all.astype("datetime64[s]") + rec.integers(1, 46, ci_all.size) * DAY
                                      + 11 * HOUR, c_known + DAY), last_instant)
    edit_at = c_known + rec.integers(30, 400, ci_all.size) * DAY
    edited = ((np.concatenate(roles) == "user") & (rec.random(ci_all.size) < 0.15) & (edit_at <= last_instant)
              & (edit_at >= window_start.astype("datetime64[s]")))
    role_col = contacts.column_names.index("role")
    to_col = contacts.column_names.index("active_to")
    current = contacts.set_column(role_col, "role", pc.if_else(pa.array(edited), pa.scalar("admin"), contacts["role"]))
    first = contacts.set_column(to_col, "active_to", pa.nulls(ci_all.size, pa.string()))
    summary.rows["contacts"] = _write_csv(out / "contacts.csv", first.append_column("updated_at", _ts_str(c_known)))
    when = np.where(left_c, c_left_at, edit_at)
    later = left_c | edited
    changed_rows += _write_changes(out, "contacts", current.append_column("updated_at", _ts_str(when)).filter(
        pa.array(later)), when[later])
    step(1, total_steps, "contacts")

    # --- invoices.csv: one per billing period of each line within the window --------------------
    n_per = np.where(term[li] == 1, 1, 12)
    stop = np.where(L["open"], M, np.minimum(L["end"], M))
    first = np.maximum(L["start"], np.where(L["start"] < 0, L["start"] + ((0 - L["start"]) // n_per) * n_per, L["start"]))
    count = np.maximum(0, (stop - first + n_per - 1) // n_per)
    inv_line = np.repeat(np.arange(li.size), count)
    k = np.arange(inv_line.size) - np.repeat(np.cumsum(count) - count, count)
    inv_m = first[inv_line] + k * n_per[inv_line]
    keep = (inv_m >= 0) & (inv_m < M)
    inv_line, inv_m = inv_line[keep], inv_m[keep]
    ia = li[inv_line]
    issued = _month_start(base, inv_m)
    due_d = issued + np.timedelta64(30, "D")
    hh = latent[ia, np.clip(inv_m, 0, M - 1)]
    late = rng.random(ia.size) < np.clip(0.45 - 0.6 * hh, 0.02, 0.6)
    pay_days = np.where(late, rng.integers(35, 120, ia.size), rng.integers(3, 29, ia.size)).astype("timedelta64[D]")
    paid = issued + pay_days
    paid_s = pc.if_else(pa.array(paid > window_end), pa.scalar(None, pa.string()), _date_str(paid))
    inv = pa.table({
        "invoice_id": _ids("INV", np.arange(ia.size), 8), "account_id": acct_ids.take(pa.array(ia)),
        "amount": pa.array(np.round(L["arr"][inv_line] * n_per[inv_line] / 12, 2)),
        "currency": pa.array(currency[ia]), "issued_at": _date_str(issued), "due_at": _date_str(due_d),
        "paid_at": paid_s,
    })
    summary.rows["invoices"] = _write_csv(out / "invoices.csv", inv)
    step(1, total_steps, "invoices")

    # --- tickets: canonical CSV for most, a Zendesk export for some accounts ---------------------
    T = {k: np.concatenate([x[k] for x in ticket_parts]) for k in ticket_parts[0]} if ticket_parts else None
    if T is not None:
        tn = T["i"].size
        subj = np.where(T["neg"], np.array(NEG_TICKET)[T["subj"] % len(NEG_TICKET)],
                        np.array(POS_TICKET)[T["subj"] % len(POS_TICKET)])
        body = np.where(T["neg"], np.array(NEG_BODY)[T["body"] % len(NEG_BODY)],
                        np.array(POS_BODY)[T["body"] % len(POS_BODY)])
        resp = T["opened"] + (T["resp"] * 3600).astype("timedelta64[s]")
        res = T["opened"] + (T["res"] * 3600).astype("timedelta64[s]")
        open_now = res > window_end.astype("datetime64[s]")
        prios = np.array(["low", "normal", "high", "urgent"])[T["prio"]]
        status = np.where(open_now, "open", "solved")
        tid = np.arange(tn)
        zd = zendesk_org[T["i"]]
        c = ~zd
        tickets = pa.table({
            "ticket_id": _ids("TCK", tid[c], 8), "account_id": acct_ids.take(pa.array(T["i"][c])),
            "opened_at": _ts_str(T["opened"][c]), "first_response_at": _ts_str(resp[c]),
            "resolved_at": pc.if_else(pa.array(open_now[c]), pa.scalar(None, pa.string()), _ts_str(res[c])),
            "priority": pa.array(prios[c]), "status": pa.array(status[c]),
            "csat": pc.if_else(pa.array(T["has_csat"][c] & ~open_now[c]), pa.array(T["csat"][c].astype(np.int64)),
                               pa.scalar(None, pa.int64())),
            "subject": pa.array(subj[c]), "body": pa.array(body[c]), "escalated": pa.array(T["esc"][c]),
        })
        # recorded open when opened; solved (with its CSAT) when resolved
        solved = ~open_now[c]
        first = tickets.set_column(tickets.column_names.index("status"), "status", pa.array(np.full(c.sum(), "open")))
        for col in ("resolved_at", "csat"):
            i = first.column_names.index(col)
            first = first.set_column(i, col, pa.nulls(first.num_rows, first.schema.field(col).type))
        summary.rows["tickets"] = _write_csv(out / "tickets.csv", first.append_column("updated_at",
                                                                                      _ts_str(T["opened"][c])))
        changed_rows += _write_changes(out, "tickets", tickets.append_column("updated_at", _ts_str(res[c])).filter(
            pa.array(solved)), res[c][solved])
        # Zendesk export (organization ids differ from master ids; mapping by domain)
        zdir = out / "zendesk"
        zdir.mkdir(exist_ok=True)
        org_of = 360000000 + idx * 7
        z_idx = np.flatnonzero(zd)
        zt = []
        zsat = np.where(T["has_csat"] & ~open_now, np.where(T["csat"] >= 4, "good", np.where(T["csat"] <= 2, "bad",
                                                                                             "offered")), "unoffered")
        opened_iso = _ts_str(T["opened"]).to_pylist()
        updated_iso = _ts_str(np.where(open_now, T["opened"], res)).to_pylist()  # an export holds the last change
        for j in z_idx.tolist():  # the Zendesk share is small; JSON is written object by object
            zt.append({"id": int(900000 + j), "organization_id": int(org_of[T["i"][j]]), "requester_id": int(5000 + j),
                       "created_at": opened_iso[j], "updated_at": updated_iso[j], "subject": str(subj[j]),
                       "description": str(body[j]), "priority": str(prios[j]), "status": str(status[j]),
                       "satisfaction_rating": {"score": str(zsat[j])},
                       "tags": ["escalated"] if T["esc"][j] else []})
        (zdir / "tickets.json").write_text(json.dumps({"tickets": zt, "count": len(zt)}, indent=1))
        zo = np.flatnonzero(zendesk_org)
        dom_list = domains.to_pylist()
        name_list = names.to_pylist()
        orgs = [{"id": int(org_of[i]), "name": name_list[i], "domain_names": [dom_list[i]], "external_id": None}
                for i in zo.tolist()]
        # ambiguity on purpose: an organization whose domain two master accounts share
        if len(zo) >= 2:
            orgs.append({"id": 359999999, "name": "Shared Holdings", "domain_names": [dom_list[0]],
                         "external_id": None})
        (zdir / "organizations.json").write_text(json.dumps({"organizations": orgs}, indent=1))
        summary.rows["zendesk_tickets"] = len(zt)
    step(1, total_steps, "tickets")

    # --- survey_responses.csv (NPS) -----------------------------------------------------------------
    S = {k: np.concatenate([x[k] for x in survey_parts]) for k in survey_parts[0]} if survey_parts else None
    if S is not None:
        sc = S["score"].astype(np.int64)
        comment = np.where(sc <= 6, np.array(NPS_DETRACTOR)[S["c"] % len(NPS_DETRACTOR)],
                           np.where(sc <= 8, np.array(NPS_PASSIVE)[S["c"] % len(NPS_PASSIVE)],
                                    np.array(NPS_PROMOTER)[S["c"] % len(NPS_PROMOTER)]))
        comment = np.where(S["c"] % 3 == 0, "", comment)
        when = _month_start(base, S["m"]).astype("datetime64[s]") + (S["day"] * 86400 + 36000).astype("timedelta64[s]")
        surveys = pa.table({
            "response_id": _ids("NPS", np.arange(sc.size), 8), "account_id": acct_ids.take(pa.array(S["i"])),
            "contact_id": pa.array([None] * sc.size, pa.string()), "kind": pa.array(np.full(sc.size, "nps")),
            "score": pa.array(sc), "comment": pa.array(comment), "responded_at": _ts_str(when),
            "survey_id": pc.binary_join_element_wise(pa.scalar("nps-"), _date_str(_month_start(base, S["m"])), ""),
            "touchpoint": pa.array(np.full(sc.size, "relationship")),
        })
        summary.rows["survey_responses"] = _write_csv(out / "survey_responses.csv", surveys)
    # --- survey_invitations.csv: sent on the wave's first day at 09:00, before any answer (10:00 on) ---
    Inv = {k: np.concatenate([x[k] for x in invite_parts]) for k in invite_parts[0]} if invite_parts else None
    if Inv is not None:
        sent = _month_start(base, Inv["m"]).astype("datetime64[s]") + np.timedelta64(9 * 3600, "s")
        invites = pa.table({
            "invitation_id": _ids("INV", np.arange(Inv["i"].size), 8), "account_id": acct_ids.take(pa.array(Inv["i"])),
            "contact_id": pa.array([None] * Inv["i"].size, pa.string()),
            "kind": pa.array(np.full(Inv["i"].size, "nps")), "sent_at": _ts_str(sent),
            "survey_id": pc.binary_join_element_wise(pa.scalar("nps-"), _date_str(_month_start(base, Inv["m"])), ""),
            "channel": pa.array(np.full(Inv["i"].size, "email")),
        })
        summary.rows["survey_invitations"] = _write_csv(out / "survey_invitations.csv", invites)
    step(1, total_steps, "surveys")

    # --- activities, milestones, opportunities, churn reasons ----------------------------------------
    A = {k: np.concatenate([x[k] for x in activity_parts]) for k in activity_parts[0]} if activity_parts else None
    if A is not None:
        act = pa.table({"activity_id": _ids("ACT", np.arange(A["i"].size), 8),
                        "account_id": acct_ids.take(pa.array(A["i"])), "kind": pa.array(A["kind"]),
                        "at": _ts_str(A["at"]), "with_exec": pa.array(A["with_exec"]),
                        "owner": acc_tbl["owner"].take(pa.array(A["i"]))})
        summary.rows["activities"] = _write_csv(out / "activities.csv", act)
    in_win = acq >= 0
    ms_names = np.array(["kickoff", "integration", "training", "first_value"])
    ms_due = np.array([7, 30, 45, 60])
    mi = np.repeat(idx[in_win], 4)
    mk = np.tile(np.arange(4), in_win.sum())
    h0 = latent[mi, np.clip(acq[mi], 0, M - 1)]
    start_day = _month_start(base, acq[mi])
    due = start_day + ms_due[mk].astype("timedelta64[D]")
    delay = (rng.exponential(1 + 50 * (1 - h0)) - 5).astype(np.int64)
    done = due + delay.astype("timedelta64[D]")
    missing = (rng.random(mi.size) < np.clip(0.5 - h0, 0, 0.5) * (mk == 3)) | (done > window_end)
    mil = pa.table({"account_id": acct_ids.take(pa.array(mi)), "milestone": pa.array(ms_names[mk]),
                    "due_at": _date_str(due),
                    "completed_at": pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), _date_str(done))})
    summary.rows["milestones"] = _write_csv(out / "milestones.csv", mil)
    O = {k: np.concatenate([x[k] for x in opps]) for k in opps[0]}
    oi = O["i"]
    stage = np.where(O["status"] == "won", "Closed Won", "Closed Lost")
    o_tbl = pa.table({"opportunity_id": _ids("OPP", np.arange(oi.size), 8), "account_id": acct_ids.take(pa.array(oi)),
                      "kind": pa.array(O["kind"]), "amount": pa.array(O["amount"]), "currency": pa.array(currency[oi]),
                      "stage": pa.array(stage), "status": pa.array(O["status"]),
                      "probability": pa.array(np.where(O["status"] == "won", 1.0, 0.0)),
                      "close_date": _date_str(_month_start(base, O["close"]))})
    # open renewal opportunities for renewals in the next 90 days (healthier accounts have them)
    nxt = np.where(term > 1, line_start + term, -1)
    upcoming = active & (term > 1) & (nxt >= M) & (nxt <= M + 3) & (rng.random(n) < 0.3 + 0.6 * h)
    up_tbl = pa.table({"opportunity_id": _ids("OPR", idx[upcoming], 8), "account_id": acct_ids.filter(pa.array(upcoming)),
                       "kind": pa.array(np.full(upcoming.sum(), "renewal")), "amount": pa.array(arr[upcoming]),
                       "currency": pa.array(currency[upcoming]),
                       "stage": pa.array(np.where(h[upcoming] > 0.5, "Negotiation", "Discovery")),
                       "status": pa.array(np.full(upcoming.sum(), "open")),
                       "probability": pa.array(np.round(0.3 + 0.6 * h[upcoming], 2)),
                       "close_date": _date_str(_month_start(base, nxt[upcoming]))})
    # closed ones recorded on their close date; open renewals created in the last two months
    o_tbl = o_tbl.append_column("updated_at", _ts_str(_month_start(base, O["close"]).astype("datetime64[s]")
                                                      + 16 * HOUR))
    up_tbl = up_tbl.append_column("updated_at", _ts_str(
        last_instant - rec.integers(1, 60, int(upcoming.sum())) * DAY - 8 * HOUR))
    summary.rows["opportunities"] = _write_csv(out / "opportunities.csv", pa.concat_tables([o_tbl, up_tbl]))
    churned = churn_month >= 0
    cat = np.where(cause == "champion_left", "champion_left",
                   np.where(cause == "poor_adoption", np.where(rng.random(n) < 0.6, "poor_adoption", "product_gap"),
                            CHURN_CATEGORIES[rng.integers(3, 6, n)]))
    cr = pa.table({"account_id": acct_ids.filter(pa.array(churned)),
                   "at": _date_str(_month_start(base, churn_month[churned]) - np.timedelta64(1, "D")),
                   "category": pa.array(cat[churned].astype(str)),
                   "detail": pa.array(np.char.add("Customer cited ", np.char.replace(cat[churned].astype(str), "_", " ")))})
    summary.rows["churn_reasons"] = _write_csv(out / "churn_reasons.csv", cr)
    step(1, total_steps, "activities, milestones, opportunities")

    # --- spend, costs, fx ---------------------------------------------------------------------------
    months_d = _month_start(base, np.arange(M))
    new_per = np.array([[((acq == m) & (seg == s)).sum() for m in range(M)] for s in range(3)])
    cac = np.array([60_000.0, 12_000.0, 1_500.0])
    spend_amt = np.round(new_per * cac[:, None] * rng.lognormal(0, 0.15, new_per.shape), 2)
    active_per = np.array([[((latent[:, m] > 0) & (seg == s)).sum() for m in range(M)] for s in range(3)])
    cost_amt = np.round(active_per * np.array([1500.0, 300.0, 40.0])[:, None] * rng.lognormal(0, 0.05, (3, M)) / 2, 2)
    period = np.tile(_date_str(months_d).to_numpy(zero_copy_only=False), 3)
    segs = np.repeat(SEGMENTS, M)
    for fname, amount in (("spend", spend_amt), ("costs", cost_amt)):
        summary.rows[fname] = _write_csv(out / f"{fname}.csv", pa.table({
            "period": pa.array([p[:7] for p in period]), "segment": pa.array(segs),
            "amount": pa.array(amount.ravel()), "currency": pa.array(np.full(3 * M, "USD"))}))
    eur = 1.08 * np.exp(np.cumsum(rng.normal(0, 0.01, M)))
    gbp = 1.27 * np.exp(np.cumsum(rng.normal(0, 0.01, M)))
    fx = pa.table({"date": pa.array(np.tile(_date_str(months_d).to_numpy(zero_copy_only=False), 3)),
                   "currency": pa.array(np.repeat(np.array(["USD", "EUR", "GBP"]), M)),
                   "rate_to_reporting": pa.array(np.round(np.concatenate([np.ones(M), eur, gbp]), 6))})
    summary.rows["fx"] = _write_csv(out / "fx.csv", fx)

    # --- the latent truth (validation only) -----------------------------------------------------------
    truth = out / "_truth"
    truth.mkdir(exist_ok=True)
    pq.write_table(pa.table({"account_id": acct_ids.take(pa.array(np.repeat(idx, M))),
                             "month": pa.array(np.tile(months_d, n)),
                             "latent_health": pa.array(np.round(latent.ravel(), 4))}),
                   truth / "latent_monthly.parquet", compression="zstd")
    pq.write_table(pa.table({"account_id": acct_ids.take(pa.array(np.repeat(idx, M))),
                             "month": pa.array(np.tile(months_d, n)),
                             "renewal_due": pa.array(due_kept.ravel()),
                             "churn_probability": pa.array(p_base.ravel()),
                             "churn_probability_applied": pa.array(p_used.ravel())}).filter(
                                 pa.array(due_kept.ravel())),
                   truth / "save_play.parquet", compression="zstd")
    _write_csv(truth / "accounts_truth.csv", pa.table({
        "account_id": acct_ids, "segment": pa.array(SEGMENTS[seg]), "churned": pa.array(churned),
        "churn_month": pc.if_else(pa.array(churned), _date_str(_month_start(base, np.maximum(churn_month, 0))),
                                  pa.scalar(None, pa.string())),
        "cause": pa.array(np.where(churned, cause, "").astype(str)),
        "ever_active": pa.array(ever), "mean_latent_health": pa.array(np.round(latent.mean(axis=1), 4))}))
    step(2, total_steps, "done")
    summary.rows["changes"] = changed_rows
    summary.files["changes"] = str(out / "changes")
    for name in summary.rows:
        summary.files.setdefault(name, str(out / f"{name}.csv"))
    return summary
