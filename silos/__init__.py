"""Emulated source systems: Shopify, Square, Zendesk and the in-house loyalty database.

Each REST silo is a Starlette app answering a faithful subset of its vendor's API from in-memory
indexes, wrapped in :class:`silos.control.SandboxControl`, which adds the sandbox control API
(``/_sandbox/stats``, ``/_sandbox/reset``, ``/_sandbox/faults``) outside the vendor API.
"""
