"""Making clips from a job: the local worker pool, or a Ray cluster (whose deployment lives in model/)."""
