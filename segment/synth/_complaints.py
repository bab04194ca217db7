"""Complaint texts with planted themes (``segment synth --complaints SHARE``).

Each customer writes in Chinese or English (half each). Each theme below is
mentioned by a customer independently of the other themes, with probability
``SHARE x weight``, multiplied by the theme's ``rate_ratio`` for customers who
churn (the customers table's ``churn``). So the **planted** themes (network,
billing, service) go with churn, and the **neutral** ones (app, delivery,
points) are mentioned at the same rate by churners and stayers: any rule
with their words is a false positive. Each mention is one complaint: a
template of the theme in the customer's language, dated on a day of one of
the customer's months in the panel.

The words of a theme's templates belong to that theme only (apart from stop
words), so that a term tells its theme. The draws come from their own
random stream ``(seed, block, 7)``: asking for complaints changes no other
table.

Tables: ``complaints`` (``complaint_id``, ``customer_id``, ``date``,
``text``) and ``truth_complaints`` (``complaint_id``, ``customer_id``,
``theme``, ``lang``, ``effect``: ``raises`` or ``none``, ``rate_ratio``).

Examples
--------
>>> [(t.name, t.effect) for t in THEMES][:4]
[('network', 'raises'), ('billing', 'raises'), ('service', 'raises'), ('app', 'none')]
>>> round(sum(t.weight for t in THEMES), 10)
1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

TABLES = ("complaints", "truth_complaints")
SCHEMAS = {
    "complaints": {"complaint_id": pl.String, "customer_id": pl.String, "date": pl.Date, "text": pl.String},
    "truth_complaints": {"complaint_id": pl.String, "customer_id": pl.String, "theme": pl.String,
                         "lang": pl.String, "effect": pl.String, "rate_ratio": pl.Float64},
}
#: Share of customers writing in Chinese (the others write in English).
ZH_SHARE = 0.5
STREAM = 7


@dataclass(frozen=True)
class Theme:
    """A complaint theme: its weight in the mention rate, the churners' rate ratio, and templates."""

    name: str
    weight: float
    rate_ratio: float
    zh: tuple[str, ...]
    en: tuple[str, ...]

    @property
    def effect(self) -> str:
        return "raises" if self.rate_ratio > 1 else "none"


THEMES = (
    Theme("network", 0.25, 4.0,
          ("家里信号很差，经常掉线", "网速太慢，视频根本看不了", "地铁里没有信号，电话老是掉线", "网络总是断，网速很慢"),
          ("No signal at home, calls keep dropping", "Mobile data is very slow in the evening",
           "The network goes down every night", "Dropped calls and no signal on my commute")),
    Theme("billing", 0.20, 3.0,
          ("话费莫名其妙被扣了", "账单金额不对，多收了费用", "套餐外扣费太多，账单看不懂", "每个月都乱扣话费"),
          ("I was charged twice this month", "Wrong amount on my bill", "Unexpected charges on the invoice",
           "Billing error, refund the extra fee")),
    Theme("service", 0.15, 2.5,
          ("客服态度很差，投诉没人处理", "打客服电话一直没人接", "营业员态度不好，办理业务太慢", "投诉了好几次，客服都不回复"),
          ("Customer service never answers the phone", "The agent was rude and did not help",
           "Waited an hour on the hotline", "Nobody replied to my complaint")),
    Theme("app", 0.15, 1.0,
          ("手机营业厅APP登录不了", "APP更新以后找不到查询入口", "客户端闪退，无法登录"),
          ("The app crashes when I log in", "Cannot find the usage page in the app after the update",
           "The app login screen freezes")),
    Theme("delivery", 0.10, 1.0,
          ("新卡的快递还没送到", "快递员没有联系我就签收了", "寄来的新卡地址写错了"),
          ("My new SIM card has not been delivered", "The courier lost the parcel with my SIM",
           "The SIM card went to my old address")),
    Theme("points", 0.15, 1.0,
          ("积分怎么兑换礼品", "积分兑换的礼品还没收到", "生日积分没有到账"),
          ("How do I redeem my reward points", "Reward points missing after the birthday offer",
           "Which gifts can I get with my points")),
)


def complaint_tables(seed: int, block: int, ids: pl.Series, churn: np.ndarray, exists: np.ndarray,
                     months: pl.Series, share: float) -> dict[str, pl.DataFrame]:
    """The complaints of one block of customers (see the module docstring).

    *exists* is the block's ``(customers, months)`` panel mask and *months*
    the panel's first days of month.
    """
    rng = np.random.default_rng([seed, block, STREAM])
    n = ids.len()
    zh = rng.random(n) < ZH_SHARE
    weight = np.array([t.weight for t in THEMES])
    ratio = np.array([t.rate_ratio for t in THEMES])
    p = np.minimum(1.0, share * weight[None, :] * np.where(churn[:, None], ratio[None, :], 1.0))
    who, theme = np.nonzero(rng.random((n, len(THEMES))) < p)
    lang_zh = zh[who]
    sizes = np.array([[len(t.en), len(t.zh)] for t in THEMES])
    template = np.floor(rng.random(who.size) * sizes[theme, lang_zh.astype(int)]).astype(np.int64)
    # A month the customer is in the panel, uniformly, then a day of it.
    active = np.maximum(exists.sum(axis=1), 1)
    nth = np.floor(rng.random(who.size) * active[who]).astype(np.int64)
    month = np.argmax(np.cumsum(exists[who], axis=1) > nth[:, None], axis=1)
    day = np.floor(rng.random(who.size) * 28).astype("timedelta64[D]")
    dates = months.to_numpy()[month] + day
    texts = [(THEMES[t].zh if z else THEMES[t].en)[k] for t, z, k in zip(theme, lang_zh, template, strict=True)]
    customer = ids.gather(who)
    complaint_id = customer + pl.Series([f"-{t + 1}" for t in theme.tolist()], dtype=pl.String)
    complaints = pl.DataFrame({"complaint_id": complaint_id, "customer_id": customer, "date": pl.Series(dates),
                               "text": texts}, schema=SCHEMAS["complaints"])
    truth = pl.DataFrame({
        "complaint_id": complaint_id, "customer_id": customer,
        "theme": [THEMES[t].name for t in theme.tolist()],
        "lang": np.where(lang_zh, "zh", "en"),
        "effect": [THEMES[t].effect for t in theme.tolist()],
        "rate_ratio": ratio[theme],
    }, schema=SCHEMAS["truth_complaints"])
    return {"complaints": complaints, "truth_complaints": truth}
