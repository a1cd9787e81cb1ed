"""One adapter per vendor behind typed, batched capability protocols."""
