"""Onboarding: the settings that say when a new customer is still onboarding.

An account is in onboarding from its first ARR until its first-value milestone is completed or
`days` days have passed, whichever comes first. While in onboarding it is scored by the
scorecard's onboarding components (milestones done on time, days toward first value) instead of
the adoption and relationship components it has had no time to earn, and its band is
"onboarding": never red for lack of history. Configured under `health.onboarding`:

    health:
      onboarding:
        days: 90                 # onboarding ends after this many days from the first ARR at the latest
        milestone: first_value   # default: metrics.first_value_milestone
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tenure.config import Config, _format_validation_error
from tenure.errors import ConfigError


class OnboardingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(90, ge=1, description="onboarding ends this many days after the first ARR at the latest")
    milestone: str | None = Field(None, description="the milestone that ends onboarding when completed "
                                                    "(default: metrics.first_value_milestone)")


def onboarding_settings(config: Config) -> OnboardingSettings:
    """`health.onboarding` from tenure.yaml, validated (errors name the key)."""
    raw = (config.health or {}).get("onboarding") or {}
    try:
        settings = OnboardingSettings.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, "health.onboarding")) from None
    if settings.milestone is None:
        settings = settings.model_copy(update={"milestone": config.metrics.first_value_milestone})
    return settings
