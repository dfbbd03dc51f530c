"""Asking the agent for a second factor before a sensitive operation (step-up).

The backend grants a short-lived, single-use step-up for an operation (``bulk_close``…) against
the agent's TOTP code; ``app.stepup`` is the Qt-free client of that API. This dialog asks for
the code, earns the grant, spends it on the operation about to run (``redeem``), records a
``step_up`` audit record, and only then lets the operation start. A refusal is shown in words
in the dialog; nothing blocks the event loop (``open()``, never ``exec()``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QRegularExpression, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)

from app.audit import journal
from app.runtime import BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY
from app.timeutil import utcnow
from ui.bridge import run_op

if TYPE_CHECKING:
    from app.stepup import Grant, StepUpClient

BULK_CLOSE = "bulk_close"  # app.stepup.Operation values (imported when needed: httpx)
EXPORT_CUSTOMER_DATA = "export_customer_data"
BACKEND_REDEEMS = frozenset({EXPORT_CUSTOMER_DATA})
"""Operations the backend itself carries out: it spends the grant sent with the request (header
``X-Step-Up-Token``), so the prompt only earns it."""


def explanation(operation: str, count: int) -> str:
    """Why the second factor is asked for, in the agent's language."""
    if operation == EXPORT_CUSTOMER_DATA:
        text = QCoreApplication.translate(
            "StepUp",
            "Exporting {n} audit records (customer data) needs your second factor. Enter the "
            "6-digit code from your authenticator app.",
        )
    else:
        text = QCoreApplication.translate(
            "StepUp",
            "Closing {n} tickets at once needs your second factor. Enter the 6-digit code "
            "from your authenticator app.",
        )
    return text.format(n=count)


def _cannot_check(operation: str) -> tuple[str, str]:
    """(message, summary) when no backend can check a second factor."""
    if operation == EXPORT_CUSTOMER_DATA:
        return (
            QCoreApplication.translate(
                "StepUp",
                "Exporting customer data needs a second factor, and this workstation cannot "
                "check one (no step-up service is configured).",
            ),
            QCoreApplication.translate("StepUp", "The export needs a second factor."),
        )
    return (
        QCoreApplication.translate(
            "StepUp",
            "Closing several tickets at once needs a second factor, and this workstation "
            "cannot check one (no step-up service is configured).",
        ),
        QCoreApplication.translate("StepUp", "Bulk close needs a second factor."),
    )


def step_up_client(workstation: Any) -> StepUpClient | None:
    """A client of the backend's step-up API as this agent; None without a backend."""
    backend_url = str(workstation.config.get("backend_url") or "")
    if not backend_url:
        return None
    from app.stepup import StepUpClient

    secrets = workstation.secrets
    return StepUpClient(backend_url, lambda: secrets.get(BACKEND_SECRET_OWNER, BACKEND_TOKEN_KEY))


async def earn_and_spend(
    workstation: Any, client: StepUpClient, operation: str, code: str, used_for: str
) -> Grant:
    """Earn a grant with ``code``, spend it on ``used_for`` (unless the backend spends it, see
    :data:`BACKEND_REDEEMS`) and audit it (``step_up`` record).

    Raises :class:`StepUpError` (wrong or replayed code, not enrolled…) before anything is done.
    """
    from app.stepup import Operation

    grant = await client.with_totp(Operation(operation), code)
    if operation not in BACKEND_REDEEMS:
        await client.redeem(grant, used_for)
    identity = workstation.identity
    await workstation.writer.run(
        lambda conn: journal.record_event(
            conn,
            identity.agent,
            identity.device_id,
            identity.client_version,
            event="step_up",
            now=utcnow(),
            details={**grant.audit_details(), "used_for": used_for},
        )
    )
    return grant


class StepUpPrompt(QDialog):
    """ "Enter the 6-digit code from your authenticator app" for one operation."""

    granted = Signal(object)
    """granted(grant): the backend accepted the code; the operation may proceed."""

    def __init__(
        self, parent: Any, operation: str, count: int, client: StepUpClient, used_for: str
    ) -> None:
        super().__init__(parent)
        self.operation = operation
        self.used_for = used_for
        self._client = client
        self._workstation = parent.ws
        self.setWindowTitle(QCoreApplication.translate("StepUp", "Confirm with your second factor"))
        self.explain = QLabel(explanation(operation, count))
        self.explain.setWordWrap(True)
        self.code = QLineEdit()
        self.code.setValidator(QRegularExpressionValidator(QRegularExpression(r"[0-9]{0,6}")))
        self.code.setMaxLength(6)
        self.code.setAccessibleName(QCoreApplication.translate("StepUp", "Authenticator code"))
        self.code.setPlaceholderText("123456")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explain)
        layout.addWidget(self.code)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(420)

    def submit(self) -> None:
        """Check the code with the backend; stays open with the reason when refused."""
        code = self.code.text().strip()
        if len(code) != 6:
            self.error.setText(QCoreApplication.translate("StepUp", "The code has 6 digits."))
            return
        self.buttons.setEnabled(False)
        self.error.setText(QCoreApplication.translate("StepUp", "Checking…"))

        def ok(proof: Any) -> None:
            self.buttons.setEnabled(True)
            self.granted.emit(proof)
            self.accept()

        def refused(error: BaseException) -> None:
            self.buttons.setEnabled(True)
            self.error.setText(
                QCoreApplication.translate("StepUp", "Not accepted: {reason}").format(reason=error)
            )
            self.code.selectAll()
            self.code.setFocus()

        run_op(
            earn_and_spend(self._workstation, self._client, self.operation, code, self.used_for),
            on_success=ok,
            on_error=refused,
        )

    def done(self, result: int) -> None:
        super().done(result)
        run_op(self._client.aclose())


def request_step_up(
    window: Any,
    operation: str,
    count: int,
    used_for: str,
    on_granted: Callable[[Grant], None],
) -> StepUpPrompt | None:
    """Ask for the second factor, spend the grant on ``used_for`` (or leave that to the
    backend), then call ``on_granted(grant)``; refuse (and say so) when this workstation has no
    backend to check it. ``window`` has ``ws`` and ``show_error(message, summary)``."""
    client = step_up_client(window.ws)
    if client is None:
        window.show_error(*_cannot_check(operation))
        return None
    prompt = StepUpPrompt(window, operation, count, client, used_for)
    prompt.granted.connect(on_granted)
    window.step_up_prompt = prompt  # kept alive while open; tests find it here
    prompt.open()
    return prompt
