"""Store and index: the SQLite catalog (catalog*.py, with photo text, places and taught concepts beside it),
the vector stores behind one protocol (vectors.py: local files, arrays, ANN indexes in ann/, Milvus in
milvus/), the derived vectors kept beside them, and the collection folder's layout (layout.py). Scanning
folders and indexing photos is ingest/."""
