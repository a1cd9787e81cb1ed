"""One deterministic population of people, households and their true identifiers."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

import phonenumbers

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Christopher", "Karen", "Charles", "Lisa", "Daniel", "Nancy", "Matthew", "Margaret",
    "Anthony", "Sandra", "Mark", "Ashley", "Donald", "Katherine", "Steven", "Emily", "Andrew",
    "Michelle", "Joshua", "Amanda", "Kenneth", "Melissa", "Kevin", "Deborah", "Brian",
    "Stephanie", "George", "Rebecca", "Timothy", "Sharon", "Ronald", "Laura", "Jason", "Cynthia",
    "Edward", "Dorothy", "Jeffrey", "Amy", "Ryan", "Kathleen", "Jacob", "Angela", "Gary",
    "Shirley", "Nicholas", "Emma", "Eric", "Brenda", "Jonathan", "Pamela", "Stephen", "Nicole",
    "Larry", "Anna", "Justin", "Samantha", "Scott", "Victoria", "Brandon", "Alexandra",
    "Benjamin", "Rachel", "Samuel", "Olivia", "Alexander", "Sophia", "Francisco", "María",
    "José", "Lucía", "Guillermo", "Zoë", "Chloé", "Renée", "Noël", "André", "François", "Björn",
    "Søren", "Ana", "Mateo", "Camila", "Wei", "Mei", "Hiroshi", "Yuki", "Priya", "Arjun",
    "Fatima", "Omar", "Aisha", "Ibrahim", "Siobhán", "Niamh", "Seán", "Oluwaseun", "Chidi",
    "Ngozi", "Dmitri", "Olga", "Łukasz", "Agnieszka", "Jürgen", "Günther", "Inès", "Hélène",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gómez", "Phillips", "Evans",
    "Turner", "Díaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
    "Morales", "Murphy", "Cook", "Rogers", "Gutiérrez", "Ortiz", "Morgan", "Cooper", "Peterson",
    "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson",
    "Brooks", "Chávez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price",
    "Álvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jiménez",
    "Müller", "Schröder", "O'Brien", "O'Connor", "McCarthy", "Ní Bhriain", "Nakamura", "Tanaka",
    "Wang", "Zhang", "Chen", "Singh", "Kowalski", "Nowak", "Ivanov", "Okafor", "Adeyemi",
    "Haddad", "Khan", "Dubois", "Lefèvre", "Van der Berg", "Larsen", "Søndergaard", "Łaski",
)
EMAIL_DOMAINS = (
    ("gmail.com", 36), ("yahoo.com", 11), ("outlook.com", 9), ("hotmail.com", 8),
    ("icloud.com", 10), ("aol.com", 3), ("proton.me", 2), ("comcast.net", 4),
    ("fastmail.com", 1), ("acme-corp.com", 5), ("globex.example", 4), ("initech.io", 3),
)
GB_EMAIL_DOMAINS = (
    ("gmail.com", 40), ("btinternet.com", 20), ("outlook.com", 20), ("yahoo.co.uk", 20),
)
WORK_DOMAINS = ("acme-corp.com", "globex.example", "initech.io", "umbrella.example")

US_AREA_CODES = (
    "212", "646", "718", "917", "347", "201", "973", "617", "857", "215", "267", "312", "773",
    "415", "510", "650", "213", "310", "323", "206", "425", "503", "303", "512", "404", "305",
)
US_STREETS = ("Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Park Ave", "Elm St", "2nd Ave",
              "Washington Blvd", "Lake Shore Dr", "Sunset Blvd", "Mission St", "Broadway")
US_CITIES = (
    ("New York", "New York", "NY", "100"), ("Brooklyn", "New York", "NY", "112"),
    ("Jersey City", "New Jersey", "NJ", "073"), ("Boston", "Massachusetts", "MA", "021"),
    ("Philadelphia", "Pennsylvania", "PA", "191"), ("Chicago", "Illinois", "IL", "606"),
    ("San Francisco", "California", "CA", "941"), ("Oakland", "California", "CA", "946"),
    ("Los Angeles", "California", "CA", "900"), ("Seattle", "Washington", "WA", "981"),
    ("Portland", "Oregon", "OR", "972"), ("Austin", "Texas", "TX", "787"),
)
GB_CITIES = (("London", "England", "ENG", "SW1A"), ("Manchester", "England", "ENG", "M1"),
             ("Edinburgh", "Scotland", "SCT", "EH1"))

SYSTEM_SHARE = {"shopify": 0.66, "square": 0.55, "zendesk": 0.32, "loyalty": 0.42}


@dataclass(slots=True)
class Address:
    address1: str
    city: str
    province: str
    province_code: str
    zip: str
    country_code: str


@dataclass(slots=True)
class Person:
    """A real person: the truth behind the records the systems hold."""

    key: str
    first: str
    last: str
    email: str | None
    phone: str | None
    address: Address
    systems: tuple[str, ...]
    household: int | None = None
    alt_email: str | None = None
    records: dict[str, str] = field(default_factory=dict)
    culture: str = "us"
    """How the person's name is written: ``us`` (the original population), or ``es``, ``ca``,
    ``it``, ``pt``, ``fr`` (see :mod:`silos.generator.locales`)."""
    surnames: tuple[str, ...] = ()
    """A non-US person's family names (Spanish: paternal, maternal); ``last`` joins them."""
    shorten: bool = True
    """Whether clerks may shorten a compound given name (not when a household member's given
    name starts the same way: María José and María Teresa both shortened are indistinguishable)."""


def _weighted(options: tuple[str, ...], rng: random.Random, skew: float) -> str:
    idx = int(len(options) * (rng.random() ** skew))
    return options[min(idx, len(options) - 1)]


def _us_phone(rng: random.Random) -> str:
    """A valid NANP number: a real area code and a [2-9]XX exchange (no N11, no 555)."""
    exchange = rng.randrange(201, 990)
    while exchange % 100 == 11 or exchange == 555:
        exchange = rng.randrange(201, 990)
    return f"+1{rng.choice(US_AREA_CODES)}{exchange}{rng.randrange(10000):04d}"


def _gb_phone(rng: random.Random) -> str:
    while True:
        candidate = f"+447{rng.choice('4589')}{rng.randrange(10**8):08d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            return candidate


def _ascii_local(text: str) -> str:
    from silos.generator.noise import strip_accents

    return "".join(c for c in strip_accents(text).lower() if c.isalnum())


def _email(first: str, last: str, domain: str, rng: random.Random, taken: set[str]) -> str:
    f, last_part = _ascii_local(first), _ascii_local(last)
    patterns = (f"{f}.{last_part}", f"{f}{last_part}", f"{f[:1]}{last_part}", f"{f}_{last_part}",
                f"{last_part}.{f}")
    return unique_address(rng.choice(patterns), domain, rng, taken)


def unique_address(base: str, domain: str, rng: random.Random, taken: set[str]) -> str:
    """``base@domain``, a number appended until neither it nor its dotless local part is
    ``taken``; both then are."""
    candidate = f"{base}@{domain}"
    n = 0
    while candidate in taken or candidate.replace(".", "").split("@")[0] in taken:
        n += 1
        candidate = f"{base}{rng.randrange(10, 100) if n < 5 else n}@{domain}"
    taken.add(candidate)
    taken.add(candidate.replace(".", "").split("@")[0])
    return candidate


def _pick_domain(table: tuple[tuple[str, int], ...], rng: random.Random) -> str:
    total = sum(w for _, w in table)
    roll = rng.randrange(total)
    for domain, weight in table:
        if roll < weight:
            return domain
        roll -= weight
    return table[-1][0]


def _address(rng: random.Random, country: str) -> Address:
    if country == "GB":
        city, province, code, prefix = rng.choice(GB_CITIES)
        street = rng.choice(("High St", "Church Rd", "Station Rd"))
        return Address(f"{rng.randrange(1, 200)} {street}", city, province, code,
                       f"{prefix} {rng.randrange(1, 9)}AA", "GB")
    city, province, code, prefix = rng.choice(US_CITIES)
    return Address(f"{rng.randrange(1, 9999)} {rng.choice(US_STREETS)}", city, province, code,
                   f"{prefix}{rng.randrange(100):02d}", "US")


def _systems(rng: random.Random) -> tuple[str, ...]:
    chosen = tuple(k for k, share in SYSTEM_SHARE.items() if rng.random() < share)
    return chosen or (rng.choice(tuple(SYSTEM_SHARE)),)


class _Counters:
    """Person keys and household ids handed out across one population."""

    def __init__(self) -> None:
        self.people = itertools.count(1)
        self.households = itertools.count(1)

    def person_key(self) -> str:
        return f"P{next(self.people):07d}"


def build_population(count: int, rng: random.Random) -> list[Person]:
    """``count`` people: ~12% in households sharing a phone and address, common names shared
    by unrelated people (Zipf-skewed name choice), ~10% without a phone, ~4% with a second
    (work) email that some systems hold instead of the personal one."""
    people: list[Person] = []
    taken: set[str] = set()
    counters = _Counters()
    while len(people) < count:
        add_us_household(people, count, rng, taken, counters)
    return people


def add_us_household(people: list[Person], count: int, rng: random.Random, taken: set[str],
                     counters: _Counters) -> None:
    """One US (or British) household of 1-4 people, appended to ``people`` (at most
    ``count`` in all)."""
    country = "GB" if rng.random() < 0.08 else "US"
    size = 1
    if rng.random() < 0.055:
        size = min(rng.choice((2, 2, 2, 3, 3, 4)), count - len(people))
    household = next(counters.households) if size > 1 else None
    address = _address(rng, country)
    shared_phone = (_gb_phone(rng) if country == "GB" else _us_phone(rng)) if size > 1 else None
    last = _weighted(LAST_NAMES, rng, 1.6)
    used_first: set[str] = set()
    for _ in range(size):
        first = _weighted(FIRST_NAMES, rng, 1.5)
        while first in used_first:
            first = rng.choice(FIRST_NAMES)
        used_first.add(first)
        shares_name = household is not None and rng.random() < 0.8
        member_last = last if shares_name else _weighted(LAST_NAMES, rng, 1.6)
        domain = _pick_domain(GB_EMAIL_DOMAINS if country == "GB" else EMAIL_DOMAINS, rng)
        email = _email(first, member_last, domain, rng, taken) if rng.random() < 0.97 else None
        if shared_phone is not None and rng.random() < 0.75:
            phone: str | None = shared_phone
        elif rng.random() < 0.9:
            phone = _gb_phone(rng) if country == "GB" else _us_phone(rng)
        else:
            phone = None
        alt = None
        if email is not None and rng.random() < 0.04:
            alt = _email(first, member_last, rng.choice(WORK_DOMAINS), rng, taken)
        people.append(Person(
            key=counters.person_key(), first=first, last=member_last, email=email,
            phone=phone, address=address, systems=_systems(rng), household=household,
            alt_email=alt,
        ))
