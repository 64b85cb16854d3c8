"""The outbound-delivery engine: a queue in the database, delivered by workers through adapters registered per
kind, with retries, leases and idempotency keys. Generic: forwarding uses it, the metering cloud integrations
will too (they register their own kinds)."""
