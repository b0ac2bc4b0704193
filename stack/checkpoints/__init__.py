"""The Postgres checkpointer's tables read directly: records, safe decoder, ids, writes, reader, opt-in index, prune."""
