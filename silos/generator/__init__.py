"""The sandbox data generator: one deterministic population projected into the four systems.

``generate(customers, seed)`` returns a :class:`Sandbox` holding filled Shopify, Square and
Zendesk stores, the loyalty rows and ``ground_truth`` (which records belong to which person),
then the cross-channel ``journeys`` (:class:`Journey`: the events and open requests each one
must show) and, on request, heavy customers with thousands of events each. ``locale`` picks the
population: ``us`` (the default), ``es``, ``it`` or ``mixed`` (:mod:`silos.generator.locales`).
"""

from silos.generator.locales import LOCALES
from silos.generator.project import AS_OF, Sandbox, StoreLink, generate
from silos.generator.truth import Journey, JourneyEvent, OpenRequest

__all__ = ["AS_OF", "LOCALES", "Journey", "JourneyEvent", "OpenRequest", "Sandbox", "StoreLink",
           "generate"]
