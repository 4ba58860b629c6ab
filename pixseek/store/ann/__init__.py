"""Approximate nearest-neighbour indexes described by short strings, as FAISS's index factory does.

    flat                      exact inner product over all vectors (the reference)
    hnsw32                    HNSW graph with 32 links per node
    ivf1024,pq32              1024 inverted lists, 32-byte product-quantized codes
    ivf1024,pq32,polysemous   the same, with codes trained so Hamming distance filters candidates
    pca256,ivf1024,pq32       vectors reduced to 256 dimensions by PCA first (wide vectors at scale)
    pca256,ivf1024,pq32,sq8   the same, candidates re-scored on an 8-bit copy of the reduced vectors
    annoy100                  100 random-projection trees (Annoy)
    lsh256                    256-bit random-hyperplane hashes

The metric is inner product (cosine on unit vectors). An `AnnIndex` maps external int64 ids to the
library's row positions, so every family supports the same operations: removals are tombstones
filtered at search time (over-fetching to make up for them); adds go straight into the library's
index where it can take them (flat, HNSW, a trained IVF, LSH) and otherwise into a small exact side
buffer (Annoy, or an IVF that has not seen enough vectors to train). `stale_fraction` tells the owner
when a rebuild is worth it. Compressed families (IVF-PQ, LSH) re-rank their candidates on exact
vectors when the owner attaches a source for them (`attach_vectors`).

Files are saved atomically: payload files get a new generation number, are fsynced, and only then does a
small JSON header naming them (with sizes and CRC32s) replace the old one; a crash at any point leaves
the previous header and its files intact. `AnnIndex.load` checks every size and checksum and raises
`IndexFileError` rather than return a damaged index.

    spec.py            the index-string grammar, what each costs per vector, search knobs, description
    choice.py          which index `auto` picks (ranked candidates with reasons); resolve_index, the one decision
    backends.py        the backend protocol and registry: faiss_backend.py, annoy_backend.py
    index.py           AnnIndex: id map, tombstones, side buffer, re-ranking
    files.py           the file format: generations, checksums, the header written last
    indexed.py         IndexedVectorStore: a LocalVectorStore with an AnnIndex kept in step
"""

from pixseek.store.ann.choice import choose_index, is_auto, ivf_lists, parse_bytes, resolve_index
from pixseek.store.ann.files import FORMAT_VERSION, IndexFileError
from pixseek.store.ann.index import AnnIndex, load_or_build
from pixseek.store.ann.indexed import IndexedVectorStore
from pixseek.store.ann.spec import DEFAULT_KNOBS, KINDS, IndexSpec, human_bytes, parse_spec

__all__ = ["DEFAULT_KNOBS", "FORMAT_VERSION", "KINDS", "AnnIndex", "IndexFileError", "IndexSpec", "IndexedVectorStore",
           "choose_index", "human_bytes", "is_auto", "ivf_lists", "load_or_build", "parse_bytes", "parse_spec",
           "resolve_index"]
