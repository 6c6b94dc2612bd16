"""docs/onboarding.md documents every onboarding-plan and success-plan setting, every data condition
and every status, and the default tenure.yaml's onboarding signals are in docs/health.md."""

from __future__ import annotations

from pathlib import Path

from tenure.config import (CONDITION_KINDS, DoneWhen, OnboardingPlan, OnboardingPlans, PlanMilestone,
                           SuccessObjectiveTemplate, SuccessPlanTemplate, SuccessTaskTemplate)
from tenure.health.onboarding_plans import STATUSES

DOCS = Path(__file__).parents[2] / "docs"
DOC = (DOCS / "onboarding.md").read_text(encoding="utf-8")


def test_every_setting_condition_and_status_is_documented():
    models = (OnboardingPlans, OnboardingPlan, PlanMilestone, DoneWhen, SuccessPlanTemplate, SuccessObjectiveTemplate,
              SuccessTaskTemplate)
    def named(name: str) -> bool:  # `name`, `...].name` or `...name[].x` in a table row
        return any(form in DOC for form in (f"`{name}", f".{name}`", f".{name}[]", f" {name}`"))

    missing = [f"{m.__name__}.{name}" for m in models for name in m.model_fields if not named(name)]
    assert missing == []
    assert [k for k in CONDITION_KINDS if f"`{k}: " not in DOC] == []
    assert [s for s in STATUSES if f"`{s}`" not in DOC] == []
    health = (DOCS / "health.md").read_text(encoding="utf-8")
    assert "`onboarding_behind`" in health and "`onboarding_stuck`" in health
    assert "`onboarding_status`" in (DOCS / "playbooks.md").read_text(encoding="utf-8")
