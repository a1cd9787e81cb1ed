"""Resolvers and per-request DataLoaders in front of the adapters' batch methods."""
