"""Records -> the rows and lines widgets take. No I/O, no stack/ calls."""
