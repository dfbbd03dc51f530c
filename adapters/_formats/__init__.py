"""Hardened decoding of JSON, XML and CSV payloads, and their text encodings."""
