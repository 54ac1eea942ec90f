"""People across platforms: web accounts, linked identities, merging, @handles and forgetting."""
