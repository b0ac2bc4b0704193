"""Command-line commands, one module per command group. Never imports Textual at import time: a command that draws imports it inside the command."""
