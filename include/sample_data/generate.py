"""The generator: builds the jurisdiction's registry, then every feed's deliveries from it.

Order matters for consistency, not for bytes: the registry is written first (rows it spoils on
purpose are not used by other feeds), penalties and licenses before the repairs, objections and
ledgers that refer to them. Each feed draws from its own seeded random stream, so changing one
feed never changes another's bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from array import array
from collections import Counter, defaultdict
from pathlib import Path

from faker import Faker

from . import rates
from .codes import USCC_PREFIX_BY_TYPE, make_authority_uscc, make_resident_id, make_uscc
from .columns import FEED_ORDER
from .timeline import Clock, add_months, month_end, month_start, months_up_to, quarter_end, quarter_of, years_before
from .workdays import add_workdays, deadline, holiday_soon
from .world import (
    APPROVAL_OFFICE,
    BANKS,
    COMMITMENT_TYPES,
    COOP_WORDS,
    COURTS,
    CREDIT_OFFICE,
    DEBTOR_CIRCUMSTANCES,
    ENTERPRISE_SUFFIXES,
    GOVERNMENT_BODIES,
    INDUSTRIES,
    INTERMEDIATE_COURT,
    ITEMS,
    NAME_WORDS,
    PERSON_REGIONS,
    PUBLIC_INSTITUTIONS,
    REGIONS,
    SHOP_WORDS,
    SOCIAL_WORDS,
    TAX_RATING_WEIGHTS,
    UNITS,
    USAGES,
    UTILITY_PROVIDERS,
    VILLAGE_WORDS,
)
from .writers import SHANGHAI, Delivery, Tally, pick_style, redeliver

TYPES = list(rates.SUBJECT_TYPE_WEIGHTS)
STATUSES = list(rates.STATUS_WEIGHTS)
ERROR_DEFECTS = {"broken_check", "missing_required", "invalid_date"}
# Regime boundaries of docs/spec/DOMAIN.md §3: penalty history always reaches back before the first one.
REGIME_2023 = dt.date(2023, 5, 1)
REGIME_2026 = dt.date(2026, 4, 1)
PENALTY_HISTORY_FLOOR = dt.date(2023, 1, 1)


def _seed_int(seed: int, salt: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{salt}".encode()).digest()[:8], "big")


class Subjects:
    """The registry, column-wise (compact: 300,000 subjects stay well under 200 MB)."""

    def __init__(self):
        self.uscc: list[str] = []
        self.name: list[str] = []
        self.legal_rep: list[str] = []
        self.type = bytearray()
        self.region = bytearray()
        self.status = bytearray()
        self.ok = bytearray()  # 1 when its registry row was delivered clean enough to be loaded
        self.established = array("i")
        self.closed = array("i")  # ordinal, 0 = open

    def __len__(self) -> int:
        return len(self.uscc)

    def type_name(self, i: int) -> str:
        return TYPES[self.type[i]]

    def active_on(self, i: int, day: dt.date) -> bool:
        ordinal = day.toordinal()
        return self.established[i] <= ordinal and (self.closed[i] == 0 or self.closed[i] > ordinal)


class Generator:
    def __init__(self, landing: Path, subjects: int, as_of: dt.date, seed: int, progress: bool):
        self.landing, self.n, self.as_of, self.seed = Path(landing), subjects, as_of, seed
        self.tally = Tally(progress=progress)
        self.clock = Clock(as_of)
        self.subjects = Subjects()
        self.months = months_up_to(as_of, rates.HISTORY_MONTHS)
        start = min(add_months(month_start(as_of), -47), PENALTY_HISTORY_FLOOR)
        self.decision_months = [m for m in months_up_to(as_of, 400) if m >= start]
        self.units = [
            (name, abbr, region, penalties, licenses, make_authority_uscc(region, k + 1))
            for k, (name, abbr, region, penalties, licenses) in enumerate(UNITS)
        ]
        self.credit_office = (CREDIT_OFFICE[0], make_authority_uscc(CREDIT_OFFICE[1], 90))
        self.approval_office = (APPROVAL_OFFICE[0], make_authority_uscc(APPROVAL_OFFICE[1], 91))
        unit_rng = self.rng("units")
        order = list(range(len(self.units)))
        unit_rng.shuffle(order)
        self.xlsx_units = set(order[: rates.XLSX_UNITS])
        self.under_reporting = set(order[rates.XLSX_UNITS : rates.XLSX_UNITS + rates.UNDER_REPORTING_UNITS])
        # Filled by penalties/licenses for the feeds that refer to them.
        self.ledger: defaultdict[tuple, list[int]] = defaultdict(
            lambda: [0, 0]
        )  # (unit index, month) -> [licenses, penalties]
        self.repair_refs: list[dict] = []
        self.objection_refs: list[dict] = []

    # -- shared helpers ----------------------------------------------------------------------------
    def rng(self, salt: str) -> random.Random:
        return random.Random(_seed_int(self.seed, salt))

    def faker(self, salt: str) -> Faker:
        fake = Faker("zh_CN")
        fake.seed_instance(_seed_int(self.seed, "faker:" + salt))
        return fake

    def unit_hash(self, i: int, salt: int) -> float:
        """A stable per-subject draw in [0, 1) without storing it (ints hash reproducibly)."""
        return (hash((self.seed, salt, i)) & 0xFFFFFFFF) / 2**32

    def path(self, feed: str, name: str) -> Path:
        return self.landing / feed / name

    def person(self, rng: random.Random, fake: Faker) -> tuple[str, str]:
        birth = dt.date(1955, 1, 1) + dt.timedelta(days=rng.randrange(365 * 50))
        region = rng.choice(PERSON_REGIONS)
        return fake.name(), make_resident_id(region, birth, rng.randrange(1000))

    def random_day(self, rng: random.Random, first: dt.date) -> dt.date | None:
        last = min(month_end(first), self.as_of)
        if last < first:
            return None
        return first + dt.timedelta(days=rng.randrange((last - first).days + 1))

    # -- the registry ------------------------------------------------------------------------------
    def build_registry(self) -> None:
        rng, fake, s = self.rng("subjects"), self.faker("subjects"), self.subjects
        region_weights = [w for *_, w in REGIONS]
        latest = self.as_of - dt.timedelta(days=30)
        for i in range(self.n):
            t = rng.choices(range(len(TYPES)), weights=list(rates.SUBJECT_TYPE_WEIGHTS.values()))[0]
            r = rng.choices(range(len(REGIONS)), weights=region_weights)[0]
            st = rng.choices(range(len(STATUSES)), weights=list(rates.STATUS_WEIGHTS.values()))[0]
            type_name = TYPES[t]
            code, district, city, _ = REGIONS[r]
            years_old = min(rng.expovariate(1 / 8), 30)
            established = latest - dt.timedelta(days=int(years_old * 365))
            closed = 0
            if STATUSES[st] != "存续":
                span = max((latest - established).days, 2)
                closed = (established + dt.timedelta(days=rng.randrange(1, span))).toordinal()
            prefix = USCC_PREFIX_BY_TYPE[type_name]
            if type_name == "社会组织" and rng.random() < 0.5:
                prefix = "52"
            modern = established.year >= 2016 or rng.random() < rates.MODERN_CODE_SHARE * 0.3
            s.uscc.append(make_uscc(prefix, code, i, modern))
            legal_rep = fake.name()
            s.name.append(self.subject_name(rng, fake, type_name, district, city, legal_rep))
            s.legal_rep.append(legal_rep)
            s.type.append(t)
            s.region.append(r)
            s.status.append(st)
            s.established.append(established.toordinal())
            s.closed.append(closed)
            s.ok.append(1)

    @staticmethod
    def subject_name(rng, fake, type_name, district, city, person) -> str:
        place = rng.choice(["宁夏", city[:2], district[:2], ""])
        if type_name == "企业":
            word = fake.company_prefix() if rng.random() < 0.4 else "".join(rng.sample(NAME_WORDS, 2))
            return f"{place}{word}{rng.choice(INDUSTRIES)[1]}{rng.choice(ENTERPRISE_SUFFIXES)}"
        if type_name == "个体工商户":
            return f"{district}{person}{rng.choice(SHOP_WORDS)}"
        if type_name == "农民专业合作社":
            return f"{district}{rng.choice(VILLAGE_WORDS)}{rng.choice(COOP_WORDS)}专业合作社"
        if type_name == "社会组织":
            return f"{city if rng.random() < 0.5 else district}{rng.choice(SOCIAL_WORDS)}"
        if type_name == "事业单位":
            return f"{district}{rng.choice(PUBLIC_INSTITUTIONS)}"
        if type_name == "机关":
            return f"{district}{rng.choice(GOVERNMENT_BODIES)}"
        return f"{district}{rng.choice(VILLAGE_WORDS)}股份经济合作社"

    def write_registry(self) -> None:
        rng, s = self.rng("subjects:files"), self.subjects
        by_region = defaultdict(list)
        for i in range(len(s)):
            by_region[s.region[i]].append(i)
        smallest = min(by_region, key=lambda r: len(by_region[r])) if by_region else None
        stamp = f"{self.as_of:%Y%m%d}"
        for r in sorted(by_region):
            code, district, city, _ = REGIONS[r]
            kind = "xlsx" if r == smallest else "csv"
            style = pick_style(rng, kind, title=f"{city}{district}市场主体登记信息表")
            name = f"市场主体登记_{code}_{stamp}.{kind}"
            arrived = self.clock.arrival(self.as_of - dt.timedelta(days=12 - r), 0)
            with Delivery(self.tally, "subjects", self.path("subjects", name), style, arrived, rng) as out:
                for i in by_region[r]:
                    spoiled = out.write(self.registry_row(rng, i))
                    if ERROR_DEFECTS & spoiled.keys():
                        s.ok[i] = 0
        self.write_name_conflicts(rng)

    def registry_row(self, rng, i: int) -> dict:
        s = self.subjects
        type_name = s.type_name(i)
        industry = rng.choice(INDUSTRIES)[0] if type_name in ("企业", "个体工商户", "农民专业合作社") else None
        capital = None
        if type_name in ("企业", "农民专业合作社"):
            capital = round(rng.choice([10, 50, 100, 200, 500, 1000, 3000, 5000]) * rng.uniform(0.5, 2), 2)
        return {
            "uscc": s.uscc[i],
            "name": s.name[i],
            "subject_type": type_name,
            "legal_rep": s.legal_rep[i] if type_name not in ("机关",) or rng.random() < 0.5 else None,
            "established_on": dt.date.fromordinal(s.established[i]),
            "status": STATUSES[s.status[i]],
            "closed_on": dt.date.fromordinal(s.closed[i]) if s.closed[i] else None,
            "region_code": REGIONS[s.region[i]][0],
            "industry_code": industry,
            "registered_capital": capital,
        }

    def write_name_conflicts(self, rng) -> None:
        """I01: a few valid codes delivered again, under another name, in a correction file."""
        s = self.subjects
        candidates = [i for i in range(len(s)) if s.ok[i] and s.type_name(i) == "企业"]
        count = min(len(candidates), max(1, round(self.n * rates.REGISTRY_NAME_CONFLICT_RATE)))
        chosen = sorted(rng.sample(candidates, count))
        fake = self.faker("subjects:conflicts")
        arrived = self.clock.arrival(self.as_of - dt.timedelta(days=2), 0)
        style = pick_style(rng, "csv", english=False)
        path = self.path("subjects", f"市场主体登记_变更补录_{self.as_of:%Y%m%d}.csv")
        with Delivery(self.tally, "subjects", path, style, arrived, rng) as out:
            for i in chosen:
                row = self.registry_row(rng, i)
                row["name"] = f"宁夏{fake.company_prefix()}{rng.choice(INDUSTRIES)[1]}有限公司"
                if row["name"] == s.name[i]:
                    row["name"] = "新" + row["name"]
                out.write(row, clean=True)
        self.tally.scenarios["subjects"]["name_conflicts"] = count
        self.tally.scenarios["subjects"]["codes_delivered"] = len(s)

    def pools(self) -> None:
        s = self.subjects
        self.orgs = array(
            "i",
            (i for i in range(len(s)) if s.ok[i] and s.status[i] == 0 and s.type_name(i) not in ("机关", "事业单位")),
        )
        self.gov = {
            t: [i for i in range(len(s)) if s.ok[i] and s.status[i] == 0 and s.type_name(i) == t]
            for t in ("机关", "事业单位")
        }

    # -- tax -----------------------------------------------------------------------------------
    def write_tax(self) -> None:
        rng, s = self.rng("tax"), self.subjects
        taxed = {"企业", "个体工商户", "农民专业合作社", "其他"}
        covered = [
            i
            for i in range(len(s))
            if s.ok[i] and s.type_name(i) in taxed and self.unit_hash(i, 1) < rates.TAX_COVERAGE
        ]
        ratings, rating_weights = list(TAX_RATING_WEIGHTS), list(TAX_RATING_WEIGHTS.values())
        for m in self.months:
            end = month_end(m)
            if end >= self.as_of:
                continue
            due_day = add_months(m, 1).replace(day=15)  # the monthly filing deadline
            if due_day > self.as_of:
                continue
            arrived = self.clock.arrival(due_day, 0, hour=10)
            style = pick_style(rng, "csv")
            path = self.path("tax", f"纳税信息_{m:%Y%m}.csv")
            rating_year = m.year - 1 if m.month >= 4 else m.year - 2
            with Delivery(self.tally, "tax", path, style, arrived, rng) as out:
                for i in covered:
                    if not s.active_on(i, end) or (s.type_name(i) in rates.TAX_QUARTERLY_TYPES and m.month % 3):
                        continue
                    out.write(self.tax_row(rng, i, m, rating_year, ratings, rating_weights))

    def tax_row(self, rng, i, m, rating_year, ratings, rating_weights) -> dict:
        s = self.subjects
        base = 200 + 60000 * self.unit_hash(i, 2) ** 3
        due = round(base * rng.uniform(0.6, 1.4), 2)
        paid, arrears = due, None
        if rng.random() < rates.TAX_PARTIAL_PAYMENT:
            paid = round(due * rng.uniform(0.2, 0.9), 2)
            arrears = round(due - paid, 2)
        elif rng.random() < 0.5:
            arrears = 0.0
        h = self.unit_hash(i, 100 + rating_year)
        rating, acc = None, 0.0
        for grade, weight in zip(ratings, rating_weights):
            acc += weight
            if h < acc:
                rating = grade
                break
        rating = rating or ratings[-1]
        if s.type_name(i) == "个体工商户" and self.unit_hash(i, 3) < 0.5:
            rating = None
        major = self.unit_hash(i, 4) < rates.TAX_MAJOR_VIOLATION_SUBJECTS and m.year >= self.as_of.year - 1
        code, district, city, _ = REGIONS[s.region[i]]
        return {
            "uscc": s.uscc[i],
            "name": s.name[i],
            "period": m,
            "tax_due": due,
            "tax_paid": paid,
            "arrears": arrears,
            "credit_rating": rating,
            "rating_year": str(rating_year) if rating else None,
            "major_violation": major if (major or rng.random() < 0.7) else None,
            "authority": f"国家税务总局{city}{district}税务局",
        }

    # -- utilities -----------------------------------------------------------------------------
    def write_utilities(self) -> None:
        rng, s = self.rng("utilities"), self.subjects
        billed = [m for m in self.months if add_workdays(month_end(m), 8) <= self.as_of]
        quarters = sorted({quarter_of(m) for m in billed})
        for u_index, (utility, coverage) in enumerate(rates.UTILITY_COVERAGE.items()):
            city_provider, wuzhong_provider, prefix = UTILITY_PROVIDERS[utility]
            users = [i for i in range(len(s)) if s.ok[i] and self.unit_hash(i, 10 + u_index) < coverage]
            for y, q in quarters:
                months = [m for m in billed if quarter_of(m) == (y, q)]
                arrived = self.clock.arrival(quarter_end(y, q), 8)
                style = pick_style(rng, "csv")
                path = self.path("utilities", f"{utility}费缴费信息_{y}年第{q}季度.csv")
                with Delivery(self.tally, "utilities", path, style, arrived, rng) as out:
                    for m in months:
                        for i in users:
                            if s.active_on(i, month_end(m)):
                                provider = wuzhong_provider if s.region[i] >= 6 else city_provider
                                out.write(self.utility_row(rng, i, utility, u_index, prefix, provider, m, arrived))

    def utility_row(self, rng, i, utility, u_index, prefix, provider, m, arrived) -> dict:
        s = self.subjects
        scale = {"电": 3000, "水": 600, "气": 1500}[utility]
        due = round(scale * (0.2 + 3 * self.unit_hash(i, 20 + u_index)) * rng.uniform(0.7, 1.3), 2)
        bad = self.unit_hash(i, 30) < rates.UTILITY_BAD_PAYERS
        paid, paid_on = due, month_end(m) + dt.timedelta(days=rng.randrange(1, 25))
        if bad and rng.random() < 0.4:
            paid = round(due * rng.choice([0, 0.5, 0.8]), 2)
            paid_on = None if paid == 0 else paid_on + dt.timedelta(days=rng.randrange(20, 60))
        if paid_on and paid_on > arrived.date():
            paid_on = arrived.date()
        return {
            "uscc": s.uscc[i],
            "name": s.name[i],
            "account_no": f"{prefix}{i * 7 + 1000003 + u_index:010d}",
            "utility": utility,
            "period": m,
            "amount_due": due,
            "amount_paid": paid,
            "paid_on": paid_on,
            "provider": provider,
        }

    # -- real estate ---------------------------------------------------------------------------
    def write_real_estate(self) -> None:
        """A stock file of what was registered before the history, then one file per quarter."""
        rng, fake = self.rng("real_estate"), self.faker("real_estate")
        total_orgs = round(len(self.orgs) * rates.REAL_ESTATE_PER_SUBJECT)
        total = round(total_orgs / (1 - rates.REAL_ESTATE_PERSON_SHARE)) if total_orgs else 0
        start = self.months[0]
        in_history = round(total * 0.6)
        serial = [0]
        stock_arrival = self.clock.arrival(start, 5)
        style = pick_style(rng, "csv")
        path = self.path("real_estate", f"不动产登记_存量_{start:%Y%m%d}.csv")
        with Delivery(self.tally, "real_estate", path, style, stock_arrival, rng) as out:
            for _ in range(total - in_history):
                day = start - dt.timedelta(days=rng.randrange(1, 3650))
                out.write(self.estate_row(rng, fake, day, serial))
        quarters = sorted({quarter_of(m) for m in self.months})
        per_quarter = in_history / max(len(quarters), 1)
        for k, (y, q) in enumerate(quarters):
            first = max(dt.date(y, 3 * q - 2, 1), start)
            last = min(quarter_end(y, q), self.as_of - dt.timedelta(days=1))
            if last < first:
                continue
            count = int(per_quarter * (k + 1)) - int(per_quarter * k)
            arrived = self.clock.arrival(quarter_end(y, q), 10)
            kind = "xlsx" if k % 5 == 2 else "csv"
            style = pick_style(rng, kind, title=f"{y}年第{q}季度不动产登记信息")
            path = self.path("real_estate", f"不动产登记_{y}Q{q}.{kind}")
            days = sorted(first + dt.timedelta(days=rng.randrange((last - first).days + 1)) for _ in range(count))
            with Delivery(self.tally, "real_estate", path, style, arrived, rng) as out:
                for day in days:
                    out.write(self.estate_row(rng, fake, day, serial, arrived.date()))

    def estate_row(self, rng, fake, registered_on: dt.date, serial: list, known_by: dt.date | None = None) -> dict:
        s = self.subjects
        serial[0] += 1
        known_by = known_by or self.as_of
        if rng.random() < rates.REAL_ESTATE_PERSON_SHARE or not self.orgs:
            owner_name, owner_id = self.person(rng, fake)
            region = rng.randrange(len(REGIONS))
        else:
            i = self.orgs[rng.randrange(len(self.orgs))]
            owner_name, owner_id, region = s.name[i], s.uscc[i], s.region[i]
        code, district, city, _ = REGIONS[region]
        usage = rng.choice(USAGES)
        mortgaged = rng.random() < rates.REAL_ESTATE_MORTGAGED
        seized = rng.random() < rates.REAL_ESTATE_SEIZED
        cancelled = None
        if rng.random() < rates.REAL_ESTATE_CANCELLED:
            day = registered_on + dt.timedelta(days=rng.randrange(30, 2000))
            cancelled = day if day <= known_by else None
        area = round(rng.uniform(45, 180) if usage == "住宅" else rng.uniform(60, 5000), 2)
        return {
            "unit_no": f"{code}{rng.randrange(1, 999):03d}{rng.randrange(1, 999):03d}GB{rng.randrange(1, 99999):05d}F{serial[0]:08d}",
            "certificate_no": f"宁（{registered_on.year}）{city if code < '640300' else district}不动产权第{serial[0]:07d}号",
            "owner_name": owner_name,
            "owner_id": owner_id,
            "location": f"{city}{district}{fake.street_name()}{rng.randrange(1, 400)}号{rng.randrange(1, 30)}号楼{rng.randrange(1, 6)}单元{rng.randrange(101, 2800)}室",
            "area_m2": area,
            "usage": usage,
            "registered_on": registered_on,
            "mortgaged": mortgaged,
            "mortgage_amount": round(area * rng.uniform(0.2, 0.8), 2) if mortgaged else None,
            "mortgagee": rng.choice(BANKS) if mortgaged else None,
            "seized": seized,
            "seized_by": COURTS[code][0] if seized else None,
            "cancelled_on": cancelled,
        }

    # -- penalties and licenses (双公示) -------------------------------------------------------
    def write_double_publicity(self, feed: str) -> None:
        """Decisions month by month; each reported some working days later and delivered in the
        file of the quarter it was reported in, by the platform (CSV) or the department (.xlsx)."""
        rng, fake = self.rng(feed), self.faker(feed)
        penalties = feed == "penalties"
        rate = rates.PENALTIES_PER_SUBJECT_YEAR if penalties else rates.LICENSES_PER_SUBJECT_YEAR
        per_month = self.n * rate / 12
        planned = self.plan_frequent_offenders(rng) if penalties else {}
        serials: Counter = Counter()
        buckets: dict[tuple, list] = defaultdict(list)
        self._recent: Counter[str] = Counter()  # uscc -> penalties decided in the 3 years up to as-of (I14)
        for idx, m in enumerate(self.decision_months):
            count = int(per_month) + (rng.random() < per_month % 1)
            events = [(self.random_day(rng, m), None) for _ in range(count)] + planned.get(m, [])
            for day, forced in sorted((e for e in events if e[0]), key=lambda e: e[0]):
                u = rng.randrange(len(self.units))
                serials[(u, day.year)] += 1
                make = self.penalty_row if penalties else self.license_row
                row, meta = make(rng, fake, day, u, forced, serials[(u, day.year)])
                self.ledger[(u, month_start(day))][1 if penalties else 0] += 1
                self.schedule_report(feed, rng, row, meta, buckets)
            last = idx == len(self.decision_months) - 1
            if last or quarter_of(self.decision_months[idx + 1]) != quarter_of(m):
                for key in sorted(k for k in buckets if k <= quarter_of(m)):
                    self.flush_double_publicity(feed, rng, key, buckets.pop(key))
        if penalties:
            self.tally.scenarios[feed]["frequent_offenders"] = sum(1 for c in self._recent.values() if c >= 10)

    def schedule_report(self, feed, rng, row, meta, buckets) -> None:
        scen = self.tally.scenarios[feed]
        day, forced = meta["decided"], meta["forced"]
        late = rates.LATE_REPORT_BEFORE_HOLIDAY if holiday_soon(day) else rates.LATE_REPORT
        lag = rng.randint(8, 25) if (not forced and rng.random() < late) else rng.randint(0, 7)
        reported = add_workdays(day, lag)
        if meta["unit"] in self.under_reporting and not forced and rng.random() < rates.UNDER_REPORTING_DROP:
            scen["never_delivered_by_under_reporting_units"] += 1
            return
        if reported > self.as_of:
            scen["reported_after_as_of"] += 1
            return
        meta["blank_report"] = not forced and rng.random() < rates.REPORTED_ON_BLANK
        row["reported_on"] = None if meta["blank_report"] else reported
        meta["reported"] = reported
        buckets[quarter_of(reported)].append((row, meta))

    def flush_double_publicity(self, feed, rng, quarter, items) -> None:
        y, q = quarter
        label = "行政处罚" if feed == "penalties" else "行政许可"
        channels = defaultdict(list)
        for row, meta in items:
            channels[meta["unit"] if meta["unit"] in self.xlsx_units else -1].append((row, meta))
        for channel in sorted(channels):
            arrived = self.clock.arrival(quarter_end(y, q), 5)
            if channel == -1:
                style = pick_style(rng, "csv")
                path = self.path(feed, f"双公示平台_{label}_{y}年第{q}季度.csv")
            else:
                unit_name = self.units[channel][0]
                style = pick_style(rng, "xlsx", title=f"{unit_name}{label}信息报送表")
                path = self.path(feed, f"{unit_name}_{label}_{y}Q{q}.xlsx")
            with Delivery(self.tally, feed, path, style, arrived, rng) as out:
                for row, meta in sorted(channels[channel], key=lambda item: item[1]["reported"]):
                    spoiled = out.write(row, clean=meta["forced"])
                    self.account_row(feed, rng, row, meta, spoiled, arrived.date())

    def account_row(self, feed, rng, row, meta, spoiled, arrived: dt.date) -> None:
        """Count what the row means for the indicators, as a reader of the file would see it."""
        scen = self.tally.scenarios[feed]
        hit = set(spoiled.values())
        day = meta["decided"]
        if meta["blank_report"]:
            scen["reported_on_blank"] += 1
        if not hit & {"decided_on", "reported_on"}:
            effective = arrived if meta["blank_report"] else meta["reported"]
            if effective > deadline(day, 7):
                scen["late_reports"] += 1
        if meta["mismatch"] and not hit & {"uscc", "subject_category"}:
            scen["category_mismatch"] += 1
        uscc = meta["uscc"]
        if feed == "penalties" and uscc and not hit & {"uscc", "decided_on"}:
            if years_before(self.as_of, 3) < day <= self.as_of:
                self._recent[uscc] += 1
        if spoiled or not uscc:
            return
        ref = {
            "decision_no": row["decision_no"],
            "uscc": uscc,
            "name": meta["name"],
            "decided": day,
            "severity": meta["severity"],
            "category": "行政处罚" if feed == "penalties" else "行政许可",
        }
        if feed == "penalties" and meta["publicised"] and rng.random() < rates.REPAIR_SHARE[meta["severity"]]:
            self.repair_refs.append(ref)
        if rng.random() < rates.OBJECTION_SHARE:
            self.objection_refs.append(ref)

    def plan_frequent_offenders(self, rng) -> dict:
        """I14: a handful of subjects with 10-13 penalties each, all within the last 3 years."""
        count = min(len(self.orgs), max(2, round(self.n * rates.FREQUENT_OFFENDERS_PER_1000 / 1000)))
        first = max(self.decision_months[0], years_before(self.as_of, 3) + dt.timedelta(days=40))
        last = self.as_of - dt.timedelta(days=60)
        plan: defaultdict[dt.date, list] = defaultdict(list)
        if last <= first:
            return plan
        for i in sorted(rng.sample(list(self.orgs), count)):
            for _ in range(rng.randint(10, 13)):
                day = first + dt.timedelta(days=rng.randrange((last - first).days))
                plan[month_start(day)].append((day, i))
        return plan

    def pick_subject(self, rng, fake, forced, person_share):
        """(category, name, uscc, legal_rep, id_no, org index or None, category mismatch)."""
        s = self.subjects
        if forced is None and (rng.random() < person_share or not self.orgs):
            name, id_no = self.person(rng, fake)
            return "自然人", name, None, None, id_no, None, False
        i = forced if forced is not None else self.orgs[rng.randrange(len(self.orgs))]
        individual = s.uscc[i].startswith("92")
        mismatch = individual and forced is None and rng.random() < rates.CATEGORY_MISMATCH
        category = "个体工商户" if individual and not mismatch else "法人及非法人组织"
        return category, s.name[i], s.uscc[i], s.legal_rep[i], None, i, mismatch

    def penalty_row(self, rng, fake, day, u, forced, serial):
        unit_name, abbr, region, profiles, _, unit_uscc = self.units[u]
        category, name, uscc, legal_rep, id_no, i, mismatch = self.pick_subject(
            rng, fake, forced, rates.PENALTY_PERSON_SHARE
        )
        violation, facts, basis, options = rng.choice(profiles)
        severity = "严重" if rng.random() < rates.PENALTY_SERIOUS else "一般"
        summary = severity == "一般" and rng.random() < rates.PENALTY_SUMMARY_PROCEDURE
        r = rng.random()
        if r < rates.PENALTY_WARNING_ONLY:
            types = ["警告"]
        elif r < rates.PENALTY_WARNING_ONLY + rates.PENALTY_CRITICISM_ONLY:
            types = ["通报批评"]
        else:
            types = rng.choice(options).split(";")
            if "行政拘留" in types and category != "自然人":
                types = ["罚款"]
            if severity == "严重" and category != "自然人" and rng.random() < 0.3:
                types.append("吊销许可证件")
        fine = (
            round(rng.uniform(5, 100) if severity == "严重" else rng.uniform(0.02, 5), 2) if "罚款" in types else None
        )
        confiscated = round(rng.uniform(0.1, 20), 2) if any(t.startswith("没收") for t in types) else None
        content = "、".join(types)
        if fine:
            content += f"，罚款人民币{fine * 10000:,.0f}元"
        license_affected = f"许可证编号{region}{rng.randrange(10**7):07d}" if "吊销许可证件" in types else None
        only_mild = set(types) <= ({"警告", "通报批评"} if day >= REGIME_2026 else {"警告"})
        publicised = not summary and not only_mild
        max_months = 36 if severity == "严重" else 12
        row = {
            "subject_name": name,
            "subject_category": category,
            "uscc": uscc,
            "legal_rep": legal_rep,
            "id_type": "身份证" if id_no else None,
            "id_no": id_no,
            "decision_no": f"{abbr}罚字〔{day.year}〕{serial:04d}号",
            "violation_type": violation,
            "violation_facts": facts.format(item=rng.choice(ITEMS)),
            "legal_basis": basis,
            "penalty_type": ";".join(types),
            "penalty_content": content,
            "fine_amount": fine,
            "confiscated_amount": confiscated,
            "license_affected": license_affected,
            "decided_on": day,
            "valid_until": day + dt.timedelta(days=rng.randrange(30, 180)) if "责令停产停业" in types else None,
            "publicity_until": add_months(day, max_months) if publicised and rng.random() < 0.6 else None,
            "authority": unit_name,
            "authority_uscc": unit_uscc,
            "source_unit": unit_name,
            "source_unit_uscc": unit_uscc,
            "severity": "严重"
            if severity == "严重"
            else (None if rng.random() < rates.PENALTY_SEVERITY_BLANK else "一般"),
            "summary_procedure": summary if (summary or rng.random() < 0.6) else None,
            "remarks": "当场处罚" if summary else None,
        }
        meta = {
            "decided": day,
            "unit": u,
            "forced": forced is not None,
            "uscc": uscc,
            "name": name,
            "severity": severity,
            "publicised": publicised,
            "mismatch": mismatch,
        }
        return row, meta

    def license_row(self, rng, fake, day, u, forced, serial):
        unit_name, abbr, region, _, profiles, unit_uscc = self.units[u]
        category, name, uscc, legal_rep, id_no, i, mismatch = self.pick_subject(
            rng, fake, forced, rates.LICENSE_PERSON_SHARE
        )
        title, certificate, license_type, content = rng.choice(profiles)
        valid_from = day + dt.timedelta(days=rng.choice([0, 0, 0, 1, 3]))
        valid_until = add_months(valid_from, 12 * rng.choice([1, 3, 5, 5])) - dt.timedelta(days=1)
        row = {
            "subject_name": name,
            "subject_category": category,
            "uscc": uscc,
            "legal_rep": legal_rep,
            "id_no": id_no,
            "decision_title": title,
            "decision_no": f"{abbr}许字〔{day.year}〕{serial:04d}号",
            "license_type": license_type,
            "certificate_name": certificate,
            "license_no": f"{region}{day.year}{serial:06d}" if certificate else None,
            "content": content,
            "decided_on": day,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "authority": unit_name,
            "authority_uscc": unit_uscc,
            "state": ("有效" if valid_until >= self.as_of else "无效") if rng.random() < 0.8 else None,
            "source_unit": unit_name,
            "source_unit_uscc": unit_uscc,
            "remarks": None,
        }
        meta = {
            "decided": day,
            "unit": u,
            "forced": False,
            "uscc": uscc,
            "name": name,
            "severity": "一般",
            "publicised": True,
            "mismatch": mismatch,
        }
        return row, meta

    # -- dishonest debtors (失信被执行人) --------------------------------------------------------
    def write_dishonest_debtors(self) -> None:
        """Court lists; each case delivered in the quarter of its latest state (published/removed)."""
        rng, fake, s = self.rng("dishonest_debtors"), self.faker("dishonest_debtors"), self.subjects
        scen = self.tally.scenarios["dishonest_debtors"]
        subjects: list[int | None] = (
            [self.orgs[rng.randrange(len(self.orgs))] for _ in range(round(self.n * rates.DEBTOR_ORGS_PER_SUBJECT))]
            if self.orgs
            else []
        )
        subjects += [None] * round(self.n * rates.DEBTOR_PERSONS_PER_SUBJECT)
        for kind, pool in sorted(self.gov.items()):
            if pool:
                chosen = rng.sample(
                    pool, min(len(pool), max(1, round(self.n * rates.DEBTOR_GOVERNMENT_PER_1000 / 1000)))
                )
                subjects += chosen
                scen[f"government_{kind}"] = len(chosen)
        first, span = self.months[0], (self.as_of - self.months[0]).days
        buckets = defaultdict(list)
        serial: Counter[tuple[str, int]] = Counter()
        for i in subjects:
            filed = first - dt.timedelta(days=200) + dt.timedelta(days=rng.randrange(span + 200))
            published = filed + dt.timedelta(days=rng.randrange(10, 90))
            if published > self.as_of:
                continue
            removed = None
            if rng.random() < rates.DEBTOR_REMOVED:
                day = published + dt.timedelta(days=rng.randrange(20, 500))
                removed = day if day <= self.as_of else None
            if i is None:
                name, subject_id = self.person(rng, fake)
                region, legal_rep = REGIONS[rng.randrange(len(REGIONS))][0], None
            else:
                name, subject_id, legal_rep = s.name[i], s.uscc[i], s.legal_rep[i]
                region = REGIONS[s.region[i]][0]
            court, court_code = COURTS[region] if rng.random() < 0.85 else INTERMEDIATE_COURT
            serial[(court_code, filed.year)] += 1
            row = {
                "case_no": f"（{filed.year}）宁{court_code}执{serial[(court_code, filed.year)]:04d}号",
                "subject_name": name,
                "subject_id": subject_id,
                "legal_rep": legal_rep,
                "court": court,
                "filed_on": filed,
                "basis_no": f"（{filed.year - 1}）宁{court_code}民初{rng.randrange(1, 9999)}号",
                "circumstance": rng.choice(DEBTOR_CIRCUMSTANCES),
                "performance": "全部已履行" if removed else rng.choice(["全部未履行", "部分未履行"]),
                "published_on": published,
                "removed_on": removed,
            }
            buckets[quarter_of(removed or published)].append((published, row, i))
        for y, q in sorted(buckets):
            arrived = self.clock.arrival(quarter_end(y, q), 10)
            style = pick_style(rng, "csv")
            path = self.path("dishonest_debtors", f"失信被执行人名单_{y}年第{q}季度.csv")
            with Delivery(self.tally, "dishonest_debtors", path, style, arrived, rng) as out:
                for _published, row, i in sorted(buckets[(y, q)], key=lambda item: item[0]):
                    gov = i is not None and s.type_name(i) in ("机关", "事业单位")
                    out.write(row, clean=gov)  # I12/I13 must see the government bodies
                    scen["cases"] += 1
                    scen["removed"] += row["removed_on"] is not None
                    scen["active_government"] += gov and row["removed_on"] is None

    # -- credit commitments --------------------------------------------------------------------
    def write_commitments(self) -> None:
        rng, s = self.rng("commitments"), self.subjects
        types = list(COMMITMENT_TYPES)
        weights = [COMMITMENT_TYPES[t][0] for t in types]
        units = [(u[0], u[5]) for u in self.units] + [self.credit_office, self.approval_office] * 3
        per_month = self.n * rates.COMMITMENTS_PER_SUBJECT_YEAR / 12
        serial = 0
        quarters = sorted({quarter_of(m) for m in self.months})
        for y, q in quarters:
            months = [m for m in self.months if quarter_of(m) == (y, q)]
            arrived = self.clock.arrival(quarter_end(y, q), 7)
            style = pick_style(rng, "csv")
            path = self.path("commitments", f"信用承诺_{y}年第{q}季度.csv")
            with Delivery(self.tally, "commitments", path, style, arrived, rng) as out:
                for m in months:
                    count = int(per_month) + (rng.random() < per_month % 1)
                    days = sorted(d for d in (self.random_day(rng, m) for _ in range(count)) if d)
                    for day in days:
                        if not self.orgs:
                            break
                        serial += 1
                        i = self.orgs[rng.randrange(len(self.orgs))]
                        kind = rng.choices(types, weights=weights)[0]
                        unit, unit_uscc = rng.choice(units)
                        status, status_on = "未到期", None
                        due = day + dt.timedelta(days=rng.randrange(10, 120))
                        if due <= arrived.date():
                            status = "未履约" if rng.random() < 0.07 else "履约"
                            status_on = due
                        out.write(
                            {
                                "commitment_no": f"CN{day:%Y%m%d}{serial:07d}",
                                "subject_name": s.name[i],
                                "uscc": s.uscc[i],
                                "commitment_type": kind,
                                "reason": rng.choice(COMMITMENT_TYPES[kind][1]).format(item=rng.choice(ITEMS)),
                                "committed_on": day,
                                "unit": unit,
                                "unit_uscc": unit_uscc,
                                "fulfilment": status if rng.random() < 0.95 else None,
                                "fulfilment_on": status_on,
                            }
                        )

    # -- credit repairs ------------------------------------------------------------------------
    def write_repairs(self) -> None:
        rng, scen = self.rng("repairs"), self.tally.scenarios["repairs"]
        buckets = defaultdict(list)
        for serial, ref in enumerate(self.repair_refs, 1):
            decided = ref["decided"]
            minimum = 3 if ref["severity"] == "一般" else (6 if decided < REGIME_2023 else 12)
            min_end = add_months(decided, minimum)
            early = rng.random() < rates.REPAIR_BEFORE_MINIMUM
            if early:
                applied = decided + dt.timedelta(days=rng.randrange(15, max(16, (min_end - decided).days - 20)))
            else:
                applied = min_end + dt.timedelta(days=rng.randrange(0, 150))
            if applied > self.as_of:
                continue
            accepted = add_workdays(applied, rng.choice([0, 1, 1, 2]))
            completed = add_workdays(
                accepted, rng.randint(4, 9) if rng.random() < rates.REPAIR_SLOW else rng.randint(1, 3)
            )
            result = "同意" if early or rng.random() >= rates.REPAIR_REFUSED else "不同意"
            if completed > self.as_of:
                completed, result = None, None
            row = {
                "repair_no": f"XF{applied:%Y%m%d}{serial:05d}",
                "uscc": ref["uscc"],
                "subject_name": ref["name"],
                "decision_no": ref["decision_no"],
                "applied_on": applied,
                "accepted_on": accepted if accepted <= self.as_of else None,
                "completed_on": completed,
                "result": result,
                "unit": self.credit_office[0],
            }
            buckets[quarter_of(completed or self.as_of)].append((applied, row, min_end))
        for y, q in sorted(buckets):
            arrived = self.clock.arrival(quarter_end(y, q), 3)
            style = pick_style(rng, "csv")
            path = self.path("repairs", f"信用修复_{y}年第{q}季度.csv")
            with Delivery(self.tally, "repairs", path, style, arrived, rng) as out:
                for _applied, row, min_end in sorted(buckets[(y, q)], key=lambda item: item[0]):
                    hit = set(out.write(row).values())
                    if (
                        row["result"] == "同意"
                        and row["completed_on"] < min_end
                        and not hit & {"decision_no", "completed_on"}
                    ):
                        scen["completed_before_minimum"] += 1

    # -- objections ----------------------------------------------------------------------------
    def write_objections(self) -> None:
        rng, s, scen = self.rng("objections"), self.subjects, self.tally.scenarios["objections"]
        refs = sorted(self.objection_refs, key=lambda r: r["decided"])
        # At least a few, so that even a tiny sample delivers this feed.
        others = max(3, round(len(refs) * rates.OBJECTION_OTHER / (1 - rates.OBJECTION_OTHER)))
        for _ in range(others if self.orgs else 0):
            i = self.orgs[rng.randrange(len(self.orgs))]
            refs.append(
                {
                    "decision_no": None,
                    "uscc": s.uscc[i],
                    "name": s.name[i],
                    "category": "其他",
                    "decided": self.months[0]
                    + dt.timedelta(days=rng.randrange((self.as_of - self.months[0]).days - 200)),
                }
            )
        buckets = defaultdict(list)
        for serial, ref in enumerate(refs, 1):
            raised = ref["decided"] + dt.timedelta(days=rng.randrange(3, 200))
            if raised > self.as_of:
                continue
            completed = add_workdays(
                raised, rng.randint(6, 15) if rng.random() < rates.OBJECTION_SLOW else rng.randint(1, 5)
            )
            result = rng.choices(["维持", "更正", "撤销"], weights=[0.6, 0.25, 0.15])[0]
            if completed > self.as_of:
                completed, result = None, None
            row = {
                "objection_no": f"YY{raised:%Y%m%d}{serial:05d}",
                "uscc": ref["uscc"],
                "subject_name": ref["name"],
                "info_category": ref["category"],
                "decision_no": ref["decision_no"],
                "raised_on": raised,
                "completed_on": completed,
                "result": result,
                "valid": None if result is None else result != "维持",
                # 更正 of a penalty: found to be less serious than reported (the usual correction)
                "corrected_severity": "一般" if result == "更正" and ref["category"] == "行政处罚" else None,
                "corrected_penalty_type": None,
                "corrected_fine_amount": None,
                "corrected_valid_until": None,
            }
            buckets[quarter_of(completed or self.as_of)].append((raised, row))
        for y, q in sorted(buckets):
            arrived = self.clock.arrival(quarter_end(y, q), 3)
            style = pick_style(rng, "csv")
            path = self.path("objections", f"异议申诉_{y}年第{q}季度.csv")
            with Delivery(self.tally, "objections", path, style, arrived, rng) as out:
                for _raised, row in sorted(buckets[(y, q)], key=lambda item: item[0]):
                    out.write(row)
                    scen["valid_objections"] += row["valid"] is True

    # -- ledgers (双公示台账) ------------------------------------------------------------------
    def write_ledgers(self) -> None:
        """What each department really decided per month (including what it never delivered)."""
        rng = self.rng("ledgers")
        complete = [m for m in self.decision_months if month_end(m) <= self.as_of]
        for y, q in sorted({quarter_of(m) for m in complete}):
            arrived = self.clock.arrival(quarter_end(y, q), 10)
            kind = "xlsx" if q == 4 else "csv"
            style = pick_style(rng, kind, title=f"{y}年第{q}季度行政许可和行政处罚双公示台账")
            path = self.path("ledgers", f"双公示台账_{y}Q{q}.{kind}")
            with Delivery(self.tally, "ledgers", path, style, arrived, rng) as out:
                for m in (m for m in complete if quarter_of(m) == (y, q)):
                    for u, unit in enumerate(self.units):
                        licenses, penalties = self.ledger.get((u, m), (0, 0))
                        out.write(
                            {
                                "unit": unit[0],
                                "unit_uscc": unit[5],
                                "month": m,
                                "license_decisions": licenses,
                                "penalty_decisions": penalties,
                            },
                            clean=True,
                        )
        self.tally.scenarios["ledgers"]["under_reporting_units"] = len(self.under_reporting)

    # -- duplicates and the whole run ----------------------------------------------------------
    def write_duplicates(self) -> None:
        for feed in rates.DUPLICATE_DELIVERIES:
            files = [p for p in self.tally.paths if p.parent.name == feed]
            if len(files) < 2:
                continue
            original = files[1]
            arrived = dt.datetime.fromtimestamp(original.stat().st_mtime, SHANGHAI).replace(tzinfo=None)
            arrived = min(arrived + dt.timedelta(days=3), dt.datetime.combine(self.as_of, dt.time(6, 0)))
            redeliver(
                self.tally, feed, original, f"{original.stem}_重新报送{original.suffix}", arrived.replace(tzinfo=None)
            )

    def run(self) -> dict:
        t = self.tally
        t.note(f"{self.n} subjects, as of {self.as_of}, seed {self.seed}, into {self.landing}")
        self.build_registry()
        self.write_registry()
        self.pools()
        self.write_tax()
        self.write_utilities()
        self.write_real_estate()
        self.write_double_publicity("penalties")
        self.write_double_publicity("licenses")
        self.write_dishonest_debtors()
        self.write_commitments()
        self.write_repairs()
        self.write_objections()
        self.write_ledgers()
        self.write_duplicates()
        scratch = self.landing / ".partial"
        if scratch.is_dir() and not any(scratch.iterdir()):
            scratch.rmdir()
        return self.summary()

    def summary(self) -> dict:
        t = self.tally
        feeds = FEED_ORDER
        return {
            "as_of": self.as_of.isoformat(),
            "seed": self.seed,
            "subjects": self.n,
            "landing": str(self.landing),
            "feeds": {f: {"files": t.files[f], "rows": t.rows[f]} for f in feeds},
            "defects": {f: dict(sorted(t.defects[f].items())) for f in feeds},
            "scenarios": {f: dict(sorted(t.scenarios[f].items())) for f in feeds if t.scenarios[f]},
            "under_reporting_units": sorted(self.units[u][0] for u in self.under_reporting),
            "xlsx_units": sorted(self.units[u][0] for u in self.xlsx_units),
            "rates": dict(rates.ROW_DEFECT_RATES),
        }
