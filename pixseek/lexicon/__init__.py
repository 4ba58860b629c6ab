"""Word and place resources: word vectors, WordNet, sentence-vector caches, place names and offline reverse geocoding."""
