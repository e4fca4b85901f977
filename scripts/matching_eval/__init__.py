"""The labelled matching evaluation set of ``scripts/make_matching_eval.py``."""
