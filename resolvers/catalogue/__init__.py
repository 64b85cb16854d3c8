"""The device catalogue: product types, devices, claiming, batches and key downloads."""
