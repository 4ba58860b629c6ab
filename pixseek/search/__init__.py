"""Search: parse queries, turn words into concept weights, rank images and explain hits."""
