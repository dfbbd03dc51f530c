"""The Accounts dialog, offscreen, over a real stand-in (osTicket portal on 127.0.0.1), a real
keyring and a running workstation: pick an adapter, fill the form, Test connection, Save only
after a pass, an edit disables Save, the saved system starts syncing; remove deletes it again.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QLineEdit, QMessageBox

from app.accounts import Accounts
from app.cache import open_cache
from app.config import SETTINGS, Config, load_config
from app.registry import adapter_classes
from app.runtime import Workstation
from app.secrets import SecretStore
from sandbox.osticket import OsTicketStandIn
from tests.ui.test_workstation_window import act, eventually
from ui.i18n import Translations, compile_translations
from ui.views.accounts_dialog import AccountsDialog
from ui.widgets.config_form import CONTEXT

LEFT = Qt.MouseButton.LeftButton
EXAMPLE_MAPPING = Path(__file__).parents[1] / "fixtures" / "declarative" / "page.toml"
PRODUCT_NAMES = {"Freshdesk", "Zammad", "Zendesk Support", "Request Tracker", "Znuny / OTRS"}


@pytest.fixture
def portal(seed_tickets: Any, serve: Any) -> tuple[OsTicketStandIn, str]:
    stand_in = OsTicketStandIn(seed_tickets, username="agent.li", password=f"pw-{uuid.uuid4()}")
    return stand_in, serve(stand_in.app)


@pytest.fixture
def setup(tmp_path: Path, real_keyring: str) -> Any:
    accounts = Accounts(
        SecretStore(service="tabless-test"),
        user_file=tmp_path / "config.toml",
        site_file=tmp_path / "site.toml",
    )
    ws = Workstation(
        config=Config({s.key: s.default for s in SETTINGS}, {}, []),
        cache=open_cache(tmp_path / "cache.sqlite3"),
        secrets=accounts.secrets,
    )
    yield accounts, ws
    ws.close()


async def type_into(qtbot: Any, editor: QLineEdit, text: str) -> None:
    await act(editor.clear)
    await act(qtbot.keyClicks, editor, text)


async def click_test(qtbot: Any, dialog: AccountsDialog) -> str:
    await act(qtbot.mouseClick, dialog.test_button, LEFT)
    assert dialog.busy.isVisible() and not dialog.test_button.isEnabled()
    await eventually(lambda: not dialog.busy.isVisible())
    return dialog.outcome.text()


def test_connect_test_save_edit_and_remove(qtbot, run_async, portal, setup, tmp_path: Path):  # type: ignore[no-untyped-def]
    stand_in, url = portal
    accounts, ws = setup
    dialog = AccountsDialog(accounts, ws)
    qtbot.addWidget(dialog)
    dialog.show()
    changed: list[str] = []
    dialog.systems_changed.connect(changed.append)

    async def scenario() -> str:
        ws.start()
        await act(dialog.choose_adapter, "osticket")
        form = dialog.form
        assert form.fields and "password" in form.editors
        password = form.editors["password"]
        assert isinstance(password, QLineEdit)
        assert password.echoMode() == QLineEdit.EchoMode.Password
        assert dialog.form._labels["username"].text().endswith("*")  # required
        await type_into(qtbot, form.editors["base_url"], url)  # type: ignore[arg-type]
        await type_into(qtbot, form.editors["username"], stand_in.username)  # type: ignore[arg-type]
        await type_into(qtbot, password, "wrong-password")
        assert not dialog.save_button.isEnabled()

        text = await click_test(qtbot, dialog)
        assert "401" in text and "failed" in text, text
        assert not dialog.save_button.isEnabled()
        assert not (tmp_path / "config.toml").exists()

        await type_into(qtbot, password, stand_in.password)
        text = await click_test(qtbot, dialog)
        assert text.startswith("The connection works"), text
        assert dialog.save_button.isEnabled()

        await act(qtbot.keyClicks, dialog.title_edit, " 2")  # any edit: test again
        assert not dialog.save_button.isEnabled()
        await click_test(qtbot, dialog)
        assert dialog.save_button.isEnabled()
        await act(qtbot.mouseClick, dialog.save_button, LEFT)
        await eventually(lambda: dialog.list.count() == 1 and changed)
        (account,) = accounts.all()
        system_id = account.system_id
        assert account.entry.title.endswith(" 2")
        await eventually(lambda: system_id in ws.sync.coordinators)
        assert await ws.sync.wait_first_sync(30) == {}
        assert accounts.secrets.get(system_id, "password") == stand_in.password
        assert stand_in.password not in (tmp_path / "config.toml").read_text(encoding="utf-8")

        # Edit: secrets stay empty (kept); a changed page size is saved after a new test.
        await act(dialog.select, system_id)
        await act(qtbot.mouseClick, dialog.edit_button, LEFT)
        await eventually(lambda: "page_size" in dialog.form.editors)
        edited = dialog.form.editors["password"]
        assert isinstance(edited, QLineEdit) and edited.text() == ""
        assert "leave empty" in edited.placeholderText()
        await act(dialog.form.editors["page_size"].setValue, 9)  # type: ignore[attr-defined]
        assert not dialog.save_button.isEnabled()
        await click_test(qtbot, dialog)
        await act(qtbot.mouseClick, dialog.save_button, LEFT)
        await eventually(lambda: dialog.mode == "add" and "Updated" in dialog.outcome.text())
        assert [a.entry.settings.get("page_size") for a in accounts.all()] == [9]
        assert accounts.secrets.get(system_id, "password") == stand_in.password

        # Remove: asks first; then the config section, the keyring entry and the sync go.
        await act(dialog.select, system_id)
        box = dialog.remove_selected()
        assert box is not None and box.isVisible()
        await act(box.button(QMessageBox.StandardButton.Yes).click)
        await eventually(lambda: dialog.list.count() == 0)
        await eventually(lambda: system_id not in ws.sync.coordinators)
        assert not accounts.secrets.has(system_id, "password")
        assert (
            system_id
            not in load_config(
                site_file=tmp_path / "site.toml", user_file=tmp_path / "config.toml"
            ).systems
        )
        await ws.stop()
        return system_id

    system_id = run_async(scenario())
    assert changed.count(system_id) == 3  # saved, updated, removed


def test_mapping_file_mistakes_and_site_systems(qtbot, run_async, portal, setup, tmp_path: Path):  # type: ignore[no-untyped-def]
    stand_in, url = portal
    accounts, _ws = setup
    (tmp_path / "site.toml").write_text(
        f'[systems.portal]\nadapter = "osticket"\ntitle = "IT portal"\n'
        f'settings = {{ base_url = "{url}", username = "{stand_in.username}" }}\n',
        encoding="utf-8",
    )
    broken = tmp_path / "crm.toml"
    broken.write_text('version = 1\n[source]\nformat = "yaml"\n', encoding="utf-8")
    dialog = AccountsDialog(accounts)
    qtbot.addWidget(dialog)
    dialog.show()

    async def scenario() -> None:
        await act(dialog.select, "portal")
        assert not dialog.remove_button.isEnabled() and not dialog.edit_button.isEnabled()
        assert dialog.reauth_button.isEnabled()
        assert "only IT can change or remove it" in dialog.selection_note.text()
        await act(dialog.choose_adapter, "declarative")
        assert dialog.mapping_row.isVisible()
        await act(dialog.load_mapping, str(broken))
        await eventually(dialog.has_mapping_error)
        assert dialog.mapping_error.isVisible()
        assert "crm.toml, line 3, key source.format" in dialog.mapping_error.text()
        text = await click_test(qtbot, dialog)
        assert "failed" in text and "line 3" in text
        # A good file: the mistake goes and the secret its [auth] names joins the form.
        await act(dialog.load_mapping, str(EXAMPLE_MAPPING))
        await eventually(lambda: "api_key" in dialog.form.editors)
        assert not dialog.has_mapping_error()
        api_key = dialog.form.editors["api_key"]
        assert isinstance(api_key, QLineEdit)
        assert api_key.echoMode() == QLineEdit.EchoMode.Password

        # Re-authenticating IT's system: only its secret can be typed; stored after a pass.
        await act(dialog.select, "portal")
        await act(qtbot.mouseClick, dialog.reauth_button, LEFT)
        await eventually(lambda: "password" in dialog.form.editors)
        assert not dialog.form.editors["base_url"].isEnabled()
        await type_into(qtbot, dialog.form.editors["password"], stand_in.password)  # type: ignore[arg-type]
        await click_test(qtbot, dialog)
        await act(qtbot.mouseClick, dialog.save_button, LEFT)
        await eventually(lambda: "keyring" in dialog.outcome.text())

    try:
        run_async(scenario())
        assert accounts.secrets.get("portal", "password") == stand_in.password
        assert not (tmp_path / "config.toml").exists()
    finally:
        accounts.secrets.delete("portal", "password")


def test_every_built_in_title_is_translated(qapp) -> None:  # type: ignore[no-untyped-def]
    compile_translations()
    translations = Translations()
    translations.install("zh_CN")
    try:
        missing = [
            text
            for cls in adapter_classes().values()
            for text in (cls.manifest.title, *(f.title for f in cls.manifest.config))
            if text
            and text not in PRODUCT_NAMES
            and QCoreApplication.translate(CONTEXT, text) == text
        ]
    finally:
        translations.install("en")
    assert missing == []


def test_window_opens_the_dialog_from_its_shortcut(
    qtbot, workstation_window, monkeypatch, tmp_path
):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TABLESS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TABLESS_SITE_CONFIG", str(tmp_path / "site.toml"))
    window, _translations = workstation_window
    action = window.commands["accounts"]
    assert action.text() and action.shortcut().toString() == "Ctrl+Shift+O"
    dialog = window.open_accounts()
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and dialog.list.count() == 0
    assert dialog.accounts.user_file == tmp_path / "home" / "config" / "config.toml"


def test_browser_sign_in_from_the_dialog(qtbot, run_async, seed_tickets, serve, setup, tmp_path):  # type: ignore[no-untyped-def]
    from app.oauth_login import ACCESS_TOKEN_KEY
    from sandbox.zendesk import ZendeskStandIn
    from tests.app.test_oauth_login import Browser

    stand_in = ZendeskStandIn(seed_tickets)
    stand_in.oauth.auto_consent = "approve"
    url = serve(stand_in.app)
    accounts, _ws = setup
    dialog = AccountsDialog(accounts)
    qtbot.addWidget(dialog)
    dialog.show()
    browser = Browser()  # the person and the browser
    dialog.sign_in_options = {"open_browser": browser}

    async def scenario() -> str:
        await act(dialog.choose_adapter, "zendesk")
        editors = dialog.form.editors
        await type_into(qtbot, editors["base_url"], url)  # type: ignore[arg-type]
        await type_into(qtbot, editors["client_id"], stand_in.client_id)  # type: ignore[arg-type]
        await type_into(qtbot, editors["auth"], "authorization_code")  # type: ignore[arg-type]
        await type_into(qtbot, editors["client_secret"], stand_in.client_secret)  # type: ignore[arg-type]
        text = await click_test(qtbot, dialog)
        assert text.startswith("The connection works"), text
        assert browser.opened and not (tmp_path / "config.toml").exists()
        await act(qtbot.mouseClick, dialog.save_button, LEFT)
        await eventually(lambda: dialog.list.count() == 1)
        return accounts.all()[0].system_id

    system_id = run_async(scenario())
    try:
        assert accounts.secrets.has(system_id, ACCESS_TOKEN_KEY)
        token = accounts.secrets.get(system_id, ACCESS_TOKEN_KEY)
        assert token not in (tmp_path / "config.toml").read_text(encoding="utf-8")
    finally:
        run_async(accounts.remove(system_id))
