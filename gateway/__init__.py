"""The c360 gateway: HTTP server, configuration and command line."""
