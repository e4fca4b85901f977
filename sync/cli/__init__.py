"""``sksync``, the operator's command line, and the other entry points (demo, schema
generation): the top layer, which may import every package below and is imported by none."""
