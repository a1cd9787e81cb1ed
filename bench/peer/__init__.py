"""The Hive Gateway / GraphQL Mesh contestant of ``python -m bench`` (see ``hive.py``)."""
