"""Replaces the contrib hook for lxml, which bundles every lxml submodule (objectify, html, ...).

Tabless parses XML with ``lxml.etree`` only (``adapters/_formats/xml.py``).
"""

hiddenimports = ["lxml._elementpath"]
