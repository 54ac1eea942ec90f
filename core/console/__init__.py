"""State only the web console has: its chat threads and their messages."""
