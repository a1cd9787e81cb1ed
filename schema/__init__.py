"""The customer-360 GraphQL schema (strawberry, code-first)."""
