"""A lender's own configuration, stored as the ops config API stores it."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from orchestrator.configuration.source import Kind
from orchestrator.store.tables import ConfigVersion

# A lender in mainland China texts through Aliyun only (the block of config/channels.yaml).
ALIYUN_ONLY = """
version: 1
channels:
  sms:
    providers:
      - adapter: aliyun_sms
        settings:
          base_url: ${ORCHESTRATOR_SANDBOX_URL:-http://127.0.0.1:8900}/aliyun
          sign_name: 示例金融
          template_codes:
            due_today: SMS_100000001
            overdue_notice: SMS_100000002
            payment_plan_offer: SMS_100000003
            final_notice: SMS_100000004
            opt_out_confirmation: SMS_100000005
          approved_texts:
            SMS_100000001:
              text: "${name}您好，请登录App查看您的账单。回复TD退订"
            SMS_100000002:
              text: "${name}您好，请登录App查看您的账单。回复TD退订"
            SMS_100000003:
              text: "${name}您好，请登录App查看您的账单。回复TD退订"
            SMS_100000004:
              text: "${name}您好，请登录App查看您的账单。回复TD退订"
            SMS_100000005:
              text: "您将不再通过本号码收到我们的短信。回复TD退订"
        rate_limit: {per_second: 20}
        breaker: {failure_threshold: 5, reset_seconds: 30}
        retry: {attempts: 3, base_seconds: 1, max_seconds: 30}
"""
CONFIRMATION_TEMPLATE_CODE = "SMS_100000005"


def store_tenant_config(services: Any, tenant: str, kind: Kind, content: str) -> None:
    """Store ``tenant``'s own version of a config and load it now."""
    with services.store.transaction() as conn:
        version = conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(ConfigVersion.version), 0)).where(
                ConfigVersion.scope == tenant, ConfigVersion.kind == kind.value
            )
        ).scalar_one()
        conn.execute(
            sa.insert(ConfigVersion).values(
                scope=tenant,
                kind=kind.value,
                name=kind.value,
                version=version + 1,
                content=content,
                sha256=hashlib.sha256(content.encode()).hexdigest(),
                created_by="test",
                created_at=services.clock.now(),
            )
        )
    assert services.config.refresh(), services.config.last_error
