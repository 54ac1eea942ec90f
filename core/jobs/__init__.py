"""A job's life: admission (moderation, quotas), the fair queue, running it, and the outbox of results."""
