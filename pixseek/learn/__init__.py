"""Training and evaluation beside search: datasets, the DeViSE mapping, the joint space, figures."""
