"""Where a clip comes from, carried in the clip: metadata, a visible watermark and C2PA signing."""
