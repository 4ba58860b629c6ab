"""Faces and people on real CelebA photos (../shared/data/faces): the face stage (own stage after embedding,
resumable, kept per collection), grouping into people that keeps its ids across runs, naming, merging and
forgetting, a name as a query word, photos by face, and searches without people words left as they were."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from PIL import Image

from pixseek import Collection
from pixseek.errors import PixseekError
from pixseek.ingest.face_stage import find_faces
from pixseek.search.person_words import people_in_query
from pixseek.store import faces as face_store
from tests.conftest import DATA

FACES = DATA / "faces"
OTHERS = [DATA / "photos" / n for n in ("skimage_coffee.png", "skimage_rocket.jpg", "skimage_chelsea.png")]
pytestmark = pytest.mark.skipif(not (FACES / "labels.tsv").is_file() or not OTHERS[0].is_file(),
                                reason="needs the shared CelebA faces and photos")
PEOPLE = ("person7270", "person7268", "person7218")  # three people whose ten photos each show a clear face
PER_PERSON = 6


def labelled() -> dict[str, list[Path]]:
    """person -> their photos, in file-name order."""
    out: dict[str, list[Path]] = {}
    with open(FACES / "labels.tsv") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            out.setdefault(row["person"], []).append(FACES / "images" / row["image"])
    return {p: sorted(v) for p, v in out.items()}


def lay_out(folder: Path, per_person: int = PER_PERSON, first: int = 0) -> dict[str, str]:
    """Copies of PER_PERSON photos of each of PEOPLE (from photo `first` on) and the three photos without
    faces into `folder`; file name -> person (None for the others)."""
    folder.mkdir(parents=True, exist_ok=True)
    who = {}
    for person in PEOPLE:
        for src in labelled()[person][first:first + per_person]:
            shutil.copy2(src, folder / src.name)
            who[src.name] = person
    for src in OTHERS:
        shutil.copy2(src, folder / src.name)
        who[src.name] = None
    return who


def person_of(col: Collection, path: Path) -> int | None:
    found = col.faces(path)
    assert found["source"] == "catalog"
    return found["faces"][0]["person"] if found["faces"] else None


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """One collection of the 21 photos, embedded first, then faces found in a second run."""
    root = tmp_path_factory.mktemp("faces")
    who = lay_out(root / "photos")
    col = Collection.open(root / "db")
    col.index([root / "photos"], progress=False)
    before = {q: [(h.path, h.score) for h in col.search(q, k=10)] for q in ("dog", "woman smiling", "coffee")}
    report = col.index([root / "photos"], progress=False, faces=True)
    col.close()
    return root, who, report, before


def _copy(indexed, tmp_path) -> tuple[Collection, Path, dict]:
    root, who, _, _ = indexed
    shutil.copytree(root / "db", tmp_path / "db")
    return Collection.open(tmp_path / "db"), root / "photos", who


def test_faces_of_photos_already_indexed_are_found_without_embedding_them_again(indexed):
    root, who, report, _ = indexed
    assert report.indexed == 0 and report.skipped == len(who)
    assert report.faces["read"] == len(who) and report.faces["failed"] == 0
    col = Collection.open(root / "db")
    for name, person in who.items():
        found = col.faces(root / "photos" / name)
        if person is None:
            assert found["faces"] == [], name
        else:
            assert len(found["faces"]) >= 1, name
            x0, y0, x1, y1 = found["faces"][0]["box"]
            w, h = Image.open(root / "photos" / name).size
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h and x1 - x0 >= 40
    col.close()


def test_each_person_is_one_group_and_groups_hold_one_person(indexed):
    root, who, _, _ = indexed
    col = Collection.open(root / "db")
    groups: dict[str, set] = {}
    for name, person in who.items():
        if person is not None:
            groups.setdefault(person, set()).add(person_of(col, root / "photos" / name))
    assert all(len(g) == 1 and None not in g for g in groups.values()), groups
    assert len({next(iter(g)) for g in groups.values()}) == len(PEOPLE)
    listed = {p["id"]: p for p in col.people()}
    for person, g in groups.items():
        entry = listed[next(iter(g))]
        assert entry["count"] == PER_PERSON and entry["name"] is None
        assert {Path(p).name for p in entry["photos"]} == {n for n, w in who.items() if w == person}
    col.close()


def test_searches_without_people_words_are_unchanged_by_the_faces(indexed):
    root, _, _, before = indexed
    col = Collection.open(root / "db")
    col.name_person(col.people()[0]["id"], "Anna")
    after = {q: [(h.path, h.score) for h in col.search(q, k=10)] for q in before}
    assert after == before
    col.close()


def test_name_search_merge_and_forget(indexed, tmp_path):
    col, photos, who = _copy(indexed, tmp_path)
    ids = {person: person_of(col, photos / next(n for n, w in who.items() if w == person)) for person in PEOPLE}
    anna, ben, cleo = (ids[p] for p in PEOPLE)
    assert col.name_person(anna, "Anna Maria")["name"] == "Anna Maria"
    col.name_person(ben, "Ben")
    mine = {n for n, w in who.items() if w == PEOPLE[0]}
    assert {Path(h.path).name for h in col.search("anna maria", k=20)} == mine  # any case, several words
    assert {Path(h.path).name for h in col.search(f"person:{cleo}", k=20)} == {n for n, w in who.items() if w == PEOPLE[2]}
    assert {Path(h.path).name for h in col.search("Anna Maria -Ben", k=20)} == mine
    assert {Path(h.path).name for h in col.search("Anna Maria Ben", k=20)} == set()  # never together
    ranked = col.search("Ben woman", k=20)  # the rest of the query ranks Ben's photos only
    assert {Path(h.path).name for h in ranked} == {n for n, w in who.items() if w == PEOPLE[1]}
    with pytest.raises(PixseekError, match="already names person"):
        col.name_person(cleo, "ben")
    merged = col.merge_people(anna, cleo)
    assert merged["name"] == "Anna Maria" and merged["count"] == 2 * PER_PERSON
    assert len(col.search("Anna Maria", k=50)) == 2 * PER_PERSON
    assert col.forget_person(ben)["faces"] >= PER_PERSON
    assert ben not in {p["id"] for p in col.people()}
    assert face_store.counts(col.catalog.db)["faces"] == sum(len(col.faces(photos / n)["faces"]) for n in who)
    assert people_in_query(col.catalog, "Ben") is None  # a plain word again
    again = find_faces(col.layout, progress=False)  # a later run finds no faces of Ben again: his photos were read
    assert again.read == 0 and ben not in {p["id"] for p in col.people()}
    col.close()


def test_bad_person_ids_and_names_are_one_line_errors(indexed, tmp_path):
    col, _, _ = _copy(indexed, tmp_path)
    with pytest.raises(PixseekError, match="no person 999"):
        col.name_person(999, "Zoe")
    with pytest.raises(PixseekError, match="a person's name"):
        col.name_person(col.people()[0]["id"], "42")
    with pytest.raises(PixseekError, match="person id is a whole number"):
        col.merge_people("one", 2)
    with pytest.raises(PixseekError, match="no person 999"):
        col.search("person:999")
    col.close()


def test_similar_faces_finds_a_person_from_a_new_photo(indexed):
    root, who, _, _ = indexed
    col = Collection.open(root / "db")
    new = labelled()[PEOPLE[1]][PER_PERSON]  # a photo of Ben the collection does not hold
    hits = col.similar_faces(new, k=PER_PERSON)
    assert {Path(h.path).name for h in hits} == {n for n, w in who.items() if w == PEOPLE[1]}
    now = col.faces(new)  # found now, the person the nearest stored face belongs to
    assert now["source"] == "detected" and now["faces"][0]["person"] == person_of(col, Path(hits[0].path))
    assert col.faces(new, detect=False) == {"path": str(new), "source": "none", "faces": []}
    indexed_one = root / "photos" / next(n for n, w in who.items() if w == PEOPLE[0])
    hits = col.similar_faces(indexed_one, k=20)
    assert indexed_one.name not in {Path(h.path).name for h in hits}  # the query photo itself is left out
    assert {who[Path(h.path).name] for h in hits} == {PEOPLE[0]}
    with pytest.raises(PixseekError, match="no face found"):
        col.similar_faces(OTHERS[0])
    col.close()


def test_an_interrupted_stage_resumes_and_groups_as_one_run(indexed, tmp_path):
    root, who, _, _ = indexed
    col = Collection.open(tmp_path / "db")
    col.index([root / "photos"], progress=False)

    def stop(done: int) -> None:
        raise KeyboardInterrupt  # as Ctrl-C would, after the first batch is committed

    with pytest.raises(KeyboardInterrupt):
        find_faces(col.layout, faces=True, progress=False, workers=1, on_batch=stop)
    assert face_store.counts(col.catalog.db)["read"] == 16 and col.people() == []  # one batch kept, not grouped yet
    again = find_faces(col.layout, progress=False, workers=1)  # the setting was kept
    assert again.read == len(who) - 16
    clean = Collection.open(root / "db")
    grouped = [(p["count"], sorted(p["photos"])) for p in col.people()]
    assert grouped == [(p["count"], sorted(p["photos"])) for p in clean.people()]
    clean.close()
    col.close()


def test_people_keep_their_ids_as_photos_are_added(tmp_path):
    photos = tmp_path / "photos"
    who = lay_out(photos, per_person=3)
    col = Collection.open(tmp_path / "db")
    col.index([photos], progress=False, faces=True)
    first = {n: person_of(col, photos / n) for n, w in who.items() if w}
    assert all(first.values())
    col.name_person(first[next(n for n, w in who.items() if w == PEOPLE[0])], "Anna")
    more = lay_out(photos, per_person=3, first=3)
    report = col.index([photos], progress=False)  # no --faces: the collection keeps finding faces
    assert report.faces["read"] == len(more) - len(OTHERS)
    assert {n: person_of(col, photos / n) for n in first} == first  # nobody moved, no id changed
    for person in PEOPLE:  # the new photos joined the people already there
        old = {first[n] for n, w in who.items() if w == person}
        new = {person_of(col, photos / n) for n, w in more.items() if w == person}
        assert new == old, person
    assert col.index([photos], progress=False).faces["read"] == 0
    assert {n: person_of(col, photos / n) for n in first} == first
    assert col.index([photos], progress=False, faces=False).faces is None
    col.close()


def test_small_faces_are_skipped_and_counted(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    src = labelled()[PEOPLE[0]][0]
    im = Image.open(src)
    im.resize((im.width // 8, im.height // 8), Image.LANCZOS).save(photos / "small.jpg", quality=95)  # a 30 px face
    col = Collection.open(tmp_path / "db")
    report = col.index([photos], progress=False, faces=True)
    assert report.faces["small"] == 1 and report.faces["faces"] == 0
    assert col.faces(photos / "small.jpg")["faces"] == []
    with pytest.raises(PixseekError, match="no faces in this collection yet"):
        col.similar_faces(labelled()[PEOPLE[0]][1])
    col.close()


def test_the_people_commands(indexed, tmp_path):
    from tests.conftest import cli_json, run_cli

    col, photos, who = _copy(indexed, tmp_path)
    col.close()
    db = tmp_path / "db"
    people = cli_json("people", db=db)
    assert sorted(p["count"] for p in people) == [PER_PERSON] * 3 and set(people[0]) == {"id", "name", "count", "photos"}
    st = cli_json("status", db=db)["faces"]  # status counts what the face stage found
    assert st["finding"] and st["read"] == len(who) and st["people"] == len(people)
    assert st["faces"] >= st["with_faces"] >= PER_PERSON * 3
    assert f"faces: {st['faces']} in {st['with_faces']} of {st['read']} photos" in run_cli("status", db=db).stdout
    first = photos / sorted(n for n, w in who.items() if w == PEOPLE[2])[0]
    faces = cli_json("faces", str(first), db=db)
    pid = faces["faces"][0]["person"]
    assert faces["source"] == "catalog" and set(faces["faces"][0]) == {"box", "person", "name", "score", "quality"}
    assert run_cli("people", "name", str(pid), "Cleo", "Smith", db=db).stdout.startswith(f"person {pid} is now Cleo Smith")
    hits = cli_json("search", "cleo", "smith", db=db)["results"]
    assert {Path(h["path"]).name for h in hits} == {n for n, w in who.items() if w == PEOPLE[2]}
    like = cli_json("similar", str(first), "--faces", "-k", "20", db=db)
    assert {Path(h["path"]).name for h in like} == {n for n, w in who.items() if w == PEOPLE[2]} - {first.name}
    bad = run_cli("people", "merge", str(pid), "12345", db=db, check=False)
    assert bad.returncode != 0
    assert bad.stderr.strip() == "pixseek: error: no person 12345 in this collection (pixseek people lists them)"
    assert "Traceback" not in bad.stderr
