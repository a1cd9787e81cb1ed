"""Authentication: JWT bearer tokens (JWKS or a public key file; HS256 only with a shared
secret) and API keys for services, as ASGI middleware in front of ``/graphql``."""
