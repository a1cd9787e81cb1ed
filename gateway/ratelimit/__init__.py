"""Rate limits per principal: a token bucket per subject or API key, in process or on Redis."""
