"""Collection index: ranking, persistence, incremental adds, skipping bad files, IVF switch."""

import json

import numpy as np
import pytest

from gifqa.errors import ConfigError, DataError
from gifqa.retrieval.cache import EmbeddingCache
from gifqa.retrieval.index import CollectionIndex, clip_vector, collect_media_paths, index_files, ivf_nlist
from gifqa.media import load_video
from tests.retrieval_helpers import StubEncoder, tagged_frames, unit, write_gif

D = 8
E = np.eye(D, dtype=np.float32)
# Frame tags: 10+i is "concept i".  Text "concept i" points at E[i].
FRAME_TABLE = {10 + i: E[i] for i in range(D)}
FRAME_TABLE[99] = unit(np.ones(D))  # a bland filler frame
TEXT_TABLE = {f"concept {i}": E[i] for i in range(D)}


def encoder():
    return StubEncoder(FRAME_TABLE, TEXT_TABLE)


def make_collection(folder, specs):
    """specs: name -> frame tags.  Writes one GIF per name."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, tags in specs.items():
        write_gif(folder / f"{name}.gif", tagged_frames(tags, size=16))
    return folder


SPECS = {
    "cat": [10, 10, 99, 10],  # mostly concept 0
    "dog": [11, 99, 11, 11],  # mostly concept 1
    "mix": [10, 11, 12, 99],  # a bit of 0, 1, 2
    "car": [13, 13, 13, 13],
}


def build(tmp_path, specs=SPECS, enc=None, **kw):
    enc = enc or encoder()
    folder = make_collection(tmp_path / "gifs", specs)
    idx = CollectionIndex.create(tmp_path / "index", enc.model_id, enc.dim, **kw)
    files, problems = collect_media_paths([folder])
    report = index_files(idx, files, enc, load=load_video, cache=EmbeddingCache(False))
    idx.save()
    return idx, report, enc, folder


def names(hits):
    return [h.path.rsplit("/", 1)[-1] for h in hits]


def test_clip_vector_is_renormalised_mean():
    v = clip_vector(np.stack([3 * E[0], E[1]]))
    np.testing.assert_allclose(v, unit(E[0] + E[1]), atol=1e-6)


def test_search_ranks_the_right_gifs_with_cosine_scores(tmp_path):
    idx, report, enc, _ = build(tmp_path)
    assert len(report.added) == 4 and not report.skipped
    hits = idx.search_text(enc, "concept 0", k=10)
    assert names(hits)[:2] == ["cat.gif", "mix.gif"]
    assert [h.rank for h in hits] == [1, 2, 3, 4]
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    cat = clip_vector(np.stack([E[0], E[0], FRAME_TABLE[99], E[0]]))
    assert hits[0].score == pytest.approx(float(cat @ E[0]), abs=1e-5)
    assert names(idx.search_text(enc, "concept 3", k=1)) == ["car.gif"]
    assert names(idx.search_text(enc, "concept 1", k=2)) == ["dog.gif", "mix.gif"]


def test_metadata_table_and_reopen(tmp_path):
    idx, _, enc, folder = build(tmp_path)
    rows = [json.loads(l) for l in (tmp_path / "index" / "meta.jsonl").read_text().splitlines()]
    assert sorted(r["path"].rsplit("/", 1)[-1] for r in rows) == ["car.gif", "cat.gif", "dog.gif", "mix.gif"]
    assert all(len(r["sha256"]) == 64 and r["n_frames"] == 4 and r["stale"] is False for r in rows)
    again = CollectionIndex.open(tmp_path / "index")
    assert len(again) == 4 and again.manifest.kind == "flat" and again.manifest.model_id == "stub-clip"
    assert names(again.search_text(enc, "concept 3", k=1)) == ["car.gif"]


def test_incremental_add_encodes_only_new_files(tmp_path):
    idx, _, enc, folder = build(tmp_path)
    assert enc.frame_calls == 4
    write_gif(folder / "bus.gif", tagged_frames([14, 14, 14], size=16))
    idx2 = CollectionIndex.open(tmp_path / "index")
    enc2 = encoder()
    files, _ = collect_media_paths([folder])
    report = index_files(idx2, files, enc2, load=load_video, cache=EmbeddingCache(False))
    assert [p.rsplit("/", 1)[-1] for p in report.added] == ["bus.gif"]
    assert len(report.unchanged) == 4 and enc2.frame_calls == 1
    idx2.save()
    idx3 = CollectionIndex.open(tmp_path / "index")
    assert len(idx3) == 5 and names(idx3.search_text(enc2, "concept 4", k=1)) == ["bus.gif"]


def test_changed_file_replaces_its_old_row(tmp_path):
    idx, _, enc, folder = build(tmp_path)
    write_gif(folder / "car.gif", tagged_frames([15, 15, 99], size=16))  # same path, new bytes
    files, _ = collect_media_paths([folder])
    report = index_files(idx, files, enc, load=load_video, cache=EmbeddingCache(False))
    assert [p.rsplit("/", 1)[-1] for p in report.replaced] == ["car.gif"]
    idx.save()
    idx = CollectionIndex.open(tmp_path / "index")
    assert len(idx) == 4 and len(idx.entries) == 5
    assert names(idx.search_text(enc, "concept 5", k=1)) == ["car.gif"]
    hits = idx.search_text(enc, "concept 3", k=10)
    assert len(hits) == 4 and len({h.path for h in hits}) == 4  # the stale car row never comes back
    assert all(h.sha256 != idx.entries[3].sha256 or not idx.entries[3].stale for h in hits)


def test_bad_files_are_reported_and_skipped_not_fatal(tmp_path):
    folder = make_collection(tmp_path / "gifs", SPECS)
    (folder / "broken.gif").write_bytes(b"GIF89a\x10\x00garbage")
    (folder / "empty.gif").write_bytes(b"")
    enc = encoder()
    idx = CollectionIndex.create(tmp_path / "index", enc.model_id, enc.dim)
    files, problems = collect_media_paths([folder, tmp_path / "missing.gif"])
    assert problems == [(str(tmp_path / "missing.gif"), "not found")]
    seen = []
    report = index_files(idx, files, enc, load=load_video, cache=EmbeddingCache(False),
                         on_file=lambda p, s: seen.append(s))
    assert sorted(p.rsplit("/", 1)[-1] for p, _ in report.skipped) == ["broken.gif", "empty.gif"]
    why = dict((p.rsplit("/", 1)[-1], w) for p, w in report.skipped)
    assert "corrupt" in why["broken.gif"] and "empty" in why["empty.gif"]  # the media layer's reason
    assert len(report.added) == 4 and seen.count("skipped") == 2 and len(idx) == 4


def test_file_list_input(tmp_path):
    folder = make_collection(tmp_path / "gifs", SPECS)
    lst = tmp_path / "list.txt"
    lst.write_text("# two of them\ngifs/cat.gif\n\ngifs/dog.gif\ngifs/nope.gif\n")
    files, problems = collect_media_paths([lst, folder / "car.gif", folder / "cat.gif"])
    assert [f.rsplit("/", 1)[-1] for f in files] == ["cat.gif", "dog.gif", "car.gif"]  # deduplicated
    assert problems == [(str(tmp_path / "gifs" / "nope.gif"), "not found")]


def test_model_mismatch_is_an_error(tmp_path):
    idx, _, enc, _ = build(tmp_path)
    other = StubEncoder(FRAME_TABLE, TEXT_TABLE, model_id="other-clip")
    with pytest.raises(ConfigError, match="not comparable"):
        idx.search_text(other, "concept 0")


def test_open_rejects_non_index_and_inconsistent_files(tmp_path):
    with pytest.raises(DataError, match="not a gifqa index"):
        CollectionIndex.open(tmp_path)
    idx, _, enc, _ = build(tmp_path)
    with open(tmp_path / "index" / "meta.jsonl", "a") as f:
        f.write(json.dumps({"path": "x", "sha256": "y", "n_frames": 1}) + "\n")
    with pytest.raises(DataError, match="disagree"):
        CollectionIndex.open(tmp_path / "index")
    m = json.loads((tmp_path / "index" / "index.json").read_text())
    m["surprise"] = 1
    (tmp_path / "index" / "index.json").write_text(json.dumps(m))
    with pytest.raises(ConfigError, match="unknown keys"):
        CollectionIndex.open(tmp_path / "index")


def test_switches_to_ivf_above_threshold_and_keeps_finding_items(tmp_path):
    rng = np.random.default_rng(0)
    d = 16
    vecs = rng.normal(size=(3000, d)).astype(np.float32)
    idx = CollectionIndex.create(tmp_path / "big", "rand", d, flat_max_vectors=1000, nprobe=8)
    for i, v in enumerate(vecs[:1000]):
        idx.add(f"/c/{i}.gif", f"{i:064x}", 1, v)
    assert idx.manifest.kind == "flat"
    for i, v in enumerate(vecs[1000:], start=1000):
        idx.add(f"/c/{i}.gif", f"{i:064x}", 1, v)
    m = idx.manifest
    assert m.kind == "ivf" and m.trained_on == 1001 and m.nlist == ivf_nlist(1001)
    assert m.nlist < 1001  # the 3000 adds after training did not retrain (growth < 4x)
    idx.save()
    idx = CollectionIndex.open(tmp_path / "big")
    assert idx.manifest.kind == "ivf" and len(idx) == 3000
    # Each stored vector is its own nearest neighbour (its cell is always probed).
    hits = idx.search_vectors(vecs[[5, 1500, 2999]], k=3)
    assert [h[0].row for h in hits] == [5, 1500, 2999]
    assert all(h[0].score == pytest.approx(1.0, abs=1e-5) for h in hits)


def test_fewer_items_than_k(tmp_path):
    idx, _, enc, _ = build(tmp_path, specs={"cat": [10, 10, 10]})
    hits = idx.search_text(enc, "concept 0", k=10)
    assert len(hits) == 1 and hits[0].row == 0
