"""Everything that talks to a service, grouped by what it talks to. Never imports Textual, console/ or widgets/."""
