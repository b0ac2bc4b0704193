"""The only console code that calls stack/: one typed source per screen (live over the services, recorded for tests) and the one run follower. No Textual."""
