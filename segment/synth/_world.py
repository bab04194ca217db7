"""The synthetic operator behind ``segment synth``: every planted number in one place.

Nothing here draws random numbers; :mod:`segment.synth._lines` and
:mod:`segment.synth._paths` do, from these tables. Shares are probabilities
that sum to 1 within each table. The docs (``docs/synth.md``) quote these
values; change them here and regenerate ``examples/data/synth``.

Examples
--------
>>> [g.name for g in GROUPS]
['basic_voice', 'light', 'data_streamer', 'heavy_talker', 'premium']
>>> round(sum(g.share for g in GROUPS) + NOISE_SHARE, 10)
1.0
>>> churn_logit({"contract": "one-year"}) == CHURN_BASE_LOGIT
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Group:
    """A value/behaviour group: mature monthly levels (medians) and who is in it."""

    name: str
    share: float
    voice_min: float
    data_mb: float
    sms: float
    arpu: float
    plans: dict[str, float]
    ages: dict[str, float]


AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
PLANS = ("prepaid_basic", "prepaid_data", "postpaid_s", "postpaid_m", "postpaid_l", "unlimited")
PREPAID = ("prepaid_basic", "prepaid_data")
#: Recurring monthly price of each plan (currency units).
PLAN_FEE = {"prepaid_basic": 5.0, "prepaid_data": 15.0, "postpaid_s": 15.0, "postpaid_m": 30.0,
            "postpaid_l": 50.0, "unlimited": 70.0}

# Centres are far apart in log space (about 1.5 or more on at least two
# features between any two groups) so that a density clusterer on
# log1p + robust-scaled features separates them; the within-group spread
# (LEVEL_SD) keeps each group's marginals skewed and the mixture heavy-tailed.
GROUPS = (
    Group("basic_voice", 0.30, 180.0, 400.0, 25.0, 9.0,
          {"prepaid_basic": .55, "prepaid_data": .15, "postpaid_s": .20, "postpaid_m": .10},
          {"18-24": .08, "25-34": .17, "35-44": .22, "45-54": .23, "55-64": .18, "65+": .12}),
    Group("light", 0.22, 25.0, 60.0, 4.0, 4.0,
          {"prepaid_basic": .75, "prepaid_data": .05, "postpaid_s": .20},
          {"18-24": .05, "25-34": .07, "35-44": .10, "45-54": .16, "55-64": .26, "65+": .36}),
    Group("data_streamer", 0.20, 70.0, 15000.0, 6.0, 28.0,
          {"prepaid_data": .40, "postpaid_m": .25, "postpaid_l": .15, "unlimited": .20},
          {"18-24": .38, "25-34": .34, "35-44": .15, "45-54": .08, "55-64": .04, "65+": .01}),
    Group("heavy_talker", 0.12, 1100.0, 1500.0, 45.0, 38.0,
          {"postpaid_s": .15, "postpaid_m": .35, "postpaid_l": .35, "unlimited": .15},
          {"18-24": .03, "25-34": .15, "35-44": .30, "45-54": .30, "55-64": .16, "65+": .06}),
    Group("premium", 0.10, 550.0, 30000.0, 60.0, 75.0,
          {"postpaid_m": .10, "postpaid_l": .45, "unlimited": .45},
          {"18-24": .06, "25-34": .30, "35-44": .30, "45-54": .22, "55-64": .09, "65+": .03}),
)
#: Share of customers drawn from no group (``true_cluster`` = -1).
NOISE_SHARE = 0.06
#: Noise customers: each log level uniform over the groups' range widened by this much.
NOISE_MARGIN = 1.0
#: Standard deviation of a customer's log level around the group centre, and
#: the correlation between a customer's four log levels (heavy users of one
#: service tend to be heavy users of the others).
LEVEL_SD = 0.22
LEVEL_CORR = 0.35

GENDERS = {"female": 0.5, "male": 0.5}
CHANNELS = {"retail_store": .35, "dealer": .25, "online": .20, "telesales": .10, "partner": .10}
#: Lines older than this (months of tenure at the panel start) lost their
#: acquisition channel in a CRM migration, with this probability.
LEGACY_TENURE, LEGACY_CHANNEL_MISSING = 60, 0.30
AGE_MISSING = 0.03
POSTPAID_CONTRACTS = {"month-to-month": .35, "one-year": .35, "two-year": .30}
PAYMENT = {
    "prepaid": {"cash": .45, "e_wallet": .35, "credit_card": .20},
    "postpaid": {"direct_debit": .55, "credit_card": .30, "e_wallet": .15},
}
#: Add-on services (yes/no columns): share with the service among prepaid
#: and postpaid lines, and monthly price.
ADDONS = {
    "fibre": (.15, .45, 25.0),
    "tech_support": (.35, .35, 5.0),
    "device_insurance": (.10, .30, 8.0),
    "streaming": (.30, .30, 10.0),
    "intl_roaming": (.05, .15, 6.0),
    "cloud_backup": (.20, .20, 3.0),
}

#: Share of lines already active before the first panel month ("stock"), and
#: the mean of their tenure at the panel start (geometric, months).
STOCK_SHARE, STOCK_MEAN_TENURE, STOCK_MAX_TENURE = 0.62, 36.0, 180

# ---------------------------------------------------------------- churn
#: Planted churn model: logit P(line exits within the panel window) =
#: CHURN_BASE_LOGIT + sum of the effects that apply. Reference customer:
#: one-year contract, no fibre. Everything not listed has no effect.
CHURN_BASE_LOGIT = -2.2
CHURN_EFFECTS = (
    # (item, columns and values that must all hold, log-odds)
    ("contract=month-to-month", (("contract", "month-to-month"),), 1.0),
    ("contract=two-year", (("contract", "two-year"),), -1.2),
    ("fibre=yes & tech_support=no", (("fibre", "yes"), ("tech_support", "no")), 0.8),
)
#: Items with no effect on churn (true negatives for rule mining).
NULL_ITEMS = (
    ("gender", "female"), ("gender", "male"),
    ("payment_method", "cash"), ("payment_method", "e_wallet"), ("payment_method", "credit_card"),
    ("payment_method", "direct_debit"),
    ("device_insurance", "yes"), ("streaming", "yes"), ("intl_roaming", "yes"), ("cloud_backup", "yes"),
    ("tech_support", "yes"),
    ("channel", "retail_store"), ("channel", "dealer"), ("channel", "online"), ("channel", "telesales"),
    ("channel", "partner"),
)


def churn_logit(attrs: dict[str, str]) -> float:
    """Planted churn log-odds of one customer described by *attrs* (column -> value)."""
    logit = CHURN_BASE_LOGIT
    for _, conditions, effect in CHURN_EFFECTS:
        if all(attrs.get(col) == val for col, val in conditions):
            logit += effect
    return logit


# ---------------------------------------------------------------- lifecycle
#: What happens to a line that churns (exits within the window), and to one
#: that does not. See docs/synth.md for the month-by-month shapes.
CHURN_PATHS = {"double-drop-cancel": .25, "double-drop-silent": .10, "suspension-cancel": .20,
               "silent": .12, "cancel": .33}
#: (silent-return comes first so that adding it changed only lines that drew "none" before.)
STAY_PATHS = {"silent-return": .04, "none": .74, "single-drop:voice_min": .05, "single-drop:data_mb": .05,
              "revenue-drop": .04, "double-drop-stay": .03, "suspension-recover": .05}
#: Share of churned lines whose person comes back on a new line (re-entry),
#: and the months between the old line's cancellation and the new activation.
REENTRY_SHARE, REENTRY_GAPS = 0.25, (1, 2, 3)
#: Share of churned lines whose person moved to a new line before the old one
#: was cancelled (a number swap), and how many months before the old line's
#: last month with usage the new line was activated.
SWAP_SHARE, SWAP_LEADS = 0.10, (0, 1, 2)

# Shapes of the planted declines (multipliers of the mature level). The
# ranges keep every month's window/baseline ratio at least ~0.05 away from
# the 30% threshold, so the stage a month gets does not hinge on noise.
DOUBLE_FIRST = (0.45, 0.60)   # first month of a double drop
DOUBLE_LOW = (0.05, 0.15)     # the months after
SINGLE_LOW = (0.28, 0.36)     # the metric that falls in a single drop / revenue drop
DIP = (0.35, 0.50)            # the month before a suspension or a silent exit
RECOVERY = (0.40, 0.60)       # the month a suspended line comes back (partial month)
#: Usage ramps from RAMP_START of the mature level in the activation month to
#: the full level at tenure RAMP_MONTHS + 1 (growth through build-up).
RAMP_START, RAMP_MONTHS = 0.60, 6
#: Share of the mature ARPU that is a fixed fee (does not follow usage).
FIXED_REVENUE = {"prepaid": 0.20, "postpaid": 0.85}

# ---------------------------------------------------------------- noise
#: Month-to-month noise (log-normal sd) around the planted level.
NOISE_SD = {"voice_min": 0.08, "data_mb": 0.09, "revenue_prepaid": 0.08, "revenue_postpaid": 0.03,
            "sms": 0.15}
#: Correlation of the noise between consecutive months (AR(1) in log space).
NOISE_RHO = 0.5
#: Seasonality by calendar month (Jan..Dec), multiplicative; usage also
#: scales with the number of days in the month.
SEASON = {
    "voice_min": np.array([1.00, 0.99, 1.00, 1.00, 1.01, 0.99, 0.97, 0.97, 1.00, 1.01, 1.01, 1.05]),
    "data_mb": np.array([1.00, 0.98, 0.99, 0.99, 1.00, 1.02, 1.05, 1.06, 1.00, 0.99, 0.99, 1.03]),
    "sms": np.array([1.25, 0.95, 0.95, 0.95, 0.95, 0.95, 0.90, 0.90, 0.95, 0.95, 1.00, 1.40]),
    "revenue": np.array([1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.01, 1.02, 1.00, 1.00, 1.00, 1.03]),
}
#: Missing values, where real extracts have them: SMS counts come from a
#: separate SMSC feed with gaps (share of months with traffic).
SMS_MISSING = 0.003
#: Complaints per month: base rate, multiplied while a churn path runs and
#: for fibre customers without tech support.
COMPLAINT_RATE, COMPLAINT_CHURN_FACTOR, COMPLAINT_NO_SUPPORT_FACTOR = 0.04, 6.0, 2.5
#: Transactions: refunds per billed month; prepaid recharges per month = 1 + Poisson(mean).
REFUND_RATE, RECHARGE_EXTRA_MEAN = 0.004, 1.2

# ---------------------------------------------------------------- rules
#: The field's lifecycle rules as the truth applies them (see docs/synth.md).
TRUTH_RULES = {
    "acquisition_max_tenure": 3,
    "buildup_max_tenure": 6,
    "window": 3,
    "baseline": 3,
    "drop": 0.30,
    "exit_after": 3,
    "winback": 3,
    "decline_metrics": ["voice_min", "data_mb", "revenue"],
}
