"""Encoders turn pixels, words and phrases into vectors. Nothing here knows about collections."""
