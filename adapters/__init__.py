"""Adapters: one package per external system. Never imports Qt, ui or a sibling adapter."""
