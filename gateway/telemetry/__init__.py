"""What a gateway tells its operators: Prometheus metrics (:mod:`.metrics`), one structured
log line per request (:mod:`.logs`), OpenTelemetry traces (:mod:`.traces`), all fed by the
request middleware (:mod:`.requests`). Settings: ``[telemetry]`` (:mod:`.settings`). Nothing
here holds personal data: labels, log fields and span attributes are operation names, source
names, methods, counts, status codes, outcomes and request ids."""
