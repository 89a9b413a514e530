"""Feed files into the landing tables: every file version read once, every message and row accounted for."""
