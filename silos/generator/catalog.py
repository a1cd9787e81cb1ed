"""The retailer's shared catalog, warehouses and stores."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Store:
    """A physical store: a Shopify location (pickup point) and a Square location (its POS)."""

    code: str
    name: str
    address1: str
    city: str
    province: str
    province_code: str
    zip: str
    latitude: float
    longitude: float
    timezone: str
    phone: str


@dataclass(frozen=True, slots=True)
class Warehouse:
    name: str
    address1: str
    city: str
    province: str
    province_code: str
    zip: str


@dataclass(frozen=True, slots=True)
class Sku:
    sku: str
    product: str
    variant: str
    price: Decimal
    category: str


STORES = (
    Store("NYC-SOHO", "SoHo", "532 Broadway", "New York", "New York", "NY", "10012",
          40.7233, -73.9985, "America/New_York", "+12125550142"),
    Store("NYC-UWS", "Upper West Side", "2289 Broadway", "New York", "New York", "NY", "10024",
          40.7851, -73.9787, "America/New_York", "+12125550177"),
    Store("BKN-WBG", "Williamsburg", "125 N 6th St", "Brooklyn", "New York", "NY", "11249",
          40.7196, -73.9604, "America/New_York", "+17185550110"),
    Store("NJ-JC", "Jersey City Newport", "30 Mall Dr W", "Jersey City", "New Jersey", "NJ",
          "07310", 40.7270, -74.0377, "America/New_York", "+12015550190"),
    Store("BOS-BB", "Back Bay", "800 Boylston St", "Boston", "Massachusetts", "MA", "02199",
          42.3480, -71.0826, "America/New_York", "+16175550123"),
    Store("CHI-MAG", "Magnificent Mile", "835 N Michigan Ave", "Chicago", "Illinois", "IL",
          "60611", 41.8976, -87.6245, "America/Chicago", "+13125550148"),
    Store("SF-USQ", "Union Square", "170 O'Farrell St", "San Francisco", "California", "CA",
          "94102", 37.7866, -122.4075, "America/Los_Angeles", "+14155550166"),
    Store("OAK-RDG", "Rockridge", "5800 College Ave", "Oakland", "California", "CA", "94618",
          37.8443, -122.2517, "America/Los_Angeles", "+15105550101"),
    Store("LA-GRV", "The Grove", "189 The Grove Dr", "Los Angeles", "California", "CA", "90036",
          34.0722, -118.3576, "America/Los_Angeles", "+13235550199"),
    Store("SEA-PIKE", "Pike Place", "1501 Pike Pl", "Seattle", "Washington", "WA", "98101",
          47.6097, -122.3422, "America/Los_Angeles", "+12065550135"),
)

WAREHOUSES = (
    Warehouse("East Coast DC", "100 Distribution Way", "Edison", "New Jersey", "NJ", "08817"),
    Warehouse("West Coast DC", "4500 Logistics Pkwy", "Ontario", "California", "CA", "91761"),
)

_PRODUCTS = (
    ("Apparel", ("Merino Crew Sweater", "Oxford Shirt", "Linen Trousers", "Rain Shell Jacket",
                 "Organic Cotton Tee", "Quilted Vest", "Wool Overcoat", "Chino Shorts",
                 "Cashmere Scarf", "Fleece Hoodie", "Denim Jacket", "Silk Blouse"),
     ("XS", "S", "M", "L", "XL"), (29, 249)),
    ("Footwear", ("Trail Runner", "Leather Chelsea Boot", "Canvas Sneaker", "Suede Loafer",
                  "Wool Slipper", "Waterproof Hiker"),
     ("7", "8", "9", "10", "11", "12"), (49, 229)),
    ("Home", ("Stoneware Mug", "Linen Napkin Set", "Cast Iron Skillet", "Ceramic Planter",
              "Wool Throw", "Beeswax Candle", "Walnut Cutting Board", "Glass Carafe"),
     ("Sand", "Slate", "Forest", "Clay"), (12, 189)),
    ("Accessories", ("Canvas Tote", "Leather Belt", "Wool Beanie", "Sunglasses",
                     "Card Wallet", "Weekender Bag", "Umbrella", "Water Bottle"),
     ("Black", "Navy", "Tan", "Olive"), (15, 179)),
)
_EDITIONS = ("", " II", " Classic", " Lite", " Pro")


def build_catalog(rng: random.Random) -> list[Sku]:
    """About 130 products with 2-5 variants each; one SKU per variant, shared by both channels."""
    skus: list[Sku] = []
    number = 0
    for category, names, options, (low, high) in _PRODUCTS:
        for name in names:
            for edition in _EDITIONS[: rng.randrange(2, len(_EDITIONS) + 1)]:
                number += 1
                title = f"{name}{edition}"
                price = Decimal(rng.randrange(low, high)) + Decimal("0.99") - (
                    Decimal("0.49") if rng.random() < 0.3 else Decimal(0))
                picked = rng.sample(options, rng.randrange(2, min(5, len(options)) + 1))
                for option in picked:
                    code = option.upper().replace(" ", "")
                    skus.append(Sku(f"{category[:3].upper()}-{number:04d}-{code}", title, option,
                                    price, category))
    return skus
