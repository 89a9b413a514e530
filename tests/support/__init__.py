"""What several test modules share: the hand-written feed, the Dagster webserver, out-of-process runs."""
