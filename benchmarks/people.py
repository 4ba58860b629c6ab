"""People: how fast `index --faces` runs and how well faces find people, on the CelebA photos of faces/.

    flock /tmp/pixseek-bench.lock python benchmarks/people.py [--speed-photos 100] [--workers 2]
        [--skip-speed] [--skip-accuracy]

../shared/data/faces/: 800 photos, 80 people x 10 (labels.tsv names each photo's main face; the main face
is taken to be the largest face found). The people are split as the clustering thresholds were tuned:
sorted by label, the even ones ("tune") and the odd ones ("check", 40 people).

- speed: 100 photos of faces/ enlarged to about 0.5 MP (JPEG q90): `index` without faces, then the face
  stage alone on the indexed photos, then `index --faces` on a fresh collection; photos/s each. And the
  41 camera photos of geotagged/ (0.8 to 9 MP) indexed without and with faces.
- query by a new photo: a gallery of the 40 check people x their first 8 photos + 100 photos of tune
  people; each check person's other 2 photos query `similar --faces` (k=8, among gallery photos only):
  precision@8 (a query whose photo shows no face scores 0).
- clusters: after indexing the gallery, then all 800 (incremental), the people of the main faces: pairwise
  precision and recall over all labelled photos (a photo without a face found is a group of its own), per half.
- name search: each check person's largest group is named, and the name searched (k=8): precision@8
  over the 10 photos of that person in the collection.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import shutil
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's pixseek
from common import DATA, require  # noqa: E402

from pixseek import Collection  # noqa: E402
from pixseek.errors import PixseekError  # noqa: E402
from pixseek.ingest.face_stage import find_faces  # noqa: E402

FACES = DATA / "faces"


def labels() -> dict[str, str]:
    with open(require(FACES / "labels.tsv")) as f:
        return {r["image"]: r["person"] for r in csv.DictReader(f, delimiter="\t")}


def speed(tmp: Path, n: int, workers: int) -> dict:
    src = sorted((FACES / "images").glob("*.jpg"))[:n]
    folder = tmp / "half-mp"
    folder.mkdir()
    for p in src:
        im = Image.open(p).convert("RGB")
        f = (500_000 / (im.width * im.height)) ** 0.5
        im.resize((round(im.width * f), round(im.height * f)), Image.LANCZOS).save(folder / p.name, quality=90)
    mp = sum(Image.open(p).size[0] * Image.open(p).size[1] for p in folder.iterdir()) / n / 1e6
    col = Collection.open(tmp / "speed-a")
    t = time.perf_counter()
    col.index([folder], progress=False, workers=workers)
    embed_s = time.perf_counter() - t
    t = time.perf_counter()
    found = find_faces(col.layout, faces=True, progress=False, workers=workers)
    stage_s = time.perf_counter() - t
    col.close()
    col = Collection.open(tmp / "speed-b")
    t = time.perf_counter()
    col.index([folder], progress=False, workers=workers, faces=True)
    both_s = time.perf_counter() - t
    col.close()
    return {"photos": n, "mean_mp": round(mp, 3), "index_without_faces_per_s": round(n / embed_s, 2),
            "face_stage_alone_per_s": round(n / stage_s, 2), "index_with_faces_per_s": round(n / both_s, 2),
            "faces": found.faces, "photos_with_faces": found.with_faces, "small": found.small}


def camera_speed(tmp: Path, workers: int) -> dict:
    """The 41 camera and phone photos of geotagged/ (0.8 to 9 MP, faces blurred in most): index without
    faces, then with, each into a fresh collection."""
    folder = require(DATA / "geotagged")
    n = len(list(folder.glob("*.jpg")))
    out = {"photos": n}
    for faces in (False, True):
        col = Collection.open(tmp / f"camera-{faces}")
        t = time.perf_counter()
        report = col.index([folder], progress=False, workers=workers, faces=faces)
        out[f"index_{'with' if faces else 'without'}_faces_per_s"] = round(n / (time.perf_counter() - t), 2)
        if report.faces is not None:
            out["faces"] = report.faces["faces"]
        col.close()
    return out


def main_face_people(col: Collection, folder: Path, names: list[str]) -> dict[str, int | None]:
    out = {}
    for n in names:
        found = col.faces(folder / n)["faces"]
        out[n] = found[0]["person"] if found else None
    return out


def pairwise(groups: dict[str, int | None], truth: dict[str, str]) -> tuple[float, float]:
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(groups), 2):
        same = truth[a] == truth[b]
        together = groups[a] is not None and groups[a] == groups[b]
        tp += same and together
        fp += together and not same
        fn += same and not together
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


def accuracy(tmp: Path, workers: int) -> dict:
    truth = labels()
    by: dict[str, list[str]] = {}
    for name in sorted(truth):
        by.setdefault(truth[name], []).append(name)
    people = sorted(by)
    tune, check = people[0::2], people[1::2]
    gallery = [n for p in check for n in by[p][:8]] + [n for p in tune for n in by[p]][:100]
    queries = [(n, p) for p in check for n in by[p][8:]]
    photos = tmp / "faces"
    (photos / "gallery").mkdir(parents=True)
    (photos / "rest").mkdir()
    for n in truth:
        shutil.copy2(FACES / "images" / n, photos / ("gallery" if n in set(gallery) else "rest") / n)
    col = Collection.open(tmp / "people")
    t = time.perf_counter()
    first = col.index([photos / "gallery"], progress=False, workers=workers, faces=True)
    gallery_s = time.perf_counter() - t
    scores = []
    for name, person in queries:
        try:
            hits = col.similar_faces(FACES / "images" / name, k=8, under=str(photos / "gallery"))
        except PixseekError:  # no face found in the query photo
            hits = []
        scores.append(sum(truth[Path(h.path).name] == person for h in hits) / 8)
    second = col.index([photos], progress=False, workers=workers)  # all 800: the new faces join or start people
    where = {n: photos / ("gallery" if n in set(gallery) else "rest") for n in truth}
    groups = {n: main_face_people(col, where[n], [n])[n] for n in truth}
    halves = {}
    for label, half in (("tune", set(tune)), ("check", set(check)), ("all", set(people))):
        names = [n for n in truth if truth[n] in half]
        p, r = pairwise({n: groups[n] for n in names}, truth)
        halves[label] = {"precision": round(p, 4), "recall": round(r, 4)}
    name_p = []
    for i, person in enumerate(check):
        ids = [groups[n] for n in by[person] if groups[n] is not None]
        if not ids:
            name_p.append(0.0)
            continue
        pid = max(set(ids), key=lambda g: (ids.count(g), -g))
        col.name_person(pid, f"Person{chr(65 + i // 26)}{chr(65 + i % 26)}")
        hits = col.search(f"Person{chr(65 + i // 26)}{chr(65 + i % 26)}", k=8)
        name_p.append(sum(truth[Path(h.path).name] == person for h in hits) / 8)
    found = sum(g is not None for g in groups.values())
    n_people = len(col.people())
    grid = tuning_grid(col, where, truth, tune, check)
    col.close()
    return {"gallery_index_with_faces_per_s": round(len(gallery) / gallery_s, 2), "faces_first": first.faces,
            "faces_second": second.faces, "main_face_found": round(found / len(truth), 4),
            "query_precision_at_8": round(sum(scores) / len(scores), 4), "queries": len(scores),
            "clusters": halves, "people": n_people,
            "name_search_precision_at_8": round(sum(name_p) / len(name_p), 4), "grid": grid}


def tuning_grid(col: Collection, where: dict[str, Path], truth: dict[str, str], tune: list[str],
                check: list[str]) -> list[dict]:
    """Pairwise P/R of grouping each half's main faces from scratch (in two increments, as two index runs
    would), over thresholds and votes: how FACE_SAME_PERSON and VOTES were chosen (on `tune`)."""
    import numpy as np

    from pixseek.ingest.people_clusters import assign

    rows = []
    for half_name, half in (("tune", set(tune)), ("check", set(check))):
        names = [n for n in sorted(truth) if truth[n] in half]
        faces = {n: col.faces(where[n] / n)["faces"] for n in names}
        names = [n for n in names if faces[n]]
        index = face_match_index(col)
        vectors = np.stack([index[tuple(faces[n][0]["box"]), n] for n in names])
        contents = np.arange(len(names))
        for threshold in (0.50, 0.52, 0.54, 0.56, 0.58):
            for votes in (1, 2):
                labels = -np.ones(len(names), np.int64)
                h = len(names) // 2
                first, _ = assign(vectors[:h], labels[:h], contents[:h], threshold, votes=votes)
                first = np.where(first < -1, 10_000 - first, first)  # the first run's new groups become people
                labels, _ = assign(vectors, np.concatenate([first, labels[h:]]), contents, threshold, votes=votes)
                groups = {n: (int(g) if g != -1 else None) for n, g in zip(names, labels)}
                groups.update({n: None for n in truth if truth[n] in half and n not in groups})
                p, r = pairwise(groups, truth)
                rows.append({"half": half_name, "threshold": threshold, "votes": votes, "precision": round(p, 4),
                             "recall": round(r, 4)})
    return rows


def face_match_index(col: Collection) -> dict:
    """(box, file name) -> the stored descriptor of that face."""
    from pixseek.store import faces as face_store

    found = face_store.descriptors(col.catalog.db)
    rows = col.catalog.db.execute("SELECT g.id, g.x0, g.y0, g.x1, g.y1, f.path FROM faces g JOIN files f "
                                  "ON f.content_id = g.content_id").fetchall()
    by_id = {int(i): v for i, v in zip(found.ids, found.vectors)}
    return {((x0, y0, x1, y1), Path(path).name): by_id[i] for i, x0, y0, x1, y1, path in rows if i in by_id}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--speed-photos", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-accuracy", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_speed:
            print("speed (0.5 MP):", speed(Path(tmp), args.speed_photos, args.workers), flush=True)
            print("speed (camera photos):", camera_speed(Path(tmp), args.workers), flush=True)
        if args.skip_accuracy:
            return
        result = accuracy(Path(tmp), args.workers)
        grid = result.pop("grid")
        print("accuracy:", result, flush=True)
        for row in grid:
            print("grid:", row)


if __name__ == "__main__":
    main()
