"""Limits checked before any silo is called: depth, aliases, root fields, tokens, directives
and cost per role; persisted operations; introspection and field suggestions."""
