"""Configuration, database, security and logging of the backend."""
