"""Taught concepts and relevance feedback on concepts the shipped models were not trained on.

    flock /tmp/pixseek-bench.lock python benchmarks/teach.py [--db benchmarks/cache/teach-db] [--concepts 30]

The collection (10,000 photos) holds faces/ (800: 80 people x 10; an identity is nothing ImageNet or the
captions name), MiniPlaces val (2,000: 100 scenes x 20; no ImageNet class is a scene) and 7,200 Tiny
ImageNet val photos (36 per class) as everyday distractors, whose classes serve as a control the models
know. For each concept (the first --concepts people, scenes and Tiny ImageNet classes), with 1, 3 and 5
examples drawn at random (fixed seed) from its photos:
- precision of its other photos: of the top R results (examples left out, R = how many other photos it
  has), the share that are its photos (R-precision), against plain keyword search of the scene or class
  name (people have no name to search);
- tag: is the taught name among the top 5 tags of one of its photos that was not an example;
- confident: of its other photos, the share scored confident (>= 0.5), and the other photos scored
  confident, per concept;
- refining a word: a scene or class with a one-word name taught under that name, its examples then
  count beside what the word already meant;
- seconds to teach (Collection.teach, examples from the collection), and a search with the taught word
  against a keyword search, warm.
Feedback: each scene's keyword query, then two rounds of marking the top 10 ("more like this" on its
photos, "not this" on the rest), R-precision after each round.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import CACHE, DATA, TINY, require  # noqa: E402

from pixseek import Collection  # noqa: E402


def build(db: Path) -> Collection:
    """The 10,000-photo collection, indexed through a folder of links (the shared photos stay where they are)."""
    links = db.parent / (db.name + "-photos")
    if not links.exists():
        chosen = [*sorted(require(DATA / "faces" / "images").glob("*.jpg")),
                  *sorted(require(DATA / "miniplaces" / "val").glob("*/*.jpg"))]
        chosen += [f for d in sorted(require(TINY / "val").iterdir()) for f in sorted(d.glob("*.JPEG"))[:36]]
        for f in chosen:
            link = links / f.relative_to(DATA)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(f)
    col = Collection.open(db)
    col.index([links], progress=None)
    return col


def labelled(col: Collection) -> tuple[dict[str, list[str]], dict[str, str]]:
    """concept -> its photos (paths), and concept -> the words plain keyword search is given (or none)."""
    people = dict(line.split("\t") for line in (DATA / "faces" / "labels.tsv").read_text().splitlines()[1:] if line)
    names = {}
    for line in (TINY / "words.txt").read_text().splitlines():
        wnid, words = line.split("\t")
        names[wnid] = words.split(",")[0].strip()
    groups: dict[str, list[str]] = defaultdict(list)
    query: dict[str, str] = {}
    for (path,) in col.catalog.db.execute("SELECT path FROM files WHERE status='ok' ORDER BY path"):
        parts = Path(path).parts
        if "faces" in parts:
            key = "face:" + people[parts[-1]]
        elif "miniplaces" in parts:
            key = "scene:" + parts[-2]
            query[key] = parts[-2].replace("_", " ")
        else:
            key = "tiny:" + parts[-2]
            query[key] = f'"{names[parts[-2]]}"' if " " in names[parts[-2]] else names[parts[-2]]
        groups[key].append(path)
    return groups, query


def r_precision(paths: list[str], relevant: set[str], exclude: set[str]) -> float:
    kept = [p for p in paths if p not in exclude][:len(relevant)]
    return sum(p in relevant for p in kept) / max(1, len(relevant))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=str(CACHE / "teach-db"))
    ap.add_argument("--concepts", type=int, default=30, help="concepts of each kind")
    args = ap.parse_args()
    col = build(Path(args.db))
    for c in col.concepts():
        col.forget(c["name"])
    groups, query = labelled(col)
    kinds = defaultdict(list)
    for key in groups:
        kinds[key.split(":")[0]].append(key)
    chosen = [k for kind in ("face", "scene", "tiny") for k in kinds[kind][:args.concepts]]
    rng = np.random.default_rng(0)
    print(f"collection: {col.status()['images']} photos; concepts: "
          + ", ".join(f"{kind} {min(len(kinds[kind]), args.concepts)}" for kind in ("face", "scene", "tiny")))
    teach_s, search_ms, keyword_ms = [], [], []
    for n in (1, 3, 5):
        rows = defaultdict(lambda: defaultdict(list))
        for key in chosen:
            photos = groups[key]
            examples = [photos[i] for i in rng.choice(len(photos), n, replace=False)]
            others = set(photos) - set(examples)
            t = time.perf_counter()
            col.teach("taughtword", examples)
            teach_s.append(time.perf_counter() - t)
            depth = max(len(others), 10) + n
            t = time.perf_counter()
            hits = col.search("taughtword", k=depth, min_score=0)
            search_ms.append(1000 * (time.perf_counter() - t))
            kind = key.split(":")[0]
            r = rows[kind]
            r["taught"].append(r_precision([h.path for h in hits], others, set(examples)))
            new = sorted(others)[0]
            r["tag"].append("taughtword" in [x.tag for x in col.tag(new, k=5)])
            weak = [getattr(h, "weak", h.score < 0.5) for h in hits]
            r["confident_true"].append(np.mean([not w for h, w in zip(hits, weak) if h.path in others]
                                               + [0.0] * (len(others) - sum(h.path in others for h in hits))))
            r["confident_false"].append(sum(not w and h.path not in photos for h, w in zip(hits, weak)))
            if key in query and n == 3:
                t = time.perf_counter()
                kw = col.search(query[key], k=depth, min_score=0)
                keyword_ms.append(1000 * (time.perf_counter() - t))
                r["keyword"].append(r_precision([h.path for h in kw], others, set(examples)))
                word = query[key].strip('"')
                if " " not in word:  # taught under its own name: the examples refine the word
                    col.teach(word, examples)
                    own = col.search(word, k=depth, min_score=0)
                    r["refined"].append(r_precision([h.path for h in own], others, set(examples)))
                    r["refined_keyword"].append(r["keyword"][-1])
                    col.forget(word)
            col.forget("taughtword")
        for kind, r in rows.items():
            line = f"{n} example(s)  {kind:6s} precision {np.mean(r['taught']):.3f}"
            if r.get("keyword"):
                kw = np.array(r["keyword"])
                low = kw < 0.5
                line += f" (keyword {kw.mean():.3f}; on the {low.sum()} keyword gets below 0.5: taught " \
                        f"{np.mean(np.array(r['taught'])[low]) if low.any() else float('nan'):.3f}, keyword " \
                        f"{kw[low].mean() if low.any() else float('nan'):.3f})"
            if r.get("refined"):
                line += f"; taught under its own name {np.mean(r['refined']):.3f} (keyword on those " \
                        f"{np.mean(r['refined_keyword']):.3f}, {len(r['refined'])} concepts)"
            line += f"  tag in top 5 {np.mean(r['tag']):.2f}  confident: own {np.mean(r['confident_true']):.2f}," \
                    f" others {np.mean(r['confident_false']):.1f} per concept"
            print(line, flush=True)
    print(f"teach: median {np.median(teach_s):.3f} s, max {np.max(teach_s):.3f} s; search with the taught word median "
          f"{np.median(search_ms):.1f} ms; keyword search median {np.median(keyword_ms):.1f} ms")
    feedback(col, groups, query, [k for k in chosen if k.startswith("scene:")])


def feedback(col: Collection, groups, query, scenes: list[str]) -> None:
    """Two rounds of marking the top 10 of each scene's keyword search."""
    rounds = defaultdict(list)
    for key in scenes:
        relevant = set(groups[key])
        like, unlike = [], []
        hits = col.search(query[key], k=len(relevant), min_score=0)
        rounds[0].append(r_precision([h.path for h in hits], relevant, set()))
        for rnd in (1, 2):
            seen = [h.path for h in hits[:10]]
            like += [p for p in seen if p in relevant and p not in like]
            unlike += [p for p in seen if p not in relevant and p not in unlike]
            hits = col.search(query[key], k=len(relevant) + len(like) + len(unlike), min_score=0, like=like or None,
                              unlike=unlike or None)
            # marked photos are not returned: judge the ranking of what was left, with the liked ones on top
            rounds[rnd].append(r_precision(like + [h.path for h in hits], relevant, set()))
    print("feedback on scene keyword searches: R-precision " + ", ".join(
        f"round {r} {np.mean(v):.3f}" for r, v in sorted(rounds.items())))


if __name__ == "__main__":
    main()
