"""All Qt code of Tabless. Talks only to ``app``; learns about adapters through app.registry."""
