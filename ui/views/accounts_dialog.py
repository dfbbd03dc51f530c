"""The Accounts dialog: connect a system by choosing an adapter (or a mapping file), filling the
form generated from its config fields and testing the connection; edit, re-authenticate, remove.

Everything that touches the network, the keyring or a file runs through ``app.accounts`` as a
task on the loop (``run_op``); the dialog only shows a busy bar meanwhile. Save is enabled only
after a passing test of the values now in the form: any edit disables it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QCoreApplication, QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.accounts import (
    AUTH_SETTING,
    AUTHORIZATION_CODE,
    Account,
    Accounts,
    CheckResult,
    ConfigField,
    SaveOutcome,
)
from app.domain import TablessError
from app.registry import adapter_classes, broken_adapters
from app.runtime import Workstation
from ui.bridge import run_op
from ui.widgets.config_form import CONTEXT, ConfigForm

DECLARATIVE = "declarative"
MAPPING_KEY = "mapping"
ADD, EDIT, REAUTH = "add", "edit", "reauth"
T = TypeVar("T")


def _reason(error: BaseException) -> str:
    return error.message if isinstance(error, TablessError) else f"{type(error).__name__}: {error}"


class AccountsDialog(QDialog):
    """Connected systems on the left, the connect/edit form on the right."""

    systems_changed = Signal(str)
    """systems_changed(system_id): an account was saved or removed (the window redraws it)."""

    form_loaded = Signal()
    """form_loaded(): the form now shows the fields of the chosen adapter or mapping file."""

    def __init__(
        self,
        accounts: Accounts,
        workstation: Workstation | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.accounts = accounts
        self.ws = workstation
        self.mode = ADD
        self.system_id: str | None = None
        self._generation = 0  # bumped by every edit of the form
        self._passed: int | None = None  # the generation a test passed for
        self._task: asyncio.Task[Any] | None = None
        self._listed: list[Account] = []
        self.confirmation: QMessageBox | None = None
        self._tokens: dict[str, str] = {}  # a browser sign-in's tokens, until saved
        self.sign_in_options: dict[str, Any] = {}
        """Extra arguments for ``app.oauth_login.sign_in`` (e.g. ``timeout_s``)."""

        # --- the list of accounts
        self.list = QListWidget()
        self.list.setSpacing(3)
        self.list_label = QLabel()
        self.list_label.setBuddy(self.list)
        self.add_button = QPushButton()
        self.edit_button = QPushButton()
        self.reauth_button = QPushButton()
        self.remove_button = QPushButton()
        self.selection_note = QLabel()
        self.selection_note.setWordWrap(True)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.reauth_button, self.remove_button):
            buttons.addWidget(button)
        left = QVBoxLayout()
        left.addWidget(self.list_label)
        left.addWidget(self.list, 1)
        left.addLayout(buttons)
        left.addWidget(self.selection_note)

        # --- the form
        self.group = QGroupBox()
        self.adapter = QComboBox()
        self.broken_note = QLabel()
        self.broken_note.setWordWrap(True)
        self.mapping_path = QLineEdit()
        self.mapping_browse = QPushButton()
        self.mapping_row = QWidget()
        mapping_layout = QHBoxLayout(self.mapping_row)
        mapping_layout.setContentsMargins(0, 0, 0, 0)
        mapping_layout.addWidget(self.mapping_path, 1)
        mapping_layout.addWidget(self.mapping_browse)
        self.mapping_error = QLabel()
        self.mapping_error.setWordWrap(True)
        self.mapping_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.mapping_error.setStyleSheet("color: #a11;")
        self.title_edit = QLineEdit()
        self.zone = QLineEdit("UTC")
        self.form = ConfigForm()
        self.adapter_label, self.mapping_label = QLabel(), QLabel()
        self.title_label, self.zone_label = QLabel(), QLabel()
        self.form.add_fixed_row(self.adapter_label, self.adapter)
        self._mapping_rows = (
            self.form.add_fixed_row(self.mapping_label, self.mapping_row),
            self.form.add_fixed_row(None, self.mapping_error),
        )
        self.form.add_fixed_row(self.title_label, self.title_edit)
        self.form.add_fixed_row(self.zone_label, self.zone)
        self.test_button = QPushButton()
        self.save_button = QPushButton()
        self.save_button.setEnabled(False)
        self.clear_button = QPushButton()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: "working…"
        self.busy.setMaximumHeight(10)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        actions = QHBoxLayout()
        actions.addWidget(self.test_button)
        actions.addWidget(self.save_button)
        actions.addStretch(1)
        actions.addWidget(self.clear_button)
        form_layout = QVBoxLayout(self.group)
        form_layout.addWidget(self.form)
        form_layout.addWidget(self.broken_note)
        form_layout.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.group, 1)
        right.addWidget(self.busy)
        right.addWidget(self.outcome)
        right.addLayout(actions)

        self.close_box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.close_box.rejected.connect(self.reject)
        columns = QHBoxLayout()
        columns.addLayout(left, 2)
        columns.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addWidget(self.close_box)

        for name in sorted(adapter_classes()):
            self.adapter.addItem("", name)
        self.adapter.currentIndexChanged.connect(lambda _i: self._adapter_chosen())
        self.mapping_browse.clicked.connect(self.browse_mapping)
        self.mapping_path.editingFinished.connect(
            lambda: self.load_mapping(self.mapping_path.text())
        )
        self.form.changed.connect(self._edited)
        self.title_edit.textEdited.connect(lambda _t: self._edited())
        self.mapping_path.textEdited.connect(lambda _t: self._edited())
        self.zone.textEdited.connect(lambda _t: self._edited())
        self.test_button.clicked.connect(self.test_connection)
        self.save_button.clicked.connect(self.save)
        self.clear_button.clicked.connect(self.start_new)
        self.add_button.clicked.connect(self.start_new)
        self.edit_button.clicked.connect(self.edit_selected)
        self.reauth_button.clicked.connect(self.reauthenticate_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.list.currentRowChanged.connect(lambda _r: self._selection_changed())
        self.list.itemDoubleClicked.connect(lambda _i: self.edit_selected())

        self.resize(980, 560)
        self.retranslate()
        self.refresh()
        self._adapter_chosen()

    # --- text ---------------------------------------------------------------------------------
    def retranslate(self) -> None:
        """Every visible string; re-run on QEvent.LanguageChange."""
        self.setWindowTitle(self.tr("Accounts"))
        self.list_label.setText(self.tr("Connected systems"))
        self.list.setAccessibleName(self.tr("Connected systems"))
        self.add_button.setText(self.tr("Add…"))
        self.edit_button.setText(self.tr("Edit"))
        self.reauth_button.setText(self.tr("Re-authenticate"))
        self.remove_button.setText(self.tr("Remove…"))
        self.adapter_label.setText(self.tr("System type"))
        self.mapping_label.setText(self.tr("Mapping file *"))
        self.mapping_path.setPlaceholderText(self.tr("A TOML file describing the system"))
        self.mapping_browse.setText(self.tr("Choose…"))
        self.title_label.setText(self.tr("Name in the window"))
        self.zone_label.setText(self.tr("Time zone of its plain times"))
        self.zone.setToolTip(
            self.tr("For timestamps the system sends without a zone, e.g. Asia/Shanghai")
        )
        self.test_button.setText(self.tr("Test connection"))
        self.save_button.setText(self.tr("Save"))
        self.save_button.setToolTip(self.tr("Enabled after a successful connection test"))
        self.clear_button.setText(self.tr("Start over"))
        self.busy.setAccessibleName(self.tr("Testing the connection…"))
        for index in range(self.adapter.count()):
            name = self.adapter.itemData(index)
            title = adapter_classes()[name].manifest.title
            self.adapter.setItemText(index, QCoreApplication.translate(CONTEXT, title))
        broken = broken_adapters()
        self.broken_note.setVisible(bool(broken))
        self.broken_note.setText(
            self.tr("These adapters are installed but cannot be used: {list}").format(
                list="; ".join(f"{name} ({reason})" for name, reason in sorted(broken.items()))
            )
        )
        self._heading()
        self.form.retranslate()
        self._fill_list()

    def _heading(self) -> None:
        account = next((a for a in self._listed if a.system_id == self.system_id), None)
        title = account.entry.title if account else ""
        if self.mode == EDIT:
            self.group.setTitle(self.tr("Edit “{title}”").format(title=title))
        elif self.mode == REAUTH:
            self.group.setTitle(self.tr("Re-authenticate “{title}”").format(title=title))
        else:
            self.group.setTitle(self.tr("Connect a system"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    # --- the list -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the accounts from the configuration files."""
        try:
            self._listed = self.accounts.all()
        except TablessError as exc:
            self._listed = []
            self.show_result(
                self.tr("The configuration cannot be read: {reason}").format(reason=_reason(exc)),
                ok=False,
            )
        self._fill_list()

    def _fill_list(self) -> None:
        current = self.selected()
        self.list.blockSignals(True)
        self.list.clear()
        for account in self._listed:
            location, user = account.identity
            where = " · ".join(part for part in (location, user) if part)
            text = f"{account.entry.title}\n{where}"
            if account.read_only:
                text += "\n" + self.tr("(set up by IT)")
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, account.system_id)
            if account.read_only:
                item.setToolTip(
                    self.tr("From your IT department's site configuration ({path})").format(
                        path=account.source
                    )
                )
            self.list.addItem(item)
            if current is not None and current.system_id == account.system_id:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._selection_changed()

    def selected(self) -> Account | None:
        """The account selected in the list."""
        item = self.list.currentItem()
        if item is None:
            return None
        system_id = item.data(Qt.ItemDataRole.UserRole)
        return next((a for a in self._listed if a.system_id == system_id), None)

    def select(self, system_id: str) -> None:
        """Select an account in the list."""
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == system_id:
                self.list.setCurrentRow(row)
                return

    def _selection_changed(self) -> None:
        account = self.selected()
        idle = self._task is None
        self.edit_button.setEnabled(idle and account is not None and not account.read_only)
        self.remove_button.setEnabled(idle and account is not None and not account.read_only)
        self.reauth_button.setEnabled(idle and account is not None)
        if account is not None and account.read_only:
            self.selection_note.setText(
                self.tr(
                    "“{title}” is set up by your IT department: you can re-authenticate it, "
                    "but only IT can change or remove it."
                ).format(title=account.entry.title)
            )
        else:
            self.selection_note.clear()

    # --- the form -----------------------------------------------------------------------------
    def adapter_name(self) -> str:
        """The adapter chosen in the form."""
        return str(self.adapter.currentData() or "")

    def choose_adapter(self, name: str) -> None:
        """Pick the adapter ``name`` (as the agent does in the combo box)."""
        self.adapter.setCurrentIndex(self.adapter.findData(name))

    def _adapter_chosen(self) -> None:
        name = self.adapter_name()
        if not name:
            return
        self.set_mapping_error("")
        self._show_mapping(name == DECLARATIVE)
        if self.mode == ADD:
            self.title_edit.setText(
                QCoreApplication.translate(CONTEXT, adapter_classes()[name].manifest.title)
            )
        fields = adapter_classes()[name].manifest.config
        self._show_fields(fields, self.form.values() if self.mode == ADD else {})
        if name == DECLARATIVE and self.mapping_path.text().strip():
            self.load_mapping(self.mapping_path.text())
        self._edited()

    def _show_mapping(self, shown: bool) -> None:
        self.form.layout_.setRowVisible(self._mapping_rows[0], shown)
        self.form.layout_.setRowVisible(self._mapping_rows[1], shown and self.has_mapping_error())

    def set_mapping_error(self, text: str) -> None:
        """Show (or clear, with "") the mistake found in the mapping file, under its row."""
        self.mapping_error.setText(text)
        self.form.layout_.setRowVisible(self._mapping_rows[1], bool(text))

    def has_mapping_error(self) -> bool:
        """True while a mistake in the mapping file is shown."""
        return bool(self.mapping_error.text())

    def _show_fields(
        self, fields: tuple[ConfigField, ...], values: dict[str, Any], stored: bool = False
    ) -> None:
        secrets = [f.key for f in fields if f.secret] if stored else []
        self.form.set_fields(fields, values, stored_secrets=secrets, hidden=(MAPPING_KEY,))
        if self.mode == REAUTH:
            self.form.set_read_only([f.key for f in fields if not f.secret])
        self.form_loaded.emit()

    def browse_mapping(self) -> None:
        """Choose the mapping file with the file picker."""
        path, _filter = QFileDialog.getOpenFileName(
            self, self.tr("Choose a mapping file"), "", self.tr("Mapping files (*.toml)")
        )
        if path:
            self.load_mapping(path)

    def load_mapping(self, path: str) -> None:
        """Read and check a mapping file; its mistakes (file, line, key) appear under it."""
        path = path.strip()
        self.mapping_path.setText(path)
        self._edited()
        if not path:
            return
        values = self.form.values()

        def loaded(fields: tuple[ConfigField, ...]) -> None:
            self.set_mapping_error("")
            self._show_fields(fields, values, stored=self.mode != ADD)

        def failed(error: BaseException) -> None:
            self.set_mapping_error(
                self.tr("The mapping file has a mistake: {reason}").format(reason=_reason(error))
            )

        run_op(
            self.accounts.fields(DECLARATIVE, {**values, MAPPING_KEY: path}),
            on_success=loaded,
            on_error=failed,
        )

    def settings(self) -> dict[str, Any]:
        """The non-secret settings now in the form."""
        values = self.form.values()
        if self.adapter_name() == DECLARATIVE:
            values[MAPPING_KEY] = self.mapping_path.text().strip()
        return values

    def _edited(self) -> None:
        self._generation += 1
        self._tokens = {}
        if self._passed is not None:
            self._passed = None
            self.show_result(self.tr("Changed: test the connection again before saving."), None)
        self.save_button.setEnabled(False)

    def show_result(self, text: str, ok: bool | None) -> None:
        """The plain-language outcome line (green when it worked, red when not)."""
        colour = {True: "#1b6e1b", False: "#a11", None: ""}[ok]
        self.outcome.setStyleSheet(f"color: {colour};" if colour else "")
        self.outcome.setText(text)

    def _busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        for widget in (self.test_button, self.group, self.list):
            widget.setEnabled(not busy)
        if busy:
            self.save_button.setEnabled(False)
        self._selection_changed()

    def _run(
        self,
        coroutine: Coroutine[Any, Any, T],
        on_success: Callable[[T], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        """Run one operation with the busy bar shown; the form is locked meanwhile."""

        def succeeded(value: T) -> None:
            self._task = None
            self._busy(False)
            on_success(value)

        def failed(error: BaseException) -> None:
            self._task = None
            self._busy(False)
            on_error(error)

        self._task = run_op(coroutine, on_success=succeeded, on_error=failed)
        self._busy(True)

    # --- test and save ------------------------------------------------------------------------
    def test_connection(self) -> None:
        """Run the adapter's check with the form's values (async; Save follows a pass)."""
        missing = self.form.missing()
        if self.adapter_name() == DECLARATIVE and not self.mapping_path.text().strip():
            missing.insert(0, self.tr("Mapping file"))
        if missing:
            self.show_result(
                self.tr("Please fill in: {fields}").format(fields=", ".join(missing)), False
            )
            return
        generation = self._generation
        naive_zone = self.zone.text().strip() or "UTC"
        if self.settings().get(AUTH_SETTING) == AUTHORIZATION_CODE:
            self.show_result(self.tr("Sign in in the browser window that opened…"), None)
            self._run(
                self.accounts.sign_in(
                    self.adapter_name(),
                    self.settings(),
                    self.form.secrets(),
                    system_id=self.system_id,
                    naive_zone=naive_zone,
                    **self.sign_in_options,
                ),
                lambda signed: self._signed_in(generation, *signed),
                self._failed,
            )
            return
        self.show_result(self.tr("Testing the connection…"), None)
        self._run(
            self.accounts.test(
                self.adapter_name(),
                self.settings(),
                self.form.secrets(),
                system_id=self.system_id,
                naive_zone=naive_zone,
            ),
            lambda result: self._tested(generation, result),
            self._failed,
        )

    def _signed_in(self, generation: int, result: CheckResult, tokens: dict[str, str]) -> None:
        self._tokens = tokens  # in memory until Save puts them in the keyring
        self._tested(generation, result)

    def _tested(self, generation: int, result: CheckResult) -> None:
        if result.ok:
            self.show_result(
                self.tr("The connection works: {details}").format(details=result.message), True
            )
        else:
            self.show_result(
                self.tr("The connection test failed: {details}").format(details=result.message),
                False,
            )
        current = result.ok and generation == self._generation
        self._passed = generation if current else None
        self.save_button.setEnabled(current)

    def _failed(self, error: BaseException) -> None:
        self.show_result(self.tr("Not saved: {reason}").format(reason=_reason(error)), False)
        self.save_button.setEnabled(False)

    def save(self) -> None:
        """Save the tested values (tested once more by the core before anything is written)."""
        if self._passed != self._generation:
            self.save_button.setEnabled(False)
            return
        secrets = {**self.form.secrets(), **self._tokens}
        if self.mode == REAUTH and self.system_id:
            operation = self.accounts.reauthenticate(self.system_id, secrets)
        else:
            operation = self.accounts.save(
                self.adapter_name(),
                self.settings(),
                secrets,
                title=self.title_edit.text(),
                system_id=self.system_id,
                naive_zone=self.zone.text().strip() or "UTC",
            )
        self.show_result(self.tr("Saving…"), None)
        self._run(operation, self._saved, self._failed)

    def _saved(self, outcome: SaveOutcome) -> None:
        if outcome.account is None:
            self._tested(-1, outcome.result)
            return
        account = outcome.account
        title = account.entry.title
        if self.mode == REAUTH:
            text = self.tr("New credentials for “{title}” are stored in the keyring.")
        elif outcome.updated:
            text = self.tr("Updated “{title}”; it syncs with its new settings now.")
        else:
            text = self.tr("Saved “{title}”; Tabless syncs it now.")
        self.start_new()
        self.show_result(text.format(title=title), True)
        self.refresh()
        self.select(account.system_id)
        self._apply(account)

    def _apply(self, account: Account) -> None:
        system_id = account.system_id
        if self.ws is None:
            self.systems_changed.emit(system_id)
            return
        entry = next((a.entry for a in self.accounts.all() if a.system_id == system_id), None)
        operation = (
            self.ws.apply_system(entry)
            if entry is not None
            else self.ws.drop_system(system_id, forget=True)
        )
        run_op(
            operation,
            on_success=lambda _none: self.systems_changed.emit(system_id),
            on_error=self._failed,
        )

    # --- edit, re-authenticate, remove ---------------------------------------------------------
    def start_new(self) -> None:
        """An empty form for a new system."""
        self.mode, self.system_id = ADD, None
        self._heading()
        self.adapter.setEnabled(True)
        self.title_edit.setEnabled(True)
        self.zone.setEnabled(True)
        self.mapping_row.setEnabled(True)
        self.mapping_path.clear()
        self.zone.setText("UTC")
        self.form.set_fields(())
        self._adapter_chosen()
        self.show_result("", None)

    def _open(self, account: Account, mode: str) -> None:
        self.mode, self.system_id = mode, account.system_id
        self._heading()
        entry = account.entry
        self.adapter.blockSignals(True)
        self.choose_adapter(entry.adapter)
        self.adapter.blockSignals(False)
        self._show_mapping(entry.adapter == DECLARATIVE)
        self.mapping_path.setText(str(entry.settings.get(MAPPING_KEY, "")))
        self.title_edit.setText(entry.title)
        self.zone.setText(entry.naive_zone)
        editable = mode == EDIT
        self.adapter.setEnabled(editable)
        self.title_edit.setEnabled(editable)
        self.zone.setEnabled(editable)
        self.mapping_row.setEnabled(editable)
        self.show_result(
            (
                self.tr("Test connection opens the browser to sign in again.")
                if account.browser_sign_in
                else self.tr("Type the new secrets, then test the connection.")
            )
            if mode == REAUTH
            else self.tr("Secrets left empty stay as stored."),
            None,
        )
        self.form.set_fields(())
        self._edited()

        def loaded(fields: tuple[ConfigField, ...]) -> None:
            self._show_fields(fields, dict(entry.settings), stored=True)

        def fallback(error: BaseException) -> None:  # e.g. its mapping file moved: fix it here
            self.set_mapping_error(_reason(error))
            cls = adapter_classes().get(entry.adapter)
            self._show_fields(cls.manifest.config if cls else (), dict(entry.settings), True)

        run_op(
            self.accounts.fields(entry.adapter, entry.settings),
            on_success=loaded,
            on_error=fallback,
        )

    def edit_selected(self) -> None:
        """Load the selected account into the form (secrets stay empty: kept unless retyped)."""
        account = self.selected()
        if account is not None and not account.read_only:
            self._open(account, EDIT)

    def reauthenticate_selected(self) -> None:
        """New credentials for the selected account: browser sign-in, or retype its secrets."""
        account = self.selected()
        if account is None:
            return
        self._open(account, REAUTH)

    def remove_selected(self) -> QMessageBox | None:
        """Ask, then remove the selected account with its keyring entries."""
        account = self.selected()
        if account is None or account.read_only:
            return None
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Remove account"),
            self.tr(
                "Remove “{title}”? Its settings and its passwords or tokens in the system "
                "keyring are deleted. Tickets already shown stay in the local cache."
            ).format(title=account.entry.title),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText(self.tr("Remove"))
        box.button(QMessageBox.StandardButton.Yes).clicked.connect(lambda: self._remove(account))
        self.confirmation = box
        box.open()  # not exec(): the loop keeps running
        return box

    def _remove(self, account: Account) -> None:
        def removed(keys: list[str]) -> None:
            if self.system_id == account.system_id:
                self.start_new()
            self.show_result(
                self.tr("Removed “{title}” and its keyring entries ({keys}).").format(
                    title=account.entry.title, keys=", ".join(keys) or "—"
                ),
                True,
            )
            self.refresh()
            self._apply(account)

        self._run(self.accounts.remove(account.system_id), removed, self._failed)

    def done(self, result: int) -> None:
        if self._task is not None:
            self._task.cancel()
        super().done(result)
