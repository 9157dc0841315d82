"""Write examples/portfolio.csv: a synthetic portfolio of 25 B2B key accounts.

The accounts and firms are fictitious; the numbers are drawn from one seeded
generator (``numpy.random.default_rng(SEED)``), so the file is the same on every run::

    .venv/bin/python scripts/make_example_portfolio.py          # rewrite the file
    .venv/bin/python scripts/make_example_portfolio.py --check  # exit 1 if stale

How the numbers are made (k€ = thousands of euro):

* **revenue** (k€/yr): 25 lognormal draws (sigma 1.1, a heavy right tail as in most
  customer portfolios: a few accounts bring most of the revenue), mapped linearly in
  logs so that the smallest is 40 and the largest 2 500 k€/yr; rounded to 0.1.
* **stage**: accounts ranked by log revenue plus normal noise (sd 0.6): the top 2
  are strategic, the next 3 interdependent, the next 8 cooperative, the other 12
  tactical (large accounts tend to be further along, but not always).
* **share of wallet**: uniform within a stage's band: tactical 5-25 %, cooperative
  15-40 %, interdependent 35-55 %, strategic 50-70 %, whole percent. Two rows in
  three write it as a percentage; every third row gives the account's
  **category_spend** instead (revenue / share, rounded up to a whole k€).
* **years_as_customer**: 1 + a geometric number of years with mean 3 + 2 x stage,
  at most 25; **years_in_stage**: uniform between 0 and years as customer, in
  halves of a year. Three accounts (drawn at random) leave both empty (not known).
* **potential** (k€/yr in three years): for 10 accounts (drawn at random) a point
  estimate, category spend x U(0.9, 1.6) rounded to 10; for 6 a range (low = spend
  x U(0.8, 1.1), high = low x U(1.2, 1.8), rounded to 10); none for the other 9.
* **willing_to_partner**: yes for interdependent and strategic accounts; for the
  others yes, no or empty (unknown) with probabilities 0.3, 0.3, 0.4.
* **gross_margin**: U(20 %, 40 %), one decimal, written as a percentage.
* **kam_spend** (k€ last year): revenue x U(1 %, 5 %), rounded to 0.1.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from pathlib import Path

import numpy as np

from kamsim.model.records import STAGE_LABELS
from kamsim.portfolio.portfolio import FRAME_COLUMNS

SEED = 20240521
OUT = Path(__file__).resolve().parents[1] / "examples" / "portfolio.csv"
NAMES = (
    "Nordwerk Logistics",
    "Albion Pharma Services",
    "Kestrel Foods",
    "Brennhof Maschinenbau",
    "Velamar Retail Group",
    "Hollwig Chemie",
    "Sundvik Paper",
    "Castellan Automotive",
    "Meridia Health Systems",
    "Oakridge Packaging",
    "Lumenis Electronics",
    "Taurin Agritech",
    "Westerfeld Bau",
    "Pollux Energy",
    "Arvena Textiles",
    "Grünfeld Molkerei",
    "Sable Mining Supplies",
    "Corvin Aerospace",
    "Mistelberg Beverages",
    "Halden Steelworks",
    "Iberis Hospitality",
    "Quadra Medical Devices",
    "Fjordvik Shipping",
    "Orbitel Telecom",
    "Veltrup Glas",
)
#: The file's columns: those the reader writes back (kamsim.portfolio), in its order.
HEADER = FRAME_COLUMNS
STAGES = STAGE_LABELS
SHARE_BANDS = ((5, 25), (15, 40), (35, 55), (50, 70))
STAGE_COUNTS = (12, 8, 3, 2)  # tactical .. strategic


def _num(x: float) -> str:
    """A number as a spreadsheet writes it: no trailing zeros, no exponent."""
    return f"{x:.1f}".removesuffix(".0")


def render(seed: int = SEED) -> str:
    """The CSV text of the example portfolio."""
    rng = np.random.default_rng(seed)
    n = len(NAMES)
    logs = rng.normal(0.0, 1.1, n)
    logs = (logs - logs.min()) / (logs.max() - logs.min())
    revenue = np.round(np.exp(np.log(40) + logs * np.log(2500 / 40)), 1)
    order = np.argsort(-(np.log(revenue) + rng.normal(0, 0.6, n)), kind="stable")
    stage = np.empty(n, dtype=int)
    ranks = np.cumsum((0, *STAGE_COUNTS[::-1]))
    for k, s in enumerate((4, 3, 2, 1)):
        stage[order[ranks[k] : ranks[k + 1]]] = s
    kinds = rng.permutation([0] * 10 + [1] * 6 + [2] * (n - 16))  # point, range, none
    unknown_years = set(rng.choice(n, 3, replace=False).tolist())
    rows = []
    for i in range(n):
        s = stage[i]
        lo, hi = SHARE_BANDS[s - 1]
        share = int(rng.integers(lo, hi + 1))
        spend = math.ceil(revenue[i] * 100 / share)
        years = min(1 + int(rng.geometric(1 / (3 + 2 * s))), 25)
        in_stage = float(rng.integers(0, 2 * years + 1)) / 2
        known = i not in unknown_years
        potential = low = high = ""
        if kinds[i] == 0:
            potential = _num(round(spend * rng.uniform(0.9, 1.6), -1))
        elif kinds[i] == 1:
            lo_v = round(spend * rng.uniform(0.8, 1.1), -1)
            low, high = _num(lo_v), _num(round(lo_v * rng.uniform(1.2, 1.8), -1))
        if s >= 3:
            willing = "yes"
        else:
            willing = str(rng.choice(["yes", "no", ""], p=[0.3, 0.3, 0.4]))
        margin = round(rng.uniform(20, 40), 1)
        kam = round(revenue[i] * rng.uniform(0.01, 0.05), 1)
        rows.append(
            (
                NAMES[i],
                _num(revenue[i]),
                STAGES[s - 1],
                f"{share}%" if i % 3 != 2 else "",
                str(spend) if i % 3 == 2 else "",
                _num(in_stage) if known else "",
                str(years) if known else "",
                potential,
                low,
                high,
                willing,
                f"{_num(margin)}%",
                _num(max(kam, 0.1)),
            )
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Write the example (or with --check, exit 1 if the file differs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        return 0 if current == text else 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(NAMES)} accounts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
