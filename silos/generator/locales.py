"""Spanish, Catalan and Italian populations (and some Portuguese and French for ``mixed``).

How these countries write names and phones, and how retail systems mangle them:

* Spanish and Catalan people carry **two surnames** (paternal, maternal); a child carries the
  father's first and the mother's first. Portuguese people carry two as well, the paternal one
  last. One system keeps both surnames, another only the first (the last, for Portuguese), a
  third pours them into the first-name field, or the whole name into one field.
* **Particles** (``de la Fuente``, ``del Río``, ``De Luca``, ``D'Angelo``, ``Di Stefano``,
  ``Da Silva``) are written joined, split, capitalised or not (``DeLuca``, ``de Luca``,
  ``Dangelo``, ``D Angelo``); a Spanish clerk sometimes drops them.
* **Compound given names** (María José, Juan Carlos, José Luis, Anna Maria, Maria Grazia,
  Gian Luca, Jean-Pierre) are shortened by clerks (María, Javier for Francisco Javier), written
  joined (Gianluca, Mariagrazia) or abbreviated (Mª José).
* **Hypocorisms** in some systems: Pepe for José, Paco for Francisco, Nacho for Ignacio, Pep
  for Josep, Quim for Joaquim, Beppe/Peppe for Giuseppe, Gianni for Giovanni, Enzo for
  Vincenzo, Maite for María Teresa, Chema for José María…
* Accents, ``ñ``, ``ç`` and ``l·l`` lost or kept (``Marcel·la``, ``Marcel.la``, ``Marcella``);
  given and family name swapped (an Italian form's ``ROSSI MARIO``).
* Phones: Spanish mobiles ``+34 6xx``/``7xx`` and landlines ``+34 91…`` written
  ``0034612345678``, ``(+34) 612-345-678``, ``612 34 56 78``; Italian mobiles ``+39 3xx`` and
  landlines that **keep their leading 0** (``+39 06 1234 5678``, national ``06 1234 5678``).
* Households share a landline, the address and surnames, with different given names —
  including sisters María José and María Teresa — and unrelated namesakes share a full name
  and no contact at all: the false-merge traps.

A household's given names never make one member's record readable as another's: first
components differ, or (the sisters) both are compound and then never shortened.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers

from silos.generator.people import (
    WORK_DOMAINS,
    Address,
    Person,
    _Counters,
    _pick_domain,
    _systems,
    add_us_household,
    unique_address,
)

LOCALES = ("us", "es", "it", "mixed")
"""The populations :func:`silos.generator.generate` can build."""

CULTURES = ("es", "ca", "it", "pt", "fr")

# -- given names -------------------------------------------------------------------------
ES_MALE = (
    "Antonio", "José", "Manuel", "Francisco", "David", "Juan", "Javier", "Daniel",
    "José Antonio", "Francisco Javier", "José Luis", "Carlos", "Jesús", "Alejandro", "Miguel",
    "José Manuel", "Rafael", "Pablo", "Miguel Ángel", "Pedro", "Ángel", "Sergio", "José María",
    "Fernando", "Jorge", "Luis", "Alberto", "Juan Carlos", "Álvaro", "Adrián", "Juan José",
    "Diego", "Raúl", "Iván", "Rubén", "Enrique", "Óscar", "Ramón", "Andrés", "Ignacio",
    "Santiago", "Vicente", "Joaquín", "Víctor", "Eduardo", "Roberto", "Jaime", "Guillermo",
    "Gonzalo", "Alfonso", "Íñigo", "Nicolás",
)
ES_FEMALE = (
    "María Carmen", "María", "Carmen", "Ana María", "Laura", "María Pilar", "María Dolores",
    "Isabel", "Josefa", "María Teresa", "Ana", "Marta", "Cristina", "María Ángeles", "Lucía",
    "María José", "María Isabel", "Francisca", "Antonia", "Dolores", "Sara", "Paula", "Elena",
    "María Luisa", "Raquel", "Rosa María", "Pilar", "Concepción", "Manuela", "Mercedes",
    "Rosario", "Beatriz", "Nuria", "Silvia", "Julia", "Irene", "Patricia", "Montserrat",
    "Rocío", "Alba", "Begoña", "Inmaculada", "Consuelo", "Guadalupe", "Teresa", "Noelia",
    "Sofía", "Ainhoa", "Yolanda",
)
CA_MALE = (
    "Jordi", "Josep", "Joan", "Joaquim", "Pere", "Marc", "Pau", "Xavier", "Jaume", "Francesc",
    "Lluís", "Ferran", "Oriol", "Arnau", "Pol", "Albert", "Enric", "Ignasi", "Gerard", "Vicenç",
    "Lluç", "Marcel·lí", "Josep Maria", "Joan Carles", "Antoni", "Martí", "Guillem", "Sergi",
)
CA_FEMALE = (
    "Montserrat", "Núria", "Mercè", "Laia", "Anna", "Marta", "Gemma", "Meritxell", "Roser",
    "Maria Dolors", "Maria Teresa", "Maria Rosa", "Marcel·la", "Estel·la", "Assumpció", "Neus",
    "Carme", "Mireia", "Aina", "Júlia", "Clàudia", "Berta", "Sílvia", "Elisabet", "Eulàlia",
)
IT_MALE = (
    "Giuseppe", "Giovanni", "Antonio", "Mario", "Francesco", "Luigi", "Angelo", "Vincenzo",
    "Pietro", "Salvatore", "Carlo", "Franco", "Domenico", "Bruno", "Paolo", "Michele",
    "Giorgio", "Aldo", "Sergio", "Luca", "Marco", "Andrea", "Alessandro", "Matteo", "Lorenzo",
    "Stefano", "Roberto", "Gian Luca", "Gian Marco", "Pier Paolo", "Gianfranco", "Massimo",
    "Raffaele", "Emanuele", "Niccolò", "Calogero",
)
IT_FEMALE = (
    "Maria", "Anna", "Giuseppina", "Rosa", "Angela", "Giovanna", "Teresa", "Lucia", "Carmela",
    "Caterina", "Francesca", "Anna Maria", "Maria Grazia", "Maria Teresa", "Maria Rosa",
    "Giulia", "Chiara", "Sara", "Martina", "Federica", "Elena", "Simona", "Valentina", "Paola",
    "Nicoletta", "Elisabetta", "Lucrezia",
)
PT_MALE = ("João", "José", "António", "Manuel", "Francisco", "Rui", "Luís", "Tiago", "Gonçalo",
           "João Pedro", "José Carlos", "Nuno")
PT_FEMALE = ("Maria", "Ana", "Joana", "Inês", "Conceição", "Beatriz", "Mariana", "Ana Rita",
             "Maria João", "Sofia", "Catarina")
FR_MALE = ("Jean", "Pierre", "Michel", "Philippe", "Jean-Pierre", "Jean-Luc", "François",
           "Stéphane", "Thierry", "Benoît", "Loïc", "Nicolas", "Jérôme")
FR_FEMALE = ("Marie", "Nathalie", "Isabelle", "Marie-Claire", "Anne-Sophie", "Hélène",
             "Céline", "Amélie", "Sylvie", "Brigitte", "Élodie", "Chloé")

# -- family names (Zipf-skewed: the common ones first) -----------------------------------------
ES_SURNAMES = (
    "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez",
    "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
    "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos",
    "Gil", "Ramírez", "Serrano", "Blanco", "Molina", "Morales", "Suárez", "Ortega", "Delgado",
    "Castro", "Ortiz", "Rubio", "Marín", "Sanz", "Núñez", "Iglesias", "Medina", "Garrido",
    "Cortés", "Castillo", "Santos", "Lozano", "Guerrero", "Cano", "Prieto", "Méndez", "Cruz",
    "Calvo", "Gallego", "Vidal", "León", "Herrera", "Márquez", "Peña", "Cabrera", "Flores",
    "Campos", "Vega", "Fuentes", "Carrasco", "Díez", "Caballero", "Reyes", "Nieto", "Aguilar",
    "Pascual", "Herrero", "Lorenzo", "Montero", "Hidalgo", "Giménez", "Ibáñez", "Ferrer",
    "Durán", "Santiago", "Benítez", "Mora", "Vicente", "Vargas", "Arias", "Carmona", "Crespo",
    "Román", "Pastor", "Soto", "Sáez", "Velasco", "Moya", "Soler", "Parra", "Esteban", "Bravo",
    "de la Fuente", "del Río", "de Castro", "de la Cruz", "del Valle", "de León", "de la Torre",
    "del Pino", "de Miguel", "Ordóñez", "Patiño", "Echeverría", "Goikoetxea",
)
CA_SURNAMES = (
    "Puig", "Vila", "Font", "Ferrer", "Soler", "Serra", "Roca", "Pujol", "Vidal", "Casals",
    "Riera", "Martí", "Bosch", "Sala", "Prat", "Coll", "Batlle", "Rovira", "Torrent", "Mas",
    "Camps", "Canals", "Sabaté", "Garriga", "Bofill", "Ventura", "Vilaró", "Castellví",
    "Fàbregas", "Pagès", "Llobet", "Comas", "Domènech", "Roig", "Sunyer", "Capdevila",
    "Cardús", "Estrada", "Solà", "Miró", "Rius", "Badia", "Palau", "Bertran", "Esteve",
    "Soldevila", "Vilanova", "Gual", "Coromines", "Sardà",
)
IT_SURNAMES = (
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino",
    "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo",
    "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi", "Caruso",
    "Ferrara", "Galli", "Martini", "Leone", "Longo", "Gentile", "Martinelli", "Vitale",
    "Lombardo", "Serra", "Coppola", "De Santis", "D'Angelo", "Marchetti", "Parisi", "Villa",
    "Conte", "Ferraro", "Ferri", "Fabbri", "Bianco", "Marini", "Grasso", "Valentini",
    "Messina", "Sala", "De Angelis", "Gatti", "Pellegrini", "Palumbo", "Sanna", "Farina",
    "Rizzi", "Monti", "Cattaneo", "Morelli", "Amato", "Silvestri", "Mazza", "Testa", "Grassi",
    "Carbone", "Giuliani", "Benedetti", "Barone", "Caputo", "Montanari", "Guerra", "Palmieri",
    "Bernardi", "Fiore", "De Rosa", "Ferretti", "Bellini", "Basile", "Riva", "Donati", "Piras",
    "D'Amico", "Di Stefano", "Di Marco", "Del Piero", "Dell'Acqua", "Lo Russo", "La Rosa",
    "Di Giacomo", "D'Alessandro", "Cantù", "Da Ponte",
)
PT_SURNAMES = ("Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues",
               "Martins", "Sousa", "Fernandes", "Gonçalves", "Gomes", "Lopes", "Marques",
               "da Silva", "dos Santos", "da Costa", "de Sousa", "Magalhães", "Conceição")
FR_SURNAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit",
               "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garnier",
               "Fournier", "Girard", "Mercier", "Dupont", "Lambert", "Bonnet", "Le Gall",
               "Le Goff", "de La Fontaine", "Chevalier", "Brûlé")

# -- what people are called: hypocorisms, and the short forms of compound given names --------
HYPOCORISMS: dict[str, dict[str, tuple[str, ...]]] = {
    "es": {
        "José": ("Pepe",), "Francisco": ("Paco", "Curro", "Fran"), "Ignacio": ("Nacho",),
        "Manuel": ("Manolo", "Manu"), "Jesús": ("Chus",), "Dolores": ("Lola",),
        "Concepción": ("Concha", "Conchi"), "Guadalupe": ("Lupe",), "Rosario": ("Charo",),
        "Enrique": ("Quique",), "Mercedes": ("Merche",), "Pilar": ("Pili",),
        "Josefa": ("Pepa",), "Fernando": ("Nando",), "Santiago": ("Santi",),
        "Isabel": ("Isa",), "Teresa": ("Tere",), "Eduardo": ("Edu",), "Guillermo": ("Guille",),
        "Javier": ("Javi",), "Rafael": ("Rafa",), "Alejandro": ("Álex",),
        "Inmaculada": ("Inma",), "Consuelo": ("Chelo",), "Montserrat": ("Montse",),
        "José María": ("Chema",), "María José": ("Mariajo",), "María Teresa": ("Maite",),
        "María Luisa": ("Marisa",), "María Isabel": ("Maribel",),
        "María Carmen": ("Maricarmen", "Mari Carmen"), "Francisco Javier": ("Javi",),
    },
    "ca": {
        "Josep": ("Pep",), "Joaquim": ("Quim",), "Francesc": ("Cesc", "Xesc"),
        "Antoni": ("Toni",), "Ignasi": ("Nasi",), "Meritxell": ("Txell",),
        "Montserrat": ("Montse",), "Josep Maria": ("Pep", "Josep Mª"),
        "Assumpció": ("Assumpta",),
    },
    "it": {
        "Giuseppe": ("Beppe", "Peppe", "Pino"), "Giovanni": ("Gianni", "Nanni"),
        "Vincenzo": ("Enzo",), "Salvatore": ("Totò", "Turi"), "Francesco": ("Checco",),
        "Domenico": ("Mimmo",), "Alessandro": ("Sandro", "Ale"), "Antonio": ("Tonino",),
        "Giuseppina": ("Pina", "Giusy"), "Luigi": ("Gigi",), "Massimo": ("Max",),
        "Federica": ("Fede",), "Elisabetta": ("Betta",), "Raffaele": ("Lello",),
        "Caterina": ("Rina",), "Calogero": ("Lillo",), "Gianfranco": ("Franco",),
    },
    "pt": {"José": ("Zé",), "Francisco": ("Chico",), "António": ("Tó",)},
    "fr": {},
}
SHORT_FORMS: dict[str, tuple[str, ...]] = {
    "Francisco Javier": ("Javier", "Francisco"),
    "Gian Luca": ("Luca",), "Gian Marco": ("Marco",), "Pier Paolo": ("Paolo",),
}
"""A compound given name's short forms where they are not simply its first part."""
JOINABLE = frozenset({"Gian Luca", "Gian Marco", "Pier Paolo", "Anna Maria", "Maria Grazia",
                      "Maria Rosa", "Maria Teresa", "Jean-Pierre", "Jean-Luc"})
"""Compound given names also written as one word (Gianluca, Mariagrazia, Jeanpierre)."""

# -- where they live -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class City:
    name: str
    province: str
    province_code: str
    zip_prefix: str
    landline_prefix: str
    """The national landline prefix, without any trunk 0 (Spain 91, Italy 06, France 1)."""


ES_CITIES = (
    City("Madrid", "Madrid", "M", "280", "91"), City("Sevilla", "Sevilla", "SE", "410", "95"),
    City("Valencia", "Valencia", "V", "460", "96"), City("Zaragoza", "Zaragoza", "Z", "500",
                                                         "976"),
    City("Málaga", "Málaga", "MA", "290", "95"), City("Bilbao", "Bizkaia", "BI", "480", "94"),
    City("Murcia", "Murcia", "MU", "300", "968"), City("A Coruña", "A Coruña", "C", "150",
                                                       "981"),
    City("Alicante", "Alicante", "A", "030", "96"), City("Valladolid", "Valladolid", "VA",
                                                         "470", "983"),
)
CA_CITIES = (
    City("Barcelona", "Barcelona", "B", "080", "93"),
    City("L'Hospitalet de Llobregat", "Barcelona", "B", "089", "93"),
    City("Sabadell", "Barcelona", "B", "082", "93"), City("Girona", "Girona", "GI", "170", "972"),
    City("Lleida", "Lleida", "L", "250", "973"), City("Tarragona", "Tarragona", "T", "430", "977"),
    City("Sant Cugat del Vallès", "Barcelona", "B", "081", "93"),
)
IT_CITIES = (
    City("Roma", "Roma", "RM", "001", "06"), City("Milano", "Milano", "MI", "201", "02"),
    City("Napoli", "Napoli", "NA", "801", "081"), City("Torino", "Torino", "TO", "101", "011"),
    City("Palermo", "Palermo", "PA", "901", "091"), City("Genova", "Genova", "GE", "161", "010"),
    City("Bologna", "Bologna", "BO", "401", "051"), City("Firenze", "Firenze", "FI", "501",
                                                         "055"),
    City("Bari", "Bari", "BA", "701", "080"), City("Catania", "Catania", "CT", "951", "095"),
    City("Venezia", "Venezia", "VE", "301", "041"), City("Verona", "Verona", "VR", "371", "045"),
)
PT_CITIES = (City("Lisboa", "Lisboa", "11", "1", "21"), City("Porto", "Porto", "13", "4", "22"))
FR_CITIES = (City("Paris", "Île-de-France", "IDF", "750", "1"),
             City("Lyon", "Auvergne-Rhône-Alpes", "ARA", "690", "4"),
             City("Toulouse", "Occitanie", "OCC", "310", "5"))
STREETS = {
    "ES": ("Calle Mayor", "Calle de Alcalá", "Avenida de la Constitución", "Calle Real",
           "Plaza de España", "Calle San Juan", "Paseo de la Castellana", "Calle del Sol",
           "Avenida de Andalucía", "Gran Vía"),
    "CA": ("Carrer de Balmes", "Carrer Major", "Passeig de Gràcia", "Carrer de l'Hospital",
           "Rambla de Catalunya", "Carrer de Sant Pere", "Avinguda Diagonal",
           "Carrer de la Marina"),
    "IT": ("Via Roma", "Via Garibaldi", "Corso Vittorio Emanuele II", "Via Mazzini",
           "Piazza del Popolo", "Via Dante Alighieri", "Viale dei Mille", "Via Cavour",
           "Corso Italia", "Via Nazionale"),
    "PT": ("Rua Augusta", "Avenida da Liberdade", "Rua de Santa Catarina", "Rua do Ouro"),
    "FR": ("Rue de Rivoli", "Avenue Jean Jaurès", "Boulevard Voltaire", "Rue de la Paix"),
}
EMAIL_DOMAINS: dict[str, tuple[tuple[str, int], ...]] = {
    "ES": (("gmail.com", 40), ("hotmail.es", 12), ("hotmail.com", 10), ("yahoo.es", 8),
           ("outlook.es", 6), ("telefonica.net", 5), ("movistar.es", 3), ("icloud.com", 5),
           ("outlook.com", 4), ("orange.es", 3), ("ono.com", 2)),
    "IT": (("gmail.com", 38), ("libero.it", 16), ("alice.it", 8), ("virgilio.it", 7),
           ("hotmail.it", 8), ("yahoo.it", 7), ("tiscali.it", 4), ("tin.it", 3),
           ("outlook.it", 3), ("icloud.com", 4), ("fastwebnet.it", 2)),
    "PT": (("gmail.com", 45), ("sapo.pt", 20), ("hotmail.com", 15), ("outlook.pt", 10),
           ("netcabo.pt", 5), ("iol.pt", 5)),
    "FR": (("gmail.com", 35), ("orange.fr", 18), ("hotmail.fr", 12), ("free.fr", 10),
           ("laposte.net", 8), ("sfr.fr", 7), ("wanadoo.fr", 5), ("yahoo.fr", 5)),
}
IT_MOBILE_PREFIXES = ("320", "324", "328", "329", "330", "333", "334", "335", "338", "339",
                      "340", "345", "346", "347", "348", "349", "366", "368", "380", "388",
                      "389", "391", "392", "393")


@dataclass(frozen=True, slots=True)
class Culture:
    """How one culture names people and where they live."""

    code: str
    country: str
    male: tuple[str, ...]
    female: tuple[str, ...]
    surnames: tuple[str, ...]
    cities: tuple[City, ...]
    two_surnames: bool
    """Spanish, Catalan and Portuguese people carry two family names."""
    paternal_last: bool = False
    """Portuguese order: the maternal surname first, the paternal (the one kept) last."""
    streets: str = ""


CULTURE = {
    "es": Culture("es", "ES", ES_MALE, ES_FEMALE, ES_SURNAMES, ES_CITIES, True, streets="ES"),
    "ca": Culture("ca", "ES", CA_MALE, CA_FEMALE, CA_SURNAMES, CA_CITIES, True, streets="CA"),
    "it": Culture("it", "IT", IT_MALE, IT_FEMALE, IT_SURNAMES, IT_CITIES, False, streets="IT"),
    "pt": Culture("pt", "PT", PT_MALE, PT_FEMALE, PT_SURNAMES, PT_CITIES, True,
                  paternal_last=True, streets="PT"),
    "fr": Culture("fr", "FR", FR_MALE, FR_FEMALE, FR_SURNAMES, FR_CITIES, False, streets="FR"),
}
HOME = {"ES": ("es", ES_CITIES), "IT": ("it", IT_CITIES)}

# Who lives where, per locale: (culture, country of residence, weight); "us" draws a whole
# household from the original US population.
MIX: dict[str, tuple[tuple[str, str, int], ...]] = {
    "es": (("es", "ES", 72), ("ca", "ES", 24), ("it", "ES", 4)),
    "it": (("it", "IT", 95), ("es", "IT", 3), ("pt", "IT", 2)),
    "mixed": (("us", "US", 25), ("es", "ES", 22), ("ca", "ES", 8), ("it", "IT", 30),
              ("pt", "PT", 8), ("fr", "FR", 7)),
}

# How each system writes a name: hypocorism, shortened compound, lost accents (per system).
HYPOCORISM_SHARE = {"shopify": 0.06, "square": 0.15, "loyalty": 0.15, "zendesk": 0.12}
SHORTEN_SHARE = {"shopify": 0.08, "square": 0.35, "loyalty": 0.3, "zendesk": 0.2}
ACCENTS_LOST = {"shopify": 0.12, "square": 0.3, "loyalty": 0.3, "zendesk": 0.12}


def _weighted(options: Sequence[str], rng: random.Random, skew: float) -> str:
    idx = int(len(options) * (rng.random() ** skew))
    return options[min(idx, len(options) - 1)]


def _ascii(text: str) -> str:
    from silos.generator.noise import strip_accents

    return "".join(c for c in strip_accents(text).lower() if c.isalnum())


def given_parts(given: str) -> list[str]:
    return given.replace("-", " ").split()


def name_forms(given: str, culture: str) -> set[str]:
    """Every way a given name may be written, as ASCII letters: to keep household members'
    names apart."""
    forms = {_ascii(given), _ascii(given_parts(given)[0])}
    forms.update(_ascii(s) for s in SHORT_FORMS.get(given, ()))
    forms.update(_ascii(h) for h in HYPOCORISMS.get(culture, {}).get(given, ()))
    return forms


# -- phones --------------------------------------------------------------------------------
def _valid(candidate: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(candidate))


def mobile(country: str, rng: random.Random) -> str:
    """A valid mobile number in E.164."""
    while True:
        if country == "ES":
            candidate = f"+34{rng.choice('666667777')}{rng.randrange(10**8):08d}"
        elif country == "IT":
            candidate = f"+39{rng.choice(IT_MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
        elif country == "PT":
            candidate = f"+3519{rng.choice('1236')}{rng.randrange(10**7):07d}"
        else:
            candidate = f"+33{rng.choice('67')}{rng.randrange(10**8):08d}"
        if _valid(candidate):
            return candidate


def landline(country: str, city: City, rng: random.Random) -> str:
    """A valid landline in ``city``; Italian ones keep their leading 0 after ``+39``."""
    total = {"ES": 9, "IT": 10, "PT": 9, "FR": 9}[country]
    code = {"ES": "34", "IT": "39", "PT": "351", "FR": "33"}[country]
    rest = total - len(city.landline_prefix)
    while True:
        candidate = f"+{code}{city.landline_prefix}{rng.randrange(10**rest):0{rest}d}"
        if _valid(candidate):
            return candidate


def _address(country: str, culture: Culture, rng: random.Random) -> tuple[Address, City]:
    if country == culture.country:
        city = rng.choice(culture.cities)
        streets = STREETS[culture.streets]
    else:
        code, cities = HOME[country]
        city = rng.choice(cities)
        streets = STREETS[CULTURE[code].streets]
    street, number = rng.choice(streets), rng.randrange(1, 180)
    if country == "ES":
        line = f"{street}, {number}" + (f", {rng.randrange(1, 9)}º {rng.choice('ABCD')}"
                                         if rng.random() < 0.6 else "")
        postcode = f"{city.zip_prefix}{rng.randrange(1, 60):02d}"
    elif country == "IT":
        line = f"{street} {number}" if rng.random() < 0.5 else f"{street}, {number}"
        postcode = f"{city.zip_prefix}{rng.randrange(0, 60):02d}"
    elif country == "PT":
        line = f"{street}, {number}"
        postcode = f"{city.zip_prefix}{rng.randrange(100, 999)}-{rng.randrange(1, 999):03d}"
    else:
        line = f"{number} {street}"
        postcode = f"{city.zip_prefix}{rng.randrange(1, 20):02d}"
    return Address(line, city.name, city.province, city.province_code, postcode, country), city


def _email(given: str, surnames: tuple[str, ...], domain: str, rng: random.Random,
           taken: set[str]) -> str:
    g = _ascii(given)
    g1 = _ascii(given_parts(given)[0])
    s1 = _ascii(surnames[-1] if len(surnames) > 1 and rng.random() < 0.1 else surnames[0])
    s2 = _ascii(surnames[1]) if len(surnames) > 1 else ""
    year = f"{rng.randrange(60, 100) if rng.random() < 0.7 else rng.randrange(0, 10):02d}"
    patterns = [f"{g}.{s1}", f"{g}{s1}", f"{g1[:1]}{s1}", f"{g1}.{s1}", f"{g}{s1}{year}",
                f"{s1}.{g1}", f"{g}_{s1}"]
    if s2:
        patterns += [f"{g1}.{s1}.{s2}", f"{g1[:1]}{s1}{s2}", f"{g1}{s1}{s2[:1]}"]
    return unique_address(rng.choice(patterns), domain, rng, taken)


# -- the population ------------------------------------------------------------------------
@dataclass(slots=True)
class _Member:
    given: str
    surnames: tuple[str, ...]
    shorten: bool = True


def _pick_culture(locale: str, rng: random.Random) -> tuple[str, str]:
    table = MIX[locale]
    roll = rng.randrange(sum(w for _, _, w in table))
    for code, country, weight in table:
        if roll < weight:
            return code, country
        roll -= weight
    return table[-1][0], table[-1][1]


def _surname(culture: Culture, rng: random.Random) -> str:
    if culture.code == "ca" and rng.random() < 0.4:
        return _weighted(ES_SURNAMES, rng, 1.6)
    return _weighted(culture.surnames, rng, 1.6)


def _surnames(culture: Culture, rng: random.Random) -> tuple[str, ...]:
    if not culture.two_surnames:
        return (_surname(culture, rng),)
    first = _surname(culture, rng)
    second = _surname(culture, rng)
    while second == first and rng.random() < 0.9:
        second = _surname(culture, rng)
    return first, second


def _kept(surnames: tuple[str, ...], culture: Culture) -> str:
    """The surname passed on to children (the paternal one)."""
    return surnames[-1] if culture.paternal_last else surnames[0]


def _sisters(culture: Culture, rng: random.Random) -> list[str]:
    """Two compound given names with the same first part (María José, María Teresa)."""
    by_first: dict[str, list[str]] = {}
    for given in culture.female:
        parts = given_parts(given)
        if len(parts) == 2:
            by_first.setdefault(parts[0], []).append(given)
    options = sorted(names for names in by_first.values() if len(names) >= 2)
    return rng.sample(rng.choice(options), 2) if options else []


def _household(culture: Culture, size: int, rng: random.Random) -> list[_Member]:
    """A couple and their children, or (size 2) sometimes two siblings; given names whose
    forms never overlap, except sisters María X and María Y (then never shortened)."""
    father = _surnames(culture, rng)
    mother = _surnames(culture, rng)
    child: tuple[str, ...]
    if culture.two_surnames:
        pair = (_kept(father, culture), _kept(mother, culture))
        child = (pair[1], pair[0]) if culture.paternal_last else pair
    else:
        child = father
    roles: list[tuple[str, tuple[str, ...]]]
    if size == 2 and rng.random() < 0.25:
        roles = [("child", child), ("child", child)]
    else:
        roles = [("father", father), ("mother", mother)][:size]
        roles += [("child", child)] * (size - len(roles))
    children = [i for i, (role, _) in enumerate(roles) if role == "child"]
    sisters = _sisters(culture, rng) if len(children) >= 2 and rng.random() < 0.4 else []
    used: set[str] = set()
    for given in sisters:
        used |= name_forms(given, culture.code)
    members: list[_Member] = []
    for index, (role, surnames) in enumerate(roles):
        if sisters and index in children[:2]:
            members.append(_Member(sisters[children.index(index)], surnames, shorten=False))
            continue
        if role == "father":
            pool = culture.male
        elif role == "mother":
            pool = culture.female
        else:
            pool = culture.female if rng.random() < 0.5 else culture.male
        given = _weighted(pool, rng, 1.4)
        tries = 0
        while name_forms(given, culture.code) & used and tries < 100:
            given = rng.choice(pool)
            tries += 1
        used |= name_forms(given, culture.code)
        members.append(_Member(given, surnames))
    return members


def build_locale_population(count: int, rng: random.Random, locale: str) -> list[Person]:
    """``count`` people of ``locale`` (``es``, ``it`` or ``mixed``): ~30% of them in
    households sharing a landline, an address and surnames; ~3% namesakes of an earlier person
    (same full name, nothing else in common); ~8% without a phone; ~3% with a work email."""
    if locale not in MIX:
        raise ValueError(f"unknown locale {locale!r}: one of {', '.join(LOCALES)}")
    people: list[Person] = []
    taken: set[str] = set()
    counters = _Counters()
    singles: list[Person] = []
    while len(people) < count:
        code, country = _pick_culture(locale, rng)
        if code == "us":
            add_us_household(people, count, rng, taken, counters)
            continue
        culture = CULTURE[code]
        size = 1
        if country == culture.country and rng.random() < 0.14:
            size = min(rng.choice((2, 2, 2, 3, 3, 4)), count - len(people))
        household = next(counters.households) if size > 1 else None
        address, city = _address(country, culture, rng)
        shared = landline(country, city, rng) if size > 1 else None
        if size == 1 and singles and rng.random() < 0.03:
            namesake = rng.choice(singles)
            members = [_Member(namesake.first, namesake.surnames)]
            code = namesake.culture
            culture = CULTURE[code]
        elif size == 1:
            pool = culture.male if rng.random() < 0.5 else culture.female
            members = [_Member(_weighted(pool, rng, 1.4), _surnames(culture, rng))]
        else:
            members = _household(culture, size, rng)
        domains = EMAIL_DOMAINS[country]
        for member in members:
            email = (_email(member.given, member.surnames, _pick_domain(domains, rng), rng,
                            taken) if rng.random() < 0.95 else None)
            if shared is not None and rng.random() < 0.75:
                phone: str | None = shared
            elif rng.random() < 0.92:
                phone = (landline(country, city, rng) if rng.random() < 0.12
                         else mobile(country, rng))
            else:
                phone = None
            alt = None
            if email is not None and rng.random() < 0.03:
                alt = _email(member.given, member.surnames, rng.choice(WORK_DOMAINS), rng,
                             taken)
            person = Person(
                key=counters.person_key(), first=member.given,
                last=" ".join(member.surnames), email=email, phone=phone, address=address,
                systems=_systems(rng), household=household, alt_email=alt, culture=code,
                surnames=member.surnames, shorten=member.shorten)
            people.append(person)
            if household is None:
                singles.append(person)
    return people


# -- how each system writes a non-US person's name ------------------------------------------
PARTICLES = frozenset({"de", "del", "de la", "da", "di", "dos", "la", "lo", "le"})


def particle_variant(surname: str, culture: str, rng: random.Random) -> str:
    """``De Luca`` as ``de Luca``, ``DeLuca``, ``Deluca``; ``D'Angelo`` as ``D Angelo``,
    ``Dangelo``; a Spanish clerk's ``Fuente`` for ``de la Fuente``."""
    roll = rng.random()
    if "'" in surname:
        head, tail = surname.split("'", 1)
        if roll < 0.5:
            return surname
        return rng.choice((f"{head}'{tail.lower()}", f"{head} {tail}", f"{head}{tail.lower()}",
                           f"{head}{tail}", f"{head}\u2019{tail}", f"{head.lower()}'{tail}"))
    words = surname.split(" ")
    if len(words) < 2 or words[0].lower() not in PARTICLES:
        return surname
    particles, core = words[:-1], words[-1]
    spanish = culture in ("es", "ca")
    if roll < 0.5:
        return surname
    if roll < 0.7:
        if particles[0][:1].isupper():
            toggled = [w.lower() for w in particles]
        elif rng.random() < 0.5:
            toggled = [w.capitalize() for w in particles]
        else:
            toggled = [particles[0].capitalize(), *particles[1:]]
        return " ".join([*toggled, core])
    if roll < (0.75 if spanish else 0.88):
        joined = particles[0].capitalize() + "".join(w.lower() for w in particles[1:])
        return joined + (core if rng.random() < 0.5 else core.lower())
    if roll < (0.8 if spanish else 1.0):
        return " ".join([*particles, core.lower()]).capitalize()
    if spanish:
        return core if roll < 0.9 else " ".join(w.capitalize() for w in words)
    return surname


def given_variant(person: Person, system: str, rng: random.Random) -> str:
    """The given name as one system holds it: a hypocorism, a clerk's short form of a
    compound name (unless a sibling's starts the same), an Italian compound joined, Mª."""
    given = person.first
    parts = given_parts(given)
    hypocorisms = HYPOCORISMS.get(person.culture, {}).get(given, ())
    if hypocorisms and rng.random() < HYPOCORISM_SHARE[system]:
        return rng.choice(hypocorisms)
    if len(parts) < 2:
        return given
    roll = rng.random()
    if person.shorten and roll < SHORTEN_SHARE[system]:
        return rng.choice(SHORT_FORMS.get(given, (parts[0],)))
    if parts[0] == "María" and rng.random() < 0.08:
        return f"{rng.choice(('Mª', 'M.', 'Mª.', 'Ma.'))} {' '.join(parts[1:])}"
    if given in JOINABLE and rng.random() < 0.35:
        return parts[0] + "".join(p.lower() for p in parts[1:])
    if "-" in given and rng.random() < 0.3:
        return given.replace("-", " ")
    return given


def _join(person: Person, names: list[str], rng: random.Random) -> str:
    if person.culture == "ca" and len(names) == 2 and rng.random() < 0.12:
        return f"{names[0]} i {names[1]}"
    return " ".join(names)


def _finish(parts: list[str], system: str, rng: random.Random) -> list[str]:
    """Accents (and ñ, ç) lost, l·l written l.l / ll / l-l, a typo, upper or lower case."""
    from silos.generator.noise import strip_accents, typo

    if rng.random() < ACCENTS_LOST[system]:
        parts = [strip_accents(p) for p in parts]
    dot = rng.choice(("·", "·", ".", "", "-"))
    parts = [p.replace("·", dot) for p in parts]
    if rng.random() < 0.03 and parts[-1]:
        head, _, word = parts[-1].rpartition(" ")
        parts[-1] = f"{head} {typo(word, rng)}" if head else typo(word, rng)
    case = rng.random()
    if case < 0.07:
        parts = [p.upper() for p in parts]
    elif case < 0.1:
        parts = [p.lower() for p in parts]
    return parts


def record_name(person: Person, system: str, rng: random.Random) -> tuple[str, str]:
    """(first, last) as Shopify, Square or the loyalty database holds a non-US person: Shopify
    mostly keeps both surnames, the store's till mostly the first (the paternal one), the
    loyalty form sometimes puts the first surname in the first-name field, the whole name in
    it, or given and family names the wrong way round."""
    given = given_variant(person, system, rng)
    names = [particle_variant(s, person.culture, rng) for s in person.surnames]
    kept = names[-1] if CULTURE[person.culture].paternal_last else names[0]
    two = len(names) > 1
    roll = rng.random()
    if system == "shopify":
        first, last = given, kept if two and roll < 0.3 else _join(person, names, rng)
    elif system == "square":
        first, last = given, kept if two and roll < 0.55 else _join(person, names, rng)
    elif roll < 0.1:
        first, last = _join(person, names, rng), given
    elif roll < 0.18:
        first, last = f"{given} {_join(person, names, rng)}", ""
    elif two and roll < 0.38:
        first, last = f"{given} {names[0]}", " ".join(names[1:])
    elif two and roll < 0.63:
        first, last = given, kept
    else:
        first, last = given, _join(person, names, rng)
    first, last = _finish([first, last], system, rng)
    return first, last


def record_full_name(person: Person, rng: random.Random) -> str:
    """The single name field (Zendesk): ``given surnames``, ``given first-surname``, the
    given name alone, or family name first (an Italian form's ``ROSSI MARIO``)."""
    given = given_variant(person, "zendesk", rng)
    names = [particle_variant(s, person.culture, rng) for s in person.surnames]
    kept = names[-1] if CULTURE[person.culture].paternal_last else names[0]
    roll = rng.random()
    swapped = 0.2 if person.culture == "it" else 0.12
    if roll < 0.06:
        text = given
    elif roll < swapped:
        text = f"{_join(person, names, rng)} {given}"
    elif len(names) > 1 and roll < swapped + 0.3:
        text = f"{given} {kept}"
    else:
        text = f"{given} {_join(person, names, rng)}"
    return _finish([text], "zendesk", rng)[0]
