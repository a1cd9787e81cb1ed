"""The sandbox data generator: one deterministic population projected into the four systems.

``generate(customers, seed)`` returns a :class:`Sandbox` holding filled Shopify, Square and
Zendesk stores, the loyalty rows and ``ground_truth`` (which records belong to which person).
"""

from silos.generator.project import AS_OF, Sandbox, StoreLink, generate

__all__ = ["AS_OF", "Sandbox", "StoreLink", "generate"]
