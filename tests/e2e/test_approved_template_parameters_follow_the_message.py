"""A provider that sends pre-approved templates (Aliyun) gets its parameters from the same
context the message was rendered from: an amount has its currency's minor units (¥12500,
not ¥12500.00), as the borrower's own text would show it."""

from __future__ import annotations

from tests.factories import account_document


def aliyun_first(document: dict) -> None:
    document["channels"]["sms"]["providers"].reverse()


def test_a_yen_amount_is_sent_without_decimals(stack):
    stack.use_channels(aliyun_first)
    doc = account_document("loan-jp")
    account = stack.add_account(
        "loan-jp", debt={**doc["debt"], "amount_due": "12500", "currency": "JPY"}
    )
    [task_id] = stack.queue_tasks(account, 1)

    stack.dispatcher.send(task_id)

    [sent] = stack.sandbox_messages("aliyun_sms")
    assert sent["template_params"]["amount"] == "12500"
    assert sent["template_params"]["currency"] == "JPY"
