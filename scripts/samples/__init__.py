"""The sample source feeds of ``scripts/make_samples.py``, one module per source."""
