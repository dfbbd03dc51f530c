"""A form generated from an adapter's config fields (``ConfigField``: key, type, default, title).

Text fields are line edits, ``int`` a spin box, ``float`` a double spin box, ``bool`` a check
box; secret fields echo as a password and never show a stored value. Required fields are marked
with an asterisk; defaults are filled in. Titles are translated when shown: the built-in
adapters' titles are listed below for ``lupdate``; a company's own adapter shows its English.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QEvent, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from app.accounts import ConfigField

CONTEXT = "ConfigForm"
INT_MAX = 2_147_483_647  # QSpinBox is 32-bit
# The built-in adapters' titles and field titles (and the secrets a mapping file can name);
# tests/ui/test_accounts_dialog.py fails when an installed adapter's title is missing here.
BUILT_IN_TITLES = (
    QT_TRANSLATE_NOOP("ConfigForm", "Nightly CSV export"),
    QT_TRANSLATE_NOOP("ConfigForm", "Export folder (local path or mounted share)"),
    QT_TRANSLATE_NOOP("ConfigForm", "File name pattern"),
    QT_TRANSLATE_NOOP(
        "ConfigForm",
        "Delimiter (empty: detect comma, tab or semicolon; 'tab' for a tab)",
    ),
    QT_TRANSLATE_NOOP("ConfigForm", "Mapping file (no code)"),
    QT_TRANSLATE_NOOP("ConfigForm", "Mapping file (TOML) describing the system"),
    QT_TRANSLATE_NOOP(
        "ConfigForm",
        "Address of the system (overrides the mapping file's source.base_url)",
    ),
    QT_TRANSLATE_NOOP("ConfigForm", "Freshdesk"),
    QT_TRANSLATE_NOOP("ConfigForm", "Freshdesk address (https://<domain>.freshdesk.com)"),
    QT_TRANSLATE_NOOP("ConfigForm", "API key (Profile settings → API key)"),
    QT_TRANSLATE_NOOP("ConfigForm", "Tickets per list page"),
    QT_TRANSLATE_NOOP("ConfigForm", "Customer portal (osTicket)"),
    QT_TRANSLATE_NOOP("ConfigForm", "Portal address, e.g. https://portal.example.cn"),
    QT_TRANSLATE_NOOP("ConfigForm", "User name"),
    QT_TRANSLATE_NOOP("ConfigForm", "Password"),
    QT_TRANSLATE_NOOP("ConfigForm", "Tickets per page (1-100)"),
    QT_TRANSLATE_NOOP("ConfigForm", "Quality inspection"),
    QT_TRANSLATE_NOOP("ConfigForm", "Service URL (e.g. https://qa.example.com)"),
    QT_TRANSLATE_NOOP("ConfigForm", "Client id (the JWT issuer)"),
    QT_TRANSLATE_NOOP("ConfigForm", "Shared signing key (HS256)"),
    QT_TRANSLATE_NOOP("ConfigForm", "Inspections per page"),
    QT_TRANSLATE_NOOP("ConfigForm", "Token lifetime in seconds (60–300)"),
    QT_TRANSLATE_NOOP("ConfigForm", "Lowest score tagged qa:pass"),
    QT_TRANSLATE_NOOP("ConfigForm", "Request Tracker"),
    QT_TRANSLATE_NOOP("ConfigForm", "RT address (https://rt.example.com)"),
    QT_TRANSLATE_NOOP("ConfigForm", "RT user the token belongs to"),
    QT_TRANSLATE_NOOP("ConfigForm", "RT auth token (RT::Authen::Token)"),
    QT_TRANSLATE_NOOP("ConfigForm", "Tickets per search page"),
    QT_TRANSLATE_NOOP("ConfigForm", "Zammad"),
    QT_TRANSLATE_NOOP("ConfigForm", "Zammad address (https://zammad.example.com)"),
    QT_TRANSLATE_NOOP("ConfigForm", "Access token (Profile → Token Access)"),
    QT_TRANSLATE_NOOP("ConfigForm", "Zendesk Support"),
    QT_TRANSLATE_NOOP("ConfigForm", "Zendesk address (https://<subdomain>.zendesk.com)"),
    QT_TRANSLATE_NOOP(
        "ConfigForm",
        "Sign-in: client_credentials, or authorization_code (a person signs in through the browser)",  # noqa: E501
    ),
    QT_TRANSLATE_NOOP("ConfigForm", "OAuth client id"),
    QT_TRANSLATE_NOOP("ConfigForm", "OAuth client secret"),
    QT_TRANSLATE_NOOP("ConfigForm", "Tickets per export page"),
    QT_TRANSLATE_NOOP("ConfigForm", "Znuny / OTRS"),
    QT_TRANSLATE_NOOP("ConfigForm", "Znuny address (https://helpdesk.example.com)"),
    QT_TRANSLATE_NOOP("ConfigForm", "Agent login"),
    QT_TRANSLATE_NOOP("ConfigForm", "Agent password"),
    QT_TRANSLATE_NOOP("ConfigForm", "Web service name"),
    QT_TRANSLATE_NOOP("ConfigForm", "Tickets per pull"),
    QT_TRANSLATE_NOOP("ConfigForm", "API key"),
    QT_TRANSLATE_NOOP("ConfigForm", "Access token"),
    QT_TRANSLATE_NOOP("ConfigForm", "JWT signing key"),
    QT_TRANSLATE_NOOP("ConfigForm", "Secret"),
)


def field_title(item: ConfigField) -> str:
    """The field's title in the current language (its key when it has none)."""
    return QCoreApplication.translate(CONTEXT, item.title) if item.title else item.key


class ConfigForm(QWidget):
    """One row per config field; :meth:`values` and :meth:`secrets` read what was entered."""

    changed = Signal()
    """changed(): the agent edited a value (a passed test no longer covers the form)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.fields: tuple[ConfigField, ...] = ()
        self.editors: dict[str, QWidget] = {}
        self._labels: dict[str, QLabel] = {}
        self._stored: set[str] = set()
        self._fixed = 0  # rows the owner put above the generated ones

    # --- building -------------------------------------------------------------------------
    def add_fixed_row(self, label: QLabel | None, widget: QWidget) -> int:
        """A row of the owner's above the generated ones (one column of labels for all)."""
        if label is None:
            self.layout_.insertRow(self._fixed, widget)
        else:
            label.setBuddy(widget)
            self.layout_.insertRow(self._fixed, label, widget)
        self._fixed += 1
        return self._fixed - 1

    def set_fields(
        self,
        fields: Sequence[ConfigField],
        values: Mapping[str, Any] | None = None,
        *,
        stored_secrets: Iterable[str] = (),
        hidden: Iterable[str] = (),
    ) -> None:
        """Rebuild the form for ``fields``, filled with ``values`` (else the defaults).

        ``stored_secrets``: secret fields that already have a keyring entry (left empty: kept).
        ``hidden``: fields the dialog shows its own way (the mapping file picker).
        """
        while self.layout_.rowCount() > self._fixed:
            self.layout_.removeRow(self._fixed)
        self.editors.clear()
        self._labels.clear()
        skip = set(hidden)
        self.fields = tuple(f for f in fields if f.key not in skip)
        self._stored = set(stored_secrets)
        filled = dict(values or {})
        for item in self.fields:
            editor = self._editor(item, filled.get(item.key, item.default))
            label = QLabel()
            label.setBuddy(editor)
            self.editors[item.key] = editor
            self._labels[item.key] = label
            self.layout_.addRow(label, editor)
        self.retranslate()

    def _editor(self, item: ConfigField, value: Any) -> QWidget:
        editor: QWidget
        if item.type is bool:
            box = QCheckBox()
            box.setChecked(bool(value))
            box.toggled.connect(self.changed)
            editor = box
        elif item.type is int:
            spin = QSpinBox()
            spin.setRange(0, INT_MAX)
            spin.setValue(int(value or 0))
            spin.valueChanged.connect(self.changed)
            editor = spin
        elif item.type is float:
            double = QDoubleSpinBox()
            double.setRange(0.0, 1e9)
            double.setDecimals(2)
            double.setValue(float(value or 0.0))
            double.valueChanged.connect(self.changed)
            editor = double
        else:
            line = QLineEdit()
            if item.secret:
                line.setEchoMode(QLineEdit.EchoMode.Password)
            elif value is not None:
                line.setText(str(value))
            line.textChanged.connect(self.changed)
            editor = line
        editor.setObjectName(f"field_{item.key}")
        return editor

    def retranslate(self) -> None:
        """Titles, required marks and placeholders in the current language."""
        for item in self.fields:
            title = field_title(item)
            required = item.required and item.default is None
            text = self.tr("{title} *").format(title=title) if required else title
            self._labels[item.key].setText(text)
            editor = self.editors[item.key]
            editor.setAccessibleName(title)
            editor.setToolTip(self.tr("Required") if required else "")
            if isinstance(editor, QLineEdit) and item.secret:
                editor.setPlaceholderText(
                    self.tr("Stored in the keyring — leave empty to keep it")
                    if item.key in self._stored
                    else self.tr("Kept only in the system keyring")
                )

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- reading --------------------------------------------------------------------------
    def _value(self, key: str) -> Any:
        editor = self.editors[key]
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QSpinBox | QDoubleSpinBox):
            return editor.value()
        assert isinstance(editor, QLineEdit)
        return editor.text().strip()

    def values(self) -> dict[str, Any]:
        """The non-secret settings entered (empty text left out: the default applies)."""
        values = {f.key: self._value(f.key) for f in self.fields if not f.secret}
        return {key: value for key, value in values.items() if value != ""}

    def secrets(self) -> dict[str, str]:
        """The secrets typed (an empty one: keep the stored entry)."""
        return {f.key: str(self._value(f.key)) for f in self.fields if f.secret}

    def missing(self) -> list[str]:
        """Titles of required fields left empty (a stored secret counts as filled)."""
        return [
            field_title(f)
            for f in self.fields
            if f.required
            and f.default is None
            and self._value(f.key) in ("", None)
            and not (f.secret and f.key in self._stored)
        ]

    def set_read_only(self, keys: Iterable[str], read_only: bool = True) -> None:
        """Lock the editors of ``keys`` (re-authenticating changes only the secrets)."""
        for key in keys:
            if key in self.editors:
                self.editors[key].setEnabled(not read_only)
