"""What every chat adapter shares: the delivery worker, the job-status tracker, event dispatch, upload fitting."""
