"""What a gateway tells its operators: Prometheus metrics (:mod:`.metrics`), one structured
log line per request (:mod:`.logs`), both fed by the request middleware (:mod:`.requests`).
Settings: ``[telemetry]`` (:mod:`.settings`). Nothing here holds personal data: labels and
log fields are operation names, source names, status codes, outcomes and request ids."""
