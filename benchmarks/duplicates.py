"""Near-duplicates on a labelled set of look-alike distinct photos with planted copies and bursts: pair
precision and recall of `pixseek duplicates`, per kind of copy.

    flock /tmp/pixseek-bench.lock python benchmarks/duplicates.py [--json OUT]

The sets (benchmarks/duplicates_set.py) are indexed with the real `pixseek index`; groups come from the
real `Collection.duplicates`. A pair of files is a true copy pair when both come from one original; a
true burst pair when both are shots of one planted burst. The threshold is swept on the calibration set,
then the shipped one is measured once on the test set.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import duplicates_set  # noqa: E402
from common import DATA, require  # noqa: E402

from pixseek.interfaces.collection import Collection  # noqa: E402
from pixseek.search.duplicates import THRESHOLD  # noqa: E402

SWEEP = (0.45, 0.5, 0.6, 0.7, 0.8)  # from the lowest threshold accepted


def figures(groups, labels: dict[str, dict]) -> dict:
    """Pair precision and recall of copies (in all and per kind of copy against its original), of bursts,
    and the copy groups that hold two distinct photos (a keep badge that would cost a photo)."""
    def pairs(kind):
        return {tuple(sorted(p)) for g in groups if g.kind == kind for p in itertools.combinations(g.paths, 2)}

    copies, bursts = pairs("copies"), pairs("burst")
    truth = {p for p in itertools.combinations(sorted(labels), 2) if labels[p[0]]["photo"] == labels[p[1]]["photo"]}
    burst_truth = {p for p in itertools.combinations(sorted(labels), 2)
                   if labels[p[0]]["burst"] is not None and labels[p[0]]["burst"] == labels[p[1]]["burst"]}
    out = {"copies": {"precision": len(copies & truth) / max(len(copies), 1), "recall": len(copies & truth) / len(truth),
                      "pairs": len(truth), "false": len(copies - truth)},
           "bursts": {"precision": len(bursts & burst_truth) / max(len(bursts), 1),
                      "recall": len(bursts & burst_truth) / max(len(burst_truth), 1), "pairs": len(burst_truth)},
           "mixed_keep_groups": sum(g.kind == "copies" and len({labels[p]["photo"] for p in g.paths}) > 1 for g in groups),
           "burst_with_keep": sum(g.kind == "burst" and g.keep is not None for g in groups)}
    originals = {labels[p]["photo"]: p for p in labels if labels[p]["copy"] is None}
    for kind in (*duplicates_set.COPIES, "same bytes"):
        want = [tuple(sorted((originals[v["photo"]], p))) for p, v in labels.items() if v["copy"] == kind]
        found = [p for p in want if p in copies]
        named = sum(_why(groups, p) == kind for p in found)
        out[kind] = {"recall": len(found) / max(len(want), 1), "pairs": len(want), "labelled": named / max(len(found), 1)}
    return out


def _why(groups, pair) -> str | None:
    """Why the group says one of the pair is a copy, when the other is its keeper."""
    for g in groups:
        if g.kind == "copies" and g.keep in pair and set(pair) <= set(g.paths):
            other = pair[1] if pair[0] == g.keep else pair[0]
            return (g.why or {}).get(other)
    return None


def show(name: str, t: float, f: dict, seconds: float) -> None:
    c, b = f["copies"], f["bursts"]
    print(f"{name} threshold {t:.2f}: copy pairs precision {c['precision']:.3f} recall {c['recall']:.3f} "
          f"({c['pairs']} true, {c['false']} false grouped); burst pairs precision {b['precision']:.3f} "
          f"recall {b['recall']:.3f} ({b['pairs']}); copy groups holding distinct photos {f['mixed_keep_groups']}; "
          f"bursts with a keeper {f['burst_with_keep']}; {seconds:.1f} s")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    require(DATA / "tiny-imagenet-200" / "val")
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for kind in ("cal", "test"):
            labels = duplicates_set.build(kind, root)
            with Collection.open(root / f"{kind}-db") as col:
                col.index([root / kind], progress=False)
                for t in (SWEEP if kind == "cal" else (THRESHOLD,)):
                    start = time.perf_counter()
                    groups = col.duplicates(t, progress=False)
                    f = figures(groups, labels)
                    show(f"{kind:<4} ({len(labels)} files)", t, f, time.perf_counter() - start)
                    result[f"{kind}@{t}"] = f
            f = result[f"{kind}@{THRESHOLD}"]
            print(f"{kind} per kind of copy at {THRESHOLD}: " + "; ".join(
                f"{k} recall {f[k]['recall']:.3f} of {f[k]['pairs']}, labelled {k!r} {f[k]['labelled']:.3f}"
                for k in (*duplicates_set.COPIES, "same bytes")))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
