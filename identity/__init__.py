"""The identity registry: which silo records are the same person (MDM "registry" style).

Only identifiers and links are stored — normalized emails and phones, cross-references, a name
match key, and golden id ↔ (source, record id) links with the rule that made each one. Every
other attribute stays in its silo and is read live.
"""
