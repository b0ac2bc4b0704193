"""The Postgres checkpointer's tables read directly: records, the safe decoder, the reader, the opt-in index, prune."""
