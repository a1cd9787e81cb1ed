"""Name conventions of Spanish, Catalan, Italian, Portuguese and French customers, as locale
packs for :class:`identity.matching.NameMatcher` (``identity.name_locales``).

A pack holds: **hypocorisms** (the familiar forms people give a shop instead of their given
name), **compound names** that have their own familiar form (María Teresa → Maite), the
**particles** of family names (de, del, della, d', da, dos, van der …), the common **given
names** (to tell a given name from a family name when a system writes a whole name in one
field), and whether the family name kept alone is the **last** of two (Portuguese) rather
than the first (Spanish, Catalan).

Sources (the lists are written from them, not copied): Wikipedia (es) "Hipocorístico" and its
list of Spanish hypocorisms; Wikipedia (ca) "Hipocorístic"; Wikipedia (it) "Ipocoristico";
Wikipedia (pt) "Hipocorístico"; Wiktionary's hypocorism categories for Spanish, Catalan,
Italian, Portuguese and French given names; INE (Spain), ISTAT (Italy), IDESCAT (Catalonia)
and INSEE (France) lists of frequent given names; the Real Academia Española's note on
compound given names and the abbreviation "Mª".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from identity.normalize import name_tokens

LOCALES = ("en", "es", "ca", "it", "pt", "fr")

_HYPOCORISMS: dict[str, dict[str, str]] = {
    # given name: its familiar forms, space separated ("_" joins a compound form)
    "es": {
        "José": "Pepe Pepito Pepín Chepe", "Josefa": "Pepa Pepita Fina",
        "Francisco": "Paco Paquito Pancho Curro Fran Quico Frasco",
        "Francisca": "Paca Paquita Curra Fran Quica", "Ignacio": "Nacho Iñaki",
        "Manuel": "Manolo Manu Lolo", "Manuela": "Manoli Manola Manu", "Jesús": "Chus Chucho Chuy",
        "Dolores": "Lola Loli Lolita", "Concepción": "Concha Conchi Conchita",
        "Guadalupe": "Lupe Lupita", "Rosario": "Charo Chari", "Enrique": "Quique Kike",
        "Mercedes": "Merche Meche", "Pilar": "Pili Pilarín", "Fernando": "Nando Fer",
        "Santiago": "Santi Yago", "Isabel": "Isa Chabela", "Teresa": "Tere Teté",
        "Eduardo": "Edu Lalo", "Guillermo": "Guille Memo", "Javier": "Javi", "Rafael": "Rafa",
        "Alejandro": "Álex Alex Jandro", "Alejandra": "Álex Alex Ale",
        "Inmaculada": "Inma Macu", "Consuelo": "Chelo", "Montserrat": "Montse",
        "Antonio": "Toño Toni Antoñito", "Antonia": "Toña Toñi", "Ramón": "Moncho",
        "Asunción": "Asun Chon", "Encarnación": "Encarna Encarni", "Remedios": "Reme",
        "Purificación": "Puri", "Socorro": "Coco", "Ángeles": "Geles", "Nicolás": "Nico",
        "Gonzalo": "Gonza", "Roberto": "Rober Beto", "Alberto": "Berto Beto",
        "Ricardo": "Richi", "Joaquín": "Joaco Quino", "Andrés": "Andy", "Cristina": "Cris",
        "Patricia": "Patri", "Beatriz": "Bea", "Gabriel": "Gabi", "Gabriela": "Gabi",
        "Susana": "Susi", "Victoria": "Vicky", "Vicente": "Chente", "Luis": "Lucho",
        "Carolina": "Carol", "Natalia": "Nati", "Elena": "Nena", "Rocío": "Ro",
        "Daniel": "Dani", "Pedro": "Perico", "Salvador": "Salva Chava", "Juan": "Juanito",
        "Domingo": "Mingo", "Gregorio": "Goyo", "Leopoldo": "Polo", "Ezequiel": "Cheque",
        "Begoña": "Bego", "Margarita": "Marga", "Gertrudis": "Tula", "Ana": "Anita",
    },
    "ca": {
        "Josep": "Pep Pepe Pitu", "Joaquim": "Quim Ximo", "Francesc": "Cesc Xesc Quico",
        "Antoni": "Toni Tonet", "Ignasi": "Nasi", "Meritxell": "Txell",
        "Montserrat": "Montse Montse", "Assumpció": "Assumpta Sunta", "Jaume": "Jaumet",
        "Joan": "Joanet", "Magdalena": "Magda Malena", "Mercè": "Merceneta",
        "Dolors": "Lola", "Concepció": "Conxa Conxita", "Teresa": "Tere", "Elisabet": "Bet",
        "Eulàlia": "Laia", "Salvador": "Salva", "Vicenç": "Cento", "Bartomeu": "Tomeu",
        "Miquel": "Miquelet", "Narcís": "Cissa",
    },
    "it": {
        "Giuseppe": "Beppe Peppe Pino Peppino Geppetto Bepi", "Giuseppina": "Pina Giusy Peppina",
        "Giovanni": "Gianni Nanni Vanni Giovannino", "Giovanna": "Gianna Vanna Nanna",
        "Vincenzo": "Enzo Vince Cenzo", "Salvatore": "Totò Turi Salvo Tore",
        "Francesco": "Checco Cecco Franco Cesco Ciccio", "Francesca": "Franca Cecca Checca",
        "Domenico": "Mimmo Mimì Memmo", "Alessandro": "Sandro Ale Alex",
        "Alessandra": "Sandra Ale", "Antonio": "Tonino Totò Toni Nino",
        "Antonietta": "Tonia Etta", "Luigi": "Gigi Gino", "Massimo": "Max Massi",
        "Federica": "Fede", "Federico": "Fede Chicco", "Elisabetta": "Betta Elisa Lisa",
        "Raffaele": "Lello Raffa", "Caterina": "Rina Cate", "Calogero": "Lillo Calò",
        "Gianfranco": "Franco", "Roberto": "Berto Bob", "Alberto": "Berto",
        "Gaetano": "Tano Nino", "Giacomo": "Mino Giacomino", "Girolamo": "Momo",
        "Carmela": "Carmen Melina", "Concetta": "Tina Cettina", "Nicola": "Nicolino Cola",
        "Margherita": "Rita Ghita", "Beatrice": "Bice Bea", "Teresa": "Tere",
        "Emanuele": "Manuele Lele", "Daniele": "Dani Lele", "Gabriele": "Lele Gabri",
        "Michele": "Michelino Lele", "Leonardo": "Leo Dado", "Matteo": "Teo",
        "Pasquale": "Lino Pasqualino", "Rosalia": "Lia Rosi", "Rosaria": "Sara Rosi",
        "Benedetto": "Betto", "Riccardo": "Ricky Dado", "Stefano": "Ste Stefi",
        "Anna": "Annina Nina", "Filippo": "Pippo", "Ignazio": "Gnazio",
    },
    "pt": {
        "José": "Zé Zezinho", "Francisco": "Chico Xico Kiko", "António": "Tó Toni Toninho",
        "João": "Joãozinho Jão", "Manuel": "Manel Nelo Manecas", "Maria": "Mariazinha Mimi",
        "Fernando": "Nando", "Luís": "Lulu", "Conceição": "São", "Gonçalo": "Gonça",
        "Margarida": "Guida", "Isabel": "Bela", "Teresa": "Teté", "Joaquim": "Quim",
        "Alexandre": "Xande", "Eduardo": "Dudu", "Rodrigo": "Digo",
    },
    "fr": {
        "Jean-Baptiste": "JB", "Guillaume": "Guigui", "Nicolas": "Nico", "Alexandre": "Alex",
        "Catherine": "Cathy Cathie", "Christophe": "Chris", "Frédéric": "Fred",
        "Stéphane": "Steph", "Sébastien": "Seb Séb", "Dominique": "Dom",
        "Élisabeth": "Babette Lise",
        "Marguerite": "Margot", "Isabelle": "Isa Zaza", "Joseph": "Jojo", "Françoise": "Fanfan",
        "Benoît": "Ben", "Maximilien": "Max", "Thomas": "Tom", "Caroline": "Caro",
            },
}

_COMPOUNDS: dict[str, dict[str, str]] = {
    # a compound given name: its own familiar forms
    "es": {
        "María Teresa": "Maite Maritere", "José María": "Chema Josema",
        "María Luisa": "Marisa Malu", "María Isabel": "Maribel", "María José": "Mariajo Marijose",
        "María Dolores": "Mariló", "María del Carmen": "Maricarmen Mamen",
        "María Carmen": "Maricarmen Mamen", "María Jesús": "Marichús",
        "Juan José": "Juanjo", "José Miguel": "Josemi", "José Antonio": "Josean Joseán",
        "José Ramón": "Joserra Monchi", "Juan Carlos": "Juanca", "José Luis": "Joselu Pepelu",
        "María Ángeles": "Maran", "María Victoria": "Marivi",
        "María Pilar": "Maripili",
    },
    "ca": {"Josep Maria": "Pepmaria", "Maria Teresa": "Maite", "Joan Carles": "Joanca"},
    "it": {"Maria Grazia": "Mariagrazia", "Anna Maria": "Annamaria", "Gian Luca": "Gianluca",
           "Gian Marco": "Gianmarco", "Pier Paolo": "Pierpaolo", "Maria Rosa": "Mariarosa",
           "Maria Teresa": "Mariateresa", "Gian Carlo": "Giancarlo"},
    "pt": {"Maria João": "Majó"},
    "fr": {"Anne-Sophie": "Anso"},
}

_GIVEN: dict[str, str] = {
    # frequent given names (besides those above), to tell given from family names
    "es": "María Carmen Ana Laura Marta Lucía Sara Paula Elena Raquel Rosa Silvia Julia Irene "
          "Alba Noelia Sofía Ainhoa Yolanda Nuria Eva Andrea Claudia Mónica Sonia Lorena Marina "
          "Antonio Manuel José Francisco David Juan Javier Daniel Carlos Jesús Alejandro Miguel "
          "Pedro Pablo Sergio Fernando Jorge Luis Alberto Álvaro Adrián Diego Raúl Iván Rubén "
          "Óscar Ramón Andrés Ignacio Santiago Vicente Víctor Eduardo Roberto Jaime Guillermo "
          "Gonzalo Alfonso Íñigo Nicolás Mario Hugo Martín Lucas Marcos Ángel Rafael Emilio "
          "Josefa Isabel Pilar Dolores Teresa Cristina Francisca Antonia Beatriz Mercedes "
          "Concepción Manuela Rosario Montserrat Rocío Begoña Inmaculada Consuelo Guadalupe "
          "Patricia Susana Natalia Victoria Margarita Esther Inés Ángeles Luisa",
    "ca": "Jordi Josep Joan Joaquim Pere Marc Pau Xavier Jaume Francesc Lluís Ferran Oriol "
          "Arnau Pol Albert Enric Ignasi Gerard Vicenç Lluç Marcel·lí Antoni Martí Guillem "
          "Sergi Núria Mercè Laia Anna Marta Gemma Meritxell Roser Dolors Maria Marcel·la "
          "Estel·la Assumpció Neus Carme Mireia Aina Júlia Clàudia Berta Sílvia Elisabet "
          "Eulàlia Montserrat Miquel Bartomeu Magdalena",
    "it": "Maria Anna Giuseppina Rosa Angela Giovanna Teresa Lucia Carmela Caterina Francesca "
          "Giulia Chiara Sara Martina Federica Elena Simona Valentina Paola Nicoletta Elisabetta "
          "Lucrezia Giuseppe Giovanni Antonio Mario Francesco Luigi Angelo Vincenzo Pietro "
          "Salvatore Carlo Franco Domenico Bruno Paolo Michele Giorgio Aldo Sergio Luca Marco "
          "Andrea Alessandro Matteo Lorenzo Stefano Roberto Massimo Raffaele Emanuele Niccolò "
          "Calogero Gianluca Gianfranco Giancarlo Pierpaolo Gianmarco Alessia Silvia Laura",
    "pt": "João José António Manuel Francisco Rui Luís Tiago Gonçalo Pedro Nuno Carlos Maria "
          "Ana Joana Inês Conceição Beatriz Mariana Rita Sofia Catarina Margarida",
    "fr": "Jean Pierre Michel Philippe Luc François Stéphane Thierry Benoît Loïc Nicolas "
          "Jérôme Marie Nathalie Isabelle Claire Sophie Anne Hélène Céline Amélie Sylvie "
          "Brigitte Élodie Chloé Camille Julien Antoine",
}

PARTICLES = frozenset({
    "de", "del", "dela", "della", "dello", "delle", "dei", "degli", "dell", "di", "da", "das",
    "do", "dos", "d", "la", "las", "lo", "los", "le", "les", "du", "des", "van", "von", "der",
    "den", "ter", "y", "i", "e", "san", "sant", "santa",
})
"""Family-name particles and the conjunctions between two surnames (Spanish y, Catalan i)."""
_PREFIXES = tuple(sorted((p for p in PARTICLES if len(p) >= 1 and p not in ("y", "i", "e")),
                         key=len, reverse=True))
_ABBREVIATIONS = {"ma": "maria", "m": "maria", "mª": "maria", "jm": "jose maria"}


def _tokens(text: str) -> tuple[str, ...]:
    return name_tokens(text.replace("_", " "))


@dataclass(frozen=True)
class NamePack:
    """The merged conventions of the configured locales (see the module docstring)."""

    related: dict[str, frozenset[str]]
    """A one-word given name → the names it may stand for (itself included)."""
    compounds: dict[str, tuple[str, ...]]
    """A familiar or joined form → the compound given name it stands for."""
    given: frozenset[str]
    paternal_last: bool

    def is_given(self, token: str) -> bool:
        return token in self.given

    def expand(self, given: tuple[str, ...]) -> tuple[str, ...]:
        """Given-name tokens with joined or familiar compound forms opened up (Maite →
        maria teresa, Mariajose → maria jose) and Mª read as María."""
        out: list[str] = []
        for index, token in enumerate(given):
            if token in _ABBREVIATIONS and index + 1 < len(given):
                out.extend(_ABBREVIATIONS[token].split())
            elif token in self.compounds:
                out.extend(self.compounds[token])
            else:
                out.append(token)
        return tuple(out)


@lru_cache(maxsize=100_000)
def surname_keys(token: str) -> frozenset[str]:
    """A family-name token and what remains of it without a leading particle written joined
    (``deluca`` → ``luca``; ``dangelo`` → ``angelo``), when three or more letters remain."""
    return frozenset({token} | {token[len(p):] for p in _PREFIXES
                                if token.startswith(p) and len(token) - len(p) >= 3})


def load(locales: Iterable[str]) -> NamePack | None:
    """The pack of ``locales`` (None when only English: the default rules apply unchanged)."""
    chosen = [code for code in locales if code != "en"]
    unknown = [code for code in chosen if code not in LOCALES]
    if unknown:
        raise ValueError(f"unknown name locale(s) {', '.join(unknown)} "
                         f"(known: {', '.join(LOCALES)})")
    if not chosen:
        return None
    groups: dict[str, set[str]] = {}
    compounds: dict[str, tuple[str, ...]] = {}
    given: set[str] = set()
    frequent = {t for code in chosen for name in _GIVEN.get(code, "").split()
                for t in _tokens(name)}
    for code in chosen:
        for name, forms in _HYPOCORISMS.get(code, {}).items():
            full = _tokens(name)
            # a familiar form that is also a frequent name of its own (Laia, Franco, Sara)
            # is not evidence: a mother Eulàlia and her daughter Laia are two people
            names = {"".join(full)} | {"".join(_tokens(f)) for f in forms.split()
                                       if "".join(_tokens(f)) not in frequent}
            if len(full) > 1:
                for form in names:
                    compounds[form] = full
            else:
                for one in names:
                    groups.setdefault(one, set()).update(names)
            given.update(names)
        for name, forms in _COMPOUNDS.get(code, {}).items():
            full = _tokens(name)
            for form in {"".join(full), *("".join(_tokens(f)) for f in forms.split())}:
                if len(_tokens(form)) == 1:
                    compounds.setdefault(form, full)
            given.update(full)
        given.update(t for name in _GIVEN.get(code, "").split() for t in _tokens(name))
    related = {name: frozenset(names) for name, names in groups.items()}
    return NamePack(related, compounds, frozenset(given), paternal_last="pt" in chosen)
