"""Operator adapter that e-mails each message over SMTP, with the evidence pack as a zip attachment."""

from __future__ import annotations

import json
import os
import smtplib
import ssl
from email.message import EmailMessage

from controller.evidence import zip_pack
from controller.operators.adapter import DeliveryError, DeliveryResult, OutgoingMessage
from controller.requests.config import EmailRoute

_SUBJECT = {"issue": "Disconnection request", "withdraw": "Withdrawal of request", "carve_out": "Carve-out for order"}


class EmailAdapter:
    """Message-ID comes from the idempotency key, so a resent mail is recognisably the same message."""

    def __init__(self, route: EmailRoute) -> None:
        self.route = route

    def deliver(self, message: OutgoingMessage) -> DeliveryResult:
        mail = EmailMessage()
        mail["From"] = self.route.sender
        mail["To"] = ", ".join(self.route.recipients)
        mail["Subject"] = f"[cellward] {_SUBJECT[message.kind]} {message.request_id} ({message.operator})"
        mail["Message-ID"] = f"<{message.idempotency_key}@cellward>"
        mail["X-Idempotency-Key"] = message.idempotency_key
        mail.set_content(
            f"{_SUBJECT[message.kind]} {message.request_id} for {message.operator}.\n"
            "The request is attached as request.json; the signed evidence pack (issue only) as evidence-pack.zip.\n"
            "Verify the pack with `cellward evidence verify evidence-pack.zip`.\n"
        )
        mail.add_attachment(
            json.dumps(message.body, indent=2, sort_keys=True).encode(), "application", "json", filename="request.json"
        )
        if message.kind == "issue" and message.pack_path is not None:
            mail.add_attachment(zip_pack(message.pack_path), "application", "zip", filename="evidence-pack.zip")
        try:
            with smtplib.SMTP(self.route.host, self.route.port, timeout=30) as smtp:
                if self.route.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.route.username:
                    smtp.login(self.route.username, os.environ.get(self.route.password_env or "", ""))
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"SMTP refused every recipient: {exc.recipients}", retryable=False) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {self.route.host}:{self.route.port}: {exc}") from None
        return DeliveryResult(detail={"refused": sorted(refused)})

    def poll(self, message: OutgoingMessage, reference: str | None) -> DeliveryResult | None:
        return None  # replies come by mail: an officer records them
