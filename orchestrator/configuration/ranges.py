"""An inclusive range of numbers, the shape every "when" condition in config uses."""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator


class Range(BaseModel):
    """An inclusive range; either end may be left open."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: Decimal | None = None
    max: Decimal | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self

    def contains(self, value: Decimal | int | float | None) -> bool:
        if value is None:
            return self.min is None and self.max is None
        if self.min is not None and value < self.min:
            return False
        return self.max is None or value <= self.max
