"""Store and index: the SQLite catalog, vector files, folder scanning and the indexing pipeline."""
