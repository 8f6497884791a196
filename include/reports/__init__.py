"""Pages people read, rendered from the published warehouse: the per-subject public credit report."""
