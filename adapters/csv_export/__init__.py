"""The ``csv`` adapter: nightly ticket exports (Freshdesk's CSV columns) read from a folder."""
