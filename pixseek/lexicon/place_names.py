"""The names people type for places: common English country names, aliases ("UK", "USA", "Holland"), and one
matching key for every spelling (case, accents and punctuation ignored: "skane" finds "Skåne")."""

from __future__ import annotations

import re
import unicodedata

# GeoNames' formal or dated country names -> the name people use
COUNTRY_NAMES = {
    "BN": "Brunei", "BO": "Bolivia", "CD": "Democratic Republic of the Congo", "CG": "Republic of the Congo",
    "CI": "Ivory Coast", "CV": "Cape Verde", "CZ": "Czechia", "FM": "Micronesia", "IR": "Iran", "KP": "North Korea",
    "KR": "South Korea", "LA": "Laos", "MD": "Moldova", "MK": "North Macedonia", "PS": "Palestine", "RU": "Russia",
    "SY": "Syria", "SZ": "Eswatini", "TZ": "Tanzania", "VA": "Vatican City", "VE": "Venezuela", "VN": "Vietnam",
    "TR": "Turkey", "LY": "Libya", "MO": "Macao", "TL": "East Timor",
}

# other names of a country -> its ISO code
COUNTRY_ALIASES = {
    "uk": "GB", "u k": "GB", "great britain": "GB", "britain": "GB", "united kingdom": "GB",
    "usa": "US", "us": "US", "u s": "US", "u s a": "US", "america": "US", "united states of america": "US",
    "holland": "NL", "the netherlands": "NL", "czech republic": "CZ", "russian federation": "RU",
    "korea": "KR", "republic of korea": "KR", "uae": "AE", "emirates": "AE", "cote d ivoire": "CI",
    "burma": "MM", "vatican": "VA", "holy see": "VA", "turkiye": "TR", "macedonia": "MK", "swaziland": "SZ",
    "timor leste": "TL", "cabo verde": "CV", "drc": "CD", "congo kinshasa": "CD", "congo brazzaville": "CG",
    "bosnia": "BA", "trinidad": "TT", "deutschland": "DE", "espana": "ES", "italia": "IT", "suomi": "FI",
    "sverige": "SE", "norge": "NO", "danmark": "DK", "osterreich": "AT", "schweiz": "CH", "suisse": "CH",
    "nederland": "NL", "polska": "PL", "hellas": "GR", "eire": "IE", "nippon": "JP",
}

# other names people type for large cities and regions (their own language's, older ones), by the key of
# the English GeoNames name: GeoNames' alternate names are not shipped, so the best-known few are listed
PLACE_ALIASES = {
    "rome": ("roma",), "milan": ("milano",), "florence": ("firenze",), "venice": ("venezia",), "naples": ("napoli",),
    "turin": ("torino",), "genoa": ("genova",), "munich": ("munchen", "muenchen"), "cologne": ("koln", "koeln"),
    "nurnberg": ("nuremberg",), "vienna": ("wien",), "prague": ("praha",), "lisbon": ("lisboa",),
    "seville": ("sevilla",), "brussels": ("bruxelles", "brussel"), "antwerp": ("antwerpen", "anvers"),
    "copenhagen": ("kobenhavn",), "gothenburg": ("goteborg",), "warsaw": ("warszawa",), "krakow": ("cracow",),
    "moscow": ("moskva",), "athens": ("athina",), "the hague": ("den haag",), "geneva": ("geneve", "genf"),
    "bucharest": ("bucuresti",), "belgrade": ("beograd",), "kyiv": ("kiev",), "beijing": ("peking",),
    "mumbai": ("bombay",), "kolkata": ("calcutta",), "chennai": ("madras",), "ho chi minh city": ("saigon",),
    "mexico city": ("ciudad de mexico",), "new york city": ("nyc",),
    "bavaria": ("bayern",), "tuscany": ("toscana",), "lombardy": ("lombardia",), "catalonia": ("catalunya",),
    "andalusia": ("andalucia",), "sicily": ("sicilia",), "sardinia": ("sardegna",), "brittany": ("bretagne",),
}

# words GeoNames adds to region names that people leave out ("Skåne County" is typed "Skane")
_REGION_WORDS = re.compile(r"\b(county|province|region|oblast|prefecture|voivodeship|governorate|state of|"
                           r"district|department|municipality|autonomous community of)\b")


def name_key(text: str | None) -> str:
    """The matching form of a place name: accents dropped, case folded, punctuation to single spaces."""
    if not text:
        return ""
    plain = "".join(c for c in unicodedata.normalize("NFKD", str(text)) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", plain.casefold()).split())


def region_keys(region: str | None) -> set[str]:
    """A region's name, its short form without "County", "Province"... and its other names (PLACE_ALIASES)."""
    key = name_key(region)
    short = " ".join(_REGION_WORDS.sub(" ", key).split())
    return {k for k in (key, short, *PLACE_ALIASES.get(short, ())) if k}


def city_keys(city: str | None) -> set[str]:
    """A city's name and its other names (PLACE_ALIASES: "Roma" for Rome)."""
    key = name_key(city)
    return {key, *PLACE_ALIASES.get(key, ())} if key else set()


def country_code_for(name: str) -> str | None:
    """The ISO code an alias stands for ("UK" -> "GB"), None for other names."""
    return COUNTRY_ALIASES.get(name_key(name))
