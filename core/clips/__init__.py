"""Clips once made: lookups, lineage (the remix tree) and deletion."""
