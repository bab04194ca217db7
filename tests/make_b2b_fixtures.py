"""Write the hand-made B2B account fixtures under tests/fixtures/b2b (run from the repository root; the CSVs are committed)."""
import csv
from pathlib import Path

OUT = Path("tests/fixtures/b2b")

def ym(i):  # i = 0 -> 2023-01
    return f"{2023 + i // 12}-{i % 12 + 1:02d}"

def write(name, rows):
    with open(OUT / f"{name}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["account_id", "line_id", "month", "status", "product", "revenue", "cost", "activation"])
        w.writerows(rows)

def line(acct, n, months, status="active", product="mobile", revenue=40.0, cost=20.0, activation="", extra_cost=None):
    extra_cost = extra_cost or {}
    return [[acct, f"{acct}-{n}", ym(i), status, product, revenue if status == "active" else 0.0,
             cost + extra_cost.get(i, 0.0), activation] for i in months]

# Prospect in talks for four months (sales cost 200 a month on its first line), no purchase yet.
write("account_in_potential",
      line("P", 1, range(20, 24), "prospect", cost=200.0) + line("P", 2, range(22, 24), "prospect", cost=0.0))
# Bought 2024-09 with 3 lines: its 4th month at the end.
write("account_in_development",
      sum((line("D", n, range(20, 24), activation="2024-09-01", extra_cost={20: 100.0} if n == 1 else None)
           for n in (1, 2, 3)), []))
# A customer since 2022 with 4 lines that adds one line a month from 2024-08: 7, 8, 9 lines against 4, 5, 6.
write("account_in_growth",
      sum((line("G", n, range(0, 24), activation="2022-01-01") for n in (1, 2, 3, 4)), [])
      + sum((line("G", 5 + k, range(19 + k, 24), activation=ym(19 + k) + "-01") for k in range(5)), []))
# Five lines, the same every month since 2021.
write("account_in_maturity", sum((line("M", n, range(0, 24), activation="2021-06-01") for n in range(1, 6)), []))
# Six lines; three cancelled in 2024-11: lines (6, 3, 3) against (6, 6, 6) fall by a third.
write("account_in_decline",
      sum((line("X", n, range(0, 24), activation="2020-03-01") for n in (1, 2, 3)), [])
      + sum((line("X", n, range(0, 22), activation="2020-03-01") + line("X", n, [22], "cancelled", cost=0.0)
             for n in (4, 5, 6)), []))
# Three lines; every line cancelled in 2024-10 (a contract end), no rows after.
write("account_in_termination",
      sum((line("T", n, range(0, 21), activation="2021-01-01") + line("T", n, [21], "cancelled", cost=0.0)
           for n in (1, 2, 3)), []))
# First purchase 2023-03 with 4 lines; two cancelled in 2024-05, its 15th month; ends 2024-07.
write("account_declining_in_second_year",
      sum((line("Y", n, range(2, 19), activation="2023-03-01") for n in (1, 2)), [])
      + sum((line("Y", n, range(2, 16), activation="2023-03-01") + line("Y", n, [16], "cancelled", cost=0.0)
             for n in (3, 4)), []))
# Prospect from 2023-01, a trial line 2023-07 to 2023-09 (usage, no revenue), then nothing: never buys.
write("prospect_never_buys",
      line("N", 1, range(0, 9), "prospect", cost=150.0) + line("N", 2, range(6, 9), "trial", cost=10.0)
      + [["N", "N-1", ym(23), "prospect", "mobile", 0.0, 0.0, ""]])

# Every account above in one file (the contract cases of --scheme b2b), trials left out: they need --status-values.
with open(OUT.parent / "b2b_small.csv", "w") as f:
    for i, name in enumerate(sorted(OUT.glob("*.csv"))):
        text = name.read_text().splitlines(keepends=True)
        f.writelines(line for line in text[1 if i else 0:] if ",trial," not in line)
