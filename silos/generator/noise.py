"""How the same person's identifiers come out differently in each system (pure functions).

Every function takes the generator's ``random.Random`` so a seed reproduces the same noise.
"""

from __future__ import annotations

import random
import unicodedata

NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy"),
    "Robert": ("Bob", "Rob", "Bobby"),
    "Elizabeth": ("Liz", "Beth", "Lizzie"),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Michael": ("Mike", "Mikey"),
    "Jennifer": ("Jen", "Jenny"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "Richard": ("Rick", "Dick", "Rich"),
    "Christopher": ("Chris",),
    "Alexander": ("Alex", "Sasha"),
    "Alexandra": ("Alex", "Sandra"),
    "Daniel": ("Dan", "Danny"),
    "Joseph": ("Joe", "Joey"),
    "Thomas": ("Tom", "Tommy"),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Samantha": ("Sam",),
    "Samuel": ("Sam",),
    "Nicholas": ("Nick",),
    "Anthony": ("Tony",),
    "Rebecca": ("Becky", "Becca"),
    "Victoria": ("Vicky", "Tori"),
    "Jonathan": ("Jon",),
    "Matthew": ("Matt",),
    "Benjamin": ("Ben",),
    "Francisco": ("Paco", "Frank"),
    "José": ("Pepe",),
    "Guillermo": ("Memo",),
    "Zoë": ("Zoe",),
    "Susan": ("Sue", "Susie"),
    "Deborah": ("Deb", "Debbie"),
}

US_FORMATS = (
    "+1{a}{e}{s}",
    "({a}) {e}-{s}",
    "{a}-{e}-{s}",
    "{a} {e} {s}",
    "{a}{e}{s}",
    "1-{a}-{e}-{s}",
    "+1 {a} {e} {s}",
    "{a}.{e}.{s}",
)
GB_FORMATS = ("+44{n}", "0{n}", "0{a} {b}", "+44 {a} {b}", "(0{a}) {b}")
# ``n`` the national number; ``a b c`` it in threes, ``p q r`` the rest in pairs after ``a``
ES_FORMATS = (
    "+34{n}", "+34 {a} {b} {c}", "0034{n}", "(+34) {a}-{b}-{c}", "{a} {p} {q} {r}", "{n}",
    "{a} {b} {c}", "+34 {a} {p} {q} {r}", "0034 {a} {b} {c}",
)
# Italian numbers: ``pre`` the mobile prefix (347) or the landline's area code with its
# leading 0 (06, 081), kept after +39 and 0039
IT_FORMATS = (
    "+39{n}", "+39 {pre} {rest}", "0039 {pre} {rest}", "{pre} {r1} {r2}", "{pre}-{rest}",
    "{pre}/{rest}", "{n}", "+39 {pre} {r1} {r2}", "0039{n}",
)
PT_FORMATS = ("+351 {a} {b} {c}", "{n}", "{a} {b} {c}", "00351{n}", "+351{n}")
FR_FORMATS = ("+33 {d} {pairs}", "0{d} {pairs}", "0{n}", "+33{n}", "0033 {d} {pairs}",
              "0{d}.{dotted}")

PLUS_TAG_DOMAINS = frozenset({"gmail.com", "googlemail.com", "outlook.com", "hotmail.com"})
TAGS = ("shop", "orders", "store", "promo", "newsletter", "web")


def strip_accents(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    )


def phone_variant(e164: str, rng: random.Random) -> str:
    """The phone as a person or a cashier might type it: E.164, national, spaced, dashed."""
    if e164.startswith("+1"):
        digits = e164[2:]
        fmt = rng.choice(US_FORMATS)
        return fmt.format(a=digits[:3], e=digits[3:6], s=digits[6:])
    if e164.startswith(("+34", "+39", "+351", "+33")):
        return _european_variant(e164, rng)
    national = e164[3:]
    fmt = rng.choice(GB_FORMATS)
    return fmt.format(n=national, a=national[:4], b=national[4:])


def _european_variant(e164: str, rng: random.Random) -> str:
    if e164.startswith("+34"):
        n = e164[3:]
        return rng.choice(ES_FORMATS).format(n=n, a=n[:3], b=n[3:6], c=n[6:], p=n[3:5],
                                             q=n[5:7], r=n[7:])
    if e164.startswith("+39"):
        n = e164[3:]
        cut = 3 if n.startswith("3") else 2 if n[:2] in ("02", "06") else 3
        pre, rest = n[:cut], n[cut:]
        half = len(rest) // 2
        return rng.choice(IT_FORMATS).format(n=n, pre=pre, rest=rest, r1=rest[:half],
                                             r2=rest[half:])
    if e164.startswith("+351"):
        n = e164[4:]
        return rng.choice(PT_FORMATS).format(n=n, a=n[:3], b=n[3:6], c=n[6:])
    n = e164[3:]
    pairs = [n[i:i + 2] for i in range(1, len(n), 2)]
    return rng.choice(FR_FORMATS).format(n=n, d=n[0], pairs=" ".join(pairs),
                                         dotted=".".join(pairs))


def email_variant(email: str, rng: random.Random) -> str:
    """The same mailbox written differently: case, spaces, Gmail dots and ``+tags``."""
    local, domain = email.split("@", 1)
    roll = rng.random()
    if domain in ("gmail.com", "googlemail.com") and roll < 0.25:
        bare = local.replace(".", "")
        if "." in local or len(bare) < 4:
            local = bare
        else:
            cut = rng.randrange(1, len(bare) - 1)
            local = f"{bare[:cut]}.{bare[cut:]}"
    elif domain in PLUS_TAG_DOMAINS and roll < 0.40:
        local = f"{local}+{rng.choice(TAGS)}"
    if domain == "gmail.com" and rng.random() < 0.04:
        domain = "googlemail.com"
    text = f"{local}@{domain}"
    case = rng.random()
    if case < 0.15:
        text = ".".join(p[:1].upper() + p[1:] for p in local.split(".")) + "@" + domain.title()
    elif case < 0.20:
        text = text.upper()
    if rng.random() < 0.05:
        text = rng.choice((" ", "  ", "\t")) + text + rng.choice(("", " "))
    return text


def typo(word: str, rng: random.Random) -> str:
    """One keyboard slip: a swapped, dropped or doubled letter."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def name_variant(first: str, last: str, rng: random.Random) -> tuple[str, str]:
    """The name as one system holds it: accents lost, nicknames, swapped order, typos, case."""
    roll = rng.random()
    if roll < 0.12 and first in NICKNAMES:
        first = rng.choice(NICKNAMES[first])
    elif roll < 0.22:
        first, last = strip_accents(first), strip_accents(last)
    elif roll < 0.26:
        last = typo(last, rng)
    elif roll < 0.29:
        first = typo(first, rng)
    case = rng.random()
    if case < 0.05:
        first, last = first.upper(), last.upper()
    elif case < 0.09:
        first, last = first.lower(), last.lower()
    return first, last
