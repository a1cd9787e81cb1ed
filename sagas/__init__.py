"""Writes through the gateway as sagas: idempotent, ordered, compensated, persisted.

:mod:`sagas.store` keeps sagas, their steps and idempotency keys in the registry's database;
:mod:`sagas.engine` runs, resumes and compensates them; :mod:`sagas.journeys` declares each
mutation's steps.
"""
