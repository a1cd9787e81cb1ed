"""The PII access audit: an append-only record of every read of a customer's profile by staff
or a service — who, which role, which customer, which groups of fields, which request, when;
never the values."""
