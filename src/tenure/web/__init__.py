"""The server-rendered pages (tenure.web.pages, login in tenure.web.login) and their static
files. They stand on the shared HTTP core (tenure.http) and never import the REST API
(tenure.api); tenure.serve mounts both on one app."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"


def mount(app) -> None:
    """Add the pages, login and /static to `app`."""
    from fastapi.staticfiles import StaticFiles

    from tenure.web.advocacy import router as advocacy_router
    from tenure.web.capacity import router as capacity_router
    from tenure.web.onboarding import router as onboarding_router
    from tenure.web.pages import router
    from tenure.web.playbooks import router as playbooks_router
    from tenure.web.renewals import router as renewals_router
    from tenure.web.success_plans import router as success_plans_router
    from tenure.web.tasks import router as tasks_router
    from tenure.web.survey_custom import router as custom_survey_router
    from tenure.web.survey_embed import router as survey_embed_router
    from tenure.web.survey_public import router as survey_router
    from tenure.web.unsubscribe import router as unsubscribe_router
    from tenure.web.voc import router as voc_router

    app.include_router(router)
    app.include_router(renewals_router)
    app.include_router(tasks_router)
    app.include_router(playbooks_router)
    app.include_router(capacity_router)
    app.include_router(onboarding_router)
    app.include_router(success_plans_router)
    app.include_router(advocacy_router)
    app.include_router(unsubscribe_router)
    app.include_router(voc_router)
    app.include_router(survey_router)
    app.include_router(custom_survey_router)
    app.include_router(survey_embed_router)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")


def error_page(request, status: int, detail: str):
    """The HTML error page (handed to the HTTP core's problem handlers)."""
    from tenure.web.render import error_page as render_error

    return render_error(request, status, detail)
